//! The architecture rules of the whole workspace (`cargo xtask tidy`), run by `cargo test`.
//!
//! xtask is not a default member (so that `cargo run` finds one binary, this crate's), so plain
//! `cargo test` would not run its tests; this one runs `cargo run -p xtask -- tidy` instead.
//! The rules themselves, and why they run this way, are in `xtask/src/tidy/mod.rs`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_architecture_rules_hold() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .ok_or("no workspace root above crates/server")?;
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--package", "xtask", "--", "tidy"])
        .current_dir(root)
        .env_remove("RUST_BACKTRACE")
        .output()
        .map_err(|error| format!("running cargo xtask tidy: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    Err("cargo xtask tidy failed; its report is above".to_owned())
}
