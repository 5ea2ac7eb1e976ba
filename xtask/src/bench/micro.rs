//! The micro part of `cargo xtask bench`: the criterion benches for merge + validate, seal/open
//! of a 1 KiB secret map and token verification, their means read back from criterion's
//! `estimates.json`.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Result;

use crate::bench::{Options, read_json};
use crate::{cargo, run};

/// One criterion benchmark's mean.
#[derive(Clone, Debug)]
pub(crate) struct MicroResult {
    pub(crate) id: String,
    pub(crate) mean_ns: f64,
    pub(crate) low_ns: f64,
    pub(crate) high_ns: f64,
}

/// Runs the criterion benches and reads back the estimates they wrote during this run.
pub(crate) fn run_micro(options: &Options, target_dir: &Path) -> Result<Vec<MicroResult>> {
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
