//! `cargo xtask fuzz [SECONDS]`: every cargo-fuzz target in `fuzz/`, each for a bounded time.
//!
//! Needs the nightly toolchain (for the sanitizer flags) and `cargo-fuzz`, which is installed
//! from crates.io when missing. Crashes are left in `fuzz/artifacts/<target>/` for reproduction
//! with `cargo +nightly fuzz run <target> <file>`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::run as run_command;

/// The targets, in `fuzz/Cargo.toml` order.
const TARGETS: &[&str] = &["patch_merge", "sealed_parse"];

pub(crate) fn run(root: &Path, seconds: u64) -> Result<()> {
    let has_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_cargo_fuzz {
        run_command(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
            .context("installing cargo-fuzz")?;
    }
    // The fuzz crate builds with sanitizer flags: keep its artifacts apart from the workspace's.
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(|dir| format!("{dir}-fuzz"))
        .unwrap_or_else(|_| root.join("fuzz").join("target").display().to_string());
    for target in TARGETS {
        run_command(
            Command::new("cargo")
                .current_dir(root.join("fuzz"))
                .env("CARGO_TARGET_DIR", &target_dir)
                .args(["+nightly", "fuzz", "run", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .arg("-print_final_stats=1"),
        )
        .with_context(|| format!("fuzz target {target} failed; see fuzz/artifacts/{target}/"))?;
    }
    Ok(())
}
