//! `cargo xtask bench`: micro-benchmarks, an HTTP load run against the release binary on SQLite
//! and PostgreSQL, and the ceilings each figure is compared with, in one table.
//!
//! - Micro ([`micro`]): the criterion benches for merge + validate, seal/open of a 1 KiB secret
//!   map and token verification; their means are read back from criterion's `estimates.json`.
//! - Load ([`load`], with the server and database it drives in [`server`] and what it reads
//!   from the machine in [`host`]): `credvault serve` from `cargo build --release`, 1,000 credentials
//!   created through the API, then `wrk` (installed from Debian when missing) with
//!   `bench/wrk/credvault.lua` for each scenario and connection count, reading the server's CPU
//!   time and peak RSS from `/proc` around each cell.
//! - Ceilings: `GET /healthz` on the same server; `pgbench` with `bench/pgbench/patch.sql`
//!   against the same database; and the driver-only loop `crates/persistence/benches/update_loop.rs`.
//! - Report ([`report`]): the table on stdout, `results.json` and `results.svg` under
//!   `<target dir>/bench/`.
//!
//! `cargo xtask ci` never runs this: a full run takes several minutes and its numbers depend on
//! the machine's load.

mod host;
mod load;
mod micro;
mod report;
mod server;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cargo;

/// What to run, from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Shorter cells and criterion runs, for a smoke test of the harness.
    pub(crate) quick: bool,
    /// Seconds per load cell.
    pub(crate) seconds: u32,
    /// Connection counts of the load cells.
    pub(crate) connections: Vec<u32>,
    pub(crate) micro: bool,
    pub(crate) load: bool,
    pub(crate) sqlite: bool,
    pub(crate) postgres: bool,
    /// A PostgreSQL URL of a database where the user may `CREATE DATABASE`.
    pub(crate) postgres_admin_url: String,
    /// `RUST_LOG` of the server under load.
    pub(crate) server_log: String,
    /// Extra flags for criterion (after `--`).
    pub(crate) criterion_args: Vec<String>,
}

/// The local server, without TLS: on loopback it would only measure OpenSSL, on both sides.
/// The server under test and pgbench use the same URL, so they pay the same transport.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

const USAGE: &str = "usage: cargo xtask bench [--quick] [--seconds N] [--connections 1,16,64]
                         [--only micro|load] [--backend sqlite|postgres]
                         [--postgres URL] [--server-log FILTER] [-- CRITERION_ARGS]";

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            quick: false,
            seconds: 0,
            connections: vec![1, 16, 64],
            micro: true,
            load: true,
            sqlite: true,
            postgres: true,
            postgres_admin_url: std::env::var("CREDVAULT_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned()),
            server_log: "info".to_owned(),
            criterion_args: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .with_context(|| format!("{arg} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--seconds" => options.seconds = value()?.parse().context("--seconds")?,
                "--connections" => {
                    options.connections = value()?
                        .split(',')
                        .map(|n| n.trim().parse::<u32>())
                        .collect::<Result<_, _>>()
                        .context("--connections takes numbers such as 1,16,64")?;
                }
                "--only" => match value()?.as_str() {
                    "micro" => options.load = false,
                    "load" => options.micro = false,
                    other => bail!("--only {other}: expected micro or load\n{USAGE}"),
                },
                "--backend" => match value()?.as_str() {
                    "sqlite" => options.postgres = false,
                    "postgres" => options.sqlite = false,
                    other => bail!("--backend {other}: expected sqlite or postgres\n{USAGE}"),
                },
                "--postgres" => options.postgres_admin_url = value()?.clone(),
                "--server-log" => options.server_log = value()?.clone(),
                "--" => {
                    options.criterion_args = it.by_ref().cloned().collect();
                }
                other => bail!("unknown argument {other}\n{USAGE}"),
            }
        }
        if options.seconds == 0 {
            options.seconds = if options.quick { 2 } else { 5 };
        }
        if options.connections.contains(&0) {
            bail!("--connections must be positive");
        }
        Ok(options)
    }
}

pub(crate) fn run_bench(root: &Path, args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let target_dir = target_dir()?;
    let out_dir = target_dir.join("bench");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let micro_results = if options.micro {
        micro::run_micro(&options, &target_dir)?
    } else {
        Vec::new()
    };
    let load_results = if options.load {
        load::run_load(root, &options, &target_dir, &out_dir)?
    } else {
        load::LoadResults::default()
    };
    report::report(&options, &micro_results, &load_results, &out_dir)
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR` and config).
pub(crate) fn target_dir() -> Result<PathBuf> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed");
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

#[cfg(test)]
mod tests {
    use super::Options;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        Options::parse(&args)
    }

    #[test]
    fn no_arguments_run_everything_with_five_second_cells() -> anyhow::Result<()> {
        let options = parse(&[])?;
        assert!(options.micro && options.load && options.sqlite && options.postgres);
        assert!(!options.quick);
        assert_eq!(options.seconds, 5);
        assert_eq!(options.connections, [1, 16, 64]);
        assert!(options.criterion_args.is_empty());
        Ok(())
    }

    #[test]
    fn flags_narrow_the_run_and_the_rest_goes_to_criterion() -> anyhow::Result<()> {
        let options = parse(&[
            "--quick",
            "--connections",
            "4, 8",
            "--only",
            "load",
            "--backend",
            "postgres",
            "--postgres",
            "postgres://bench@127.0.0.1:5432/admin",
            "--server-log",
            "warn",
            "--",
            "--save-baseline",
            "before",
        ])?;
        assert!(options.quick);
        assert_eq!(options.seconds, 2);
        assert_eq!(options.connections, [4, 8]);
        assert!(!options.micro && options.load);
        assert!(!options.sqlite && options.postgres);
        assert_eq!(
            options.postgres_admin_url,
            "postgres://bench@127.0.0.1:5432/admin"
        );
        assert_eq!(options.server_log, "warn");
        assert_eq!(options.criterion_args, ["--save-baseline", "before"]);
        assert_eq!(parse(&["--quick", "--seconds", "7"])?.seconds, 7);
        Ok(())
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["--frobnicate"][..],
            &["--only", "both"],
            &["--backend", "mysql"],
            &["--connections", "0,16"],
            &["--connections", "many"],
            &["--seconds"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
