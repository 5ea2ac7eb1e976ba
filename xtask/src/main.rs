//! Developer tasks for credvault, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks (fmt, clippy, tests on SQLite, the PostgreSQL suite, tidy).
//! - `tidy`: architecture and hygiene rules that are cheap to check mechanically (also a test;
//!   see `tidy/mod.rs`).
//! - `openapi [--check]`: regenerate (or check) `docs/openapi.json`.
//! - `bench [--quick] …`: criterion micro-benchmarks, then an HTTP load run of the release server
//!   on SQLite and PostgreSQL beside its ceilings (see `bench/mod.rs`). Not part of `ci`.
//! - `fuzz [SECONDS]`: run every fuzz target for a bounded time (nightly and cargo-fuzz).
//! - `schemathesis [--backend sqlite|postgres|both] [--max-examples N] [--seed S]`: Schemathesis
//!   against a live server, on SQLite and on PostgreSQL unless `--backend` picks one.
//!
//! xtask depends on no workspace crate: it shells out to `cargo`, so it builds in seconds.

mod bench;
mod ci;
mod fuzz;
mod schemathesis;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root).context("entering the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci::run(&root),
        Some("tidy") => tidy::run(&root),
        Some("openapi") => openapi(args.get(1).map(String::as_str) == Some("--check")),
        Some("bench") => bench::run_bench(&root, &args[1..]),
        Some("schemathesis") => {
            schemathesis::run(&root, &schemathesis::Options::parse(&args[1..])?)
        }
        Some("fuzz") => {
            let seconds = match args.get(1) {
                Some(text) => text
                    .parse()
                    .context("fuzz takes a number of seconds per target")?,
                None => 60,
            };
            fuzz::run(&root, seconds)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci                 fmt, clippy, tests (SQLite and PostgreSQL), tidy\n  \
                 tidy               dependency direction, file docs, migrations, no prints in libraries,\n                    \
                 field names only in the schema, no derived Debug on secrets\n  \
                 openapi [--check]  write docs/openapi.json from the code (or only check it)\n  \
                 bench [--quick]    micro-benchmarks, HTTP load on SQLite and PostgreSQL, ceilings\n  \
                 fuzz [SECONDS]     run each fuzz target for SECONDS (default 60)\n  \
                 schemathesis [--backend sqlite|postgres|both] [--max-examples N] [--seed S]\n                    \
                 Schemathesis against a live server on temporary SQLite and PostgreSQL databases"
            );
            bail!("unknown or missing command")
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command, echoing it, and fails when it fails.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(command));
    let status = command
        .status()
        .with_context(|| format!("starting {}", display(command)))?;
    if !status.success() {
        bail!("{} failed with {status}", display(command));
    }
    Ok(())
}

pub(crate) fn display(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn openapi(check: bool) -> Result<()> {
    let mut command = cargo();
    command.args(["test", "-p", "credvault-api", "--test", "api", "openapi"]);
    if !check {
        command.env("UPDATE_OPENAPI", "1");
    }
    run(&mut command)
}
