//! `cargo xtask bench`: micro-benchmarks, an HTTP load run against the release binary on SQLite
//! and PostgreSQL, and the ceilings each figure is compared with, in one table.
//!
//! - Micro ([`micro`]): the criterion benches for merge + validate, seal/open of a 1 KiB secret
//!   map and token verification; their means are read back from criterion's `estimates.json`.
//! - Load (`bench_load`): `credvault serve` from `cargo build --release`, 1,000 credentials
//!   created through the API, then `wrk` (installed from Debian when missing) with
//!   `bench/wrk/credvault.lua` for each scenario and connection count, reading the server's CPU
//!   time and peak RSS from `/proc` around each cell.
//! - Ceilings: `GET /healthz` on the same server; `pgbench` with `bench/pgbench/patch.sql`
//!   against the same database; and the driver-only loop `crates/persistence/benches/update_loop.rs`.
//! - Report (`bench_report`): the table on stdout, `results.json` and `results.svg` under
//!   `<target dir>/bench/`.
//!
//! `cargo xtask ci` never runs this: a full run takes several minutes and its numbers depend on
//! the machine's load.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, run};

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
        micro(&options, &target_dir)?
    } else {
        Vec::new()
    };
    let load_results = if options.load {
        crate::bench_load::run_load(root, &options, &target_dir, &out_dir)?
    } else {
        crate::bench_load::LoadResults::default()
    };
    crate::bench_report::report(&options, &micro_results, &load_results, &out_dir)
}

/// One criterion benchmark's mean.
#[derive(Clone, Debug)]
pub(crate) struct MicroResult {
    pub(crate) id: String,
    pub(crate) mean_ns: f64,
    pub(crate) low_ns: f64,
    pub(crate) high_ns: f64,
}

/// Runs the criterion benches and reads back the estimates they wrote during this run.
fn micro(options: &Options, target_dir: &Path) -> Result<Vec<MicroResult>> {
    let started = SystemTime::now();
    let mut command = cargo();
    command.args([
        "bench",
        "-p",
        "credvault-domain",
        "-p",
        "credvault-crypto",
        "-p",
        "credvault-api",
        "--bench",
        "merge",
        "--bench",
        "seal",
        "--bench",
        "token",
        "--",
    ]);
    if options.quick {
        command.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    command.args(&options.criterion_args);
    run(&mut command)?;

    let mut results = Vec::new();
    collect_estimates(&target_dir.join("criterion"), started, &mut results)?;
    results.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(results)
}

/// Finds `<id>/new/estimates.json` files written since `since`; the id comes from the
/// `benchmark.json` beside each.
fn collect_estimates(dir: &Path, since: SystemTime, out: &mut Vec<MicroResult>) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let estimates = path.join("estimates.json");
        let fresh = fs::metadata(&estimates)
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| modified >= since);
        if path.file_name().is_some_and(|name| name == "new") && fresh {
            let benchmark = read_json(&path.join("benchmark.json"))?;
            let estimate = read_json(&estimates)?;
            let mean = &estimate["mean"];
            out.push(MicroResult {
                id: benchmark["full_id"].as_str().unwrap_or("?").to_owned(),
                mean_ns: mean["point_estimate"].as_f64().unwrap_or(f64::NAN),
                low_ns: mean["confidence_interval"]["lower_bound"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                high_ns: mean["confidence_interval"]["upper_bound"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
            });
        } else {
            collect_estimates(&path, since, out)?;
        }
    }
    Ok(())
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
