//! The report of `cargo xtask bench`: one table on stdout, `results.json` and a hand-written
//! `results.svg` (no plotting dependency), with every figure next to its ceiling.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde_json::{Value, json};

use crate::bench::Options;
use crate::bench::host::loadavg;
use crate::bench::load::{Cell, LoadResults, Scenario};
use crate::bench::micro::MicroResult;

/// The targets of the PATCH performance issue.
const PATCH_VS_CEILING: f64 = 0.8;
const GET_VS_HEALTHZ: f64 = 0.5;
const PATCH_P99_MS: f64 = 10.0;
const PEAK_RSS_MIB: f64 = 64.0;
const PATCH_CPU_US: f64 = 100.0;
/// The targets of the use issue: `use` against PATCH of one row, same run and backend.
const USE_VS_PATCH: f64 = 0.5;
const USE_P99_MS: f64 = 20.0;
/// The connection count the targets are stated at.
const TARGET_CONNECTIONS: u32 = 16;

pub(crate) fn report(
    options: &Options,
    micro: &[MicroResult],
    load: &LoadResults,
    out_dir: &Path,
) -> Result<()> {
    let mut text = String::new();
    if !micro.is_empty() {
        let _ = writeln!(
            text,
            "\nmicro-benchmarks (criterion, mean and 95% interval)"
        );
        for result in micro {
            let _ = writeln!(
                text,
                "  {:<58} {:>12}  [{} .. {}]",
                result.id,
                duration(result.mean_ns),
                duration(result.low_ns),
                duration(result.high_ns)
            );
        }
    }
    if !load.cells.is_empty() {
        text.push_str(&table(&load.cells));
        let targets = targets(&load.cells);
        let _ = writeln!(text, "\ntargets (at {TARGET_CONNECTIONS} connections)");
        for target in &targets {
            let _ = writeln!(
                text,
                "  [{}] {:<62} {}",
                if target.met { "met" } else { "MISSED" },
                target.name,
                target.measured
            );
        }
        for note in &load.notes {
            let _ = writeln!(text, "note: {note}");
        }
        let _ = writeln!(
            text,
            "note: 2 shared cores; wrk, the server and the database compete for them, and other \
             builds may run (load average now {:.2}). Compare runs on the same machine state.",
            loadavg()
        );
        let json_path = out_dir.join("results.json");
        let svg_path = out_dir.join("results.svg");
        fs::write(
            &json_path,
            serde_json::to_string_pretty(&document(options, micro, load, &targets))?,
        )?;
        fs::write(&svg_path, svg(&load.cells))?;
        let _ = writeln!(
            text,
            "wrote {} and {}",
            json_path.display(),
            svg_path.display()
        );
    } else if !micro.is_empty() {
        let json_path = out_dir.join("micro.json");
        fs::write(
            &json_path,
            serde_json::to_string_pretty(&document(options, micro, load, &[]))?,
        )?;
        let _ = writeln!(text, "wrote {}", json_path.display());
    }
    print!("{text}");
    Ok(())
}

fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The ceiling of a cell: the same backend and connection count, the ceiling's scenario.
fn ceiling_of<'a>(cells: &'a [Cell], cell: &Cell) -> Option<&'a Cell> {
    let scenario = cell.scenario.ceiling(cell.backend)?;
    cells.iter().find(|other| {
        other.backend == cell.backend
            && other.scenario == scenario
            && other.connections == cell.connections
    })
}

fn ratio(value: Option<f64>, ceiling: Option<f64>) -> Option<f64> {
    match (value, ceiling) {
        (Some(value), Some(ceiling)) if ceiling > 0.0 => Some(value / ceiling),
        _ => None,
    }
}

struct Ratios {
    rate: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    rss: Option<f64>,
    cpu: Option<f64>,
}

fn ratios(cells: &[Cell], cell: &Cell) -> Ratios {
    let ceiling = ceiling_of(cells, cell);
    let of = |field: fn(&Cell) -> Option<f64>| ratio(field(cell), ceiling.and_then(field));
    Ratios {
        rate: of(|c| Some(c.rate)),
        p50: of(|c| Some(c.p50_us)),
        p99: of(|c| Some(c.p99_us)),
        rss: of(|c| c.peak_rss_kib.map(|kib| kib as f64)),
        cpu: of(|c| c.cpu_us_per_request),
    }
}

fn with_ratio(value: String, ratio: Option<f64>) -> String {
    match ratio {
        Some(ratio) => format!("{value} ({ratio:.2})"),
        None => value,
    }
}

fn table(cells: &[Cell]) -> String {
    let header = [
        "backend",
        "scenario",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MiB",
        "CPU µs/req",
        "ceiling",
        "errors",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for cell in cells {
        let r = ratios(cells, cell);
        rows.push(vec![
            cell.backend.to_owned(),
            cell.scenario.name().to_owned(),
            cell.connections.to_string(),
            with_ratio(format!("{:.0}", cell.rate), r.rate),
            with_ratio(format!("{:.2}", cell.p50_us / 1000.0), r.p50),
            with_ratio(format!("{:.2}", cell.p99_us / 1000.0), r.p99),
            with_ratio(
                cell.peak_rss_kib
                    .map_or("-".to_owned(), |kib| format!("{:.1}", kib as f64 / 1024.0)),
                r.rss,
            ),
            with_ratio(
                cell.cpu_us_per_request
                    .map_or("-".to_owned(), |us| format!("{us:.0}")),
                r.cpu,
            ),
            cell.scenario
                .ceiling(cell.backend)
                .map_or("(ceiling)".to_owned(), |s| s.name().to_owned()),
            cell.errors.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::from(
        "\nload (figures in parentheses: the ratio to the same figure of the ceiling named; \
         for use, PATCH 1 row of the same run is the reference)\n",
    );
    for (index, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (text, width))| {
                let pad = width - text.chars().count();
                if (3..=7).contains(&column) {
                    format!("{}{text}", " ".repeat(pad))
                } else {
                    format!("{text}{}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
        if index == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            let _ = writeln!(out, "  {}", "-".repeat(total));
        }
    }
    out
}

pub(crate) struct Target {
    name: String,
    met: bool,
    measured: String,
}

fn targets(cells: &[Cell]) -> Vec<Target> {
    let at = |backend: &str, scenario: Scenario| {
        cells.iter().find(|cell| {
            cell.backend == backend
                && cell.scenario == scenario
                && cell.connections == TARGET_CONNECTIONS
        })
    };
    let mut targets = Vec::new();
    for backend in ["postgres", "sqlite"] {
        for scenario in [Scenario::PatchOne, Scenario::PatchSpread] {
            let Some(cell) = at(backend, scenario) else {
                continue;
            };
            if let (Some(ceiling), Some(r)) = (ceiling_of(cells, cell), ratios(cells, cell).rate) {
                targets.push(Target {
                    name: format!(
                        "{backend} {} >= {PATCH_VS_CEILING} x {}",
                        scenario.name(),
                        ceiling.scenario.name()
                    ),
                    met: r >= PATCH_VS_CEILING,
                    measured: format!("{:.0} / {:.0} = {r:.2}", cell.rate, ceiling.rate),
                });
            }
            let p99_ms = cell.p99_us / 1000.0;
            targets.push(Target {
                name: format!("{backend} {} p99 <= {PATCH_P99_MS} ms", scenario.name()),
                met: p99_ms <= PATCH_P99_MS,
                measured: format!("{p99_ms:.2} ms"),
            });
            if let Some(cpu) = cell.cpu_us_per_request {
                targets.push(Target {
                    name: format!(
                        "{backend} {} server CPU <= {PATCH_CPU_US} µs",
                        scenario.name()
                    ),
                    met: cpu <= PATCH_CPU_US,
                    measured: format!("{cpu:.0} µs"),
                });
            }
        }
        targets.extend(use_targets(cells, backend));
        if let Some(cell) = at(backend, Scenario::Get)
            && let Some(r) = ratios(cells, cell).rate
        {
            targets.push(Target {
                name: format!("{backend} GET credential >= {GET_VS_HEALTHZ} x GET /healthz"),
                met: r >= GET_VS_HEALTHZ,
                measured: format!("{r:.2}"),
            });
        }
        let peak = cells
            .iter()
            .filter(|cell| {
                cell.backend == backend
                    && matches!(
                        cell.scenario,
                        Scenario::Healthz
                            | Scenario::Get
                            | Scenario::PatchOne
                            | Scenario::PatchSpread
                            | Scenario::Use
                    )
            })
            .filter_map(|cell| cell.peak_rss_kib)
            .max();
        if let Some(peak) = peak {
            let mib = peak as f64 / 1024.0;
            targets.push(Target {
                name: format!("{backend} server peak RSS <= {PEAK_RSS_MIB} MiB (all cells)"),
                met: mib <= PEAK_RSS_MIB,
                measured: format!("{mib:.1} MiB"),
            });
        }
    }
    targets
}

/// The targets of `use` on one backend at [`TARGET_CONNECTIONS`]: its rate against PATCH of
/// one row (when both cells were measured) and its p99. None without a `use` cell.
fn use_targets(cells: &[Cell], backend: &str) -> Vec<Target> {
    let Some(cell) = cells.iter().find(|cell| {
        cell.backend == backend
            && cell.scenario == Scenario::Use
            && cell.connections == TARGET_CONNECTIONS
    }) else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    if let (Some(patch), Some(r)) = (ceiling_of(cells, cell), ratios(cells, cell).rate) {
        targets.push(Target {
            name: format!(
                "{backend} {} >= {USE_VS_PATCH} x {}",
                cell.scenario.name(),
                patch.scenario.name()
            ),
            met: r >= USE_VS_PATCH,
            measured: format!("{:.0} / {:.0} = {r:.2}", cell.rate, patch.rate),
        });
    }
    let p99_ms = cell.p99_us / 1000.0;
    targets.push(Target {
        name: format!("{backend} {} p99 <= {USE_P99_MS} ms", cell.scenario.name()),
        met: p99_ms <= USE_P99_MS,
        measured: format!("{p99_ms:.2} ms"),
    });
    targets
}

fn document(
    options: &Options,
    micro: &[MicroResult],
    load: &LoadResults,
    targets: &[Target],
) -> Value {
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    let cells: Vec<Value> = load
        .cells
        .iter()
        .map(|cell| {
            let r = ratios(&load.cells, cell);
            json!({
                "backend": cell.backend,
                "scenario": cell.scenario.key(),
                "name": cell.scenario.name(),
                "connections": cell.connections,
                "requests": cell.requests,
                "errors": cell.errors,
                "seconds": cell.seconds,
                "rate": cell.rate,
                "p50_us": cell.p50_us,
                "p99_us": cell.p99_us,
                "peak_rss_kib": cell.peak_rss_kib,
                "cpu_us_per_request": cell.cpu_us_per_request,
                "version_delta": cell.version_delta,
                "loadavg": cell.loadavg,
                "ceiling": cell.scenario.ceiling(cell.backend).map(Scenario::key),
                "ratio": {
                    "rate": r.rate, "p50": r.p50, "p99": r.p99, "peak_rss": r.rss, "cpu": r.cpu,
                },
            })
        })
        .collect();
    json!({
        "generated_at_unix": SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0),
        "git": git,
        "options": {
            "quick": options.quick,
            "seconds_per_cell": options.seconds,
            "connections": options.connections,
            "server_log": options.server_log,
        },
        "machine": {
            "cpus": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
            "loadavg_at_end": loadavg(),
        },
        "micro": micro.iter().map(|result| json!({
            "id": result.id,
            "mean_ns": result.mean_ns,
            "low_ns": result.low_ns,
            "high_ns": result.high_ns,
        })).collect::<Vec<_>>(),
        "cells": cells,
        "targets": targets.iter().map(|target| json!({
            "name": target.name,
            "met": target.met,
            "measured": target.measured,
        })).collect::<Vec<_>>(),
        "notes": load.notes,
    })
}

/// A bar per measured cell that has a ceiling: its rate as a fraction of the ceiling's, with
/// the ceiling (1.0) and the target fraction marked. Ceilings are listed under the bars.
fn svg(cells: &[Cell]) -> String {
    const WIDTH: f64 = 980.0;
    const LABEL: f64 = 250.0;
    const PLOT: f64 = 460.0;
    const ROW: f64 = 22.0;
    const MAX_RATIO: f64 = 1.25;
    let bars: Vec<(&Cell, &Cell, f64)> = cells
        .iter()
        .filter_map(|cell| {
            let ceiling = ceiling_of(cells, cell)?;
            let r = ratio(Some(cell.rate), Some(ceiling.rate))?;
            Some((cell, ceiling, r))
        })
        .collect();
    let ceilings: Vec<&Cell> = cells
        .iter()
        .filter(|cell| cell.scenario.ceiling(cell.backend).is_none())
        .collect();
    let top = 60.0;
    let bars_height = ROW * bars.len() as f64;
    let height = top + bars_height + 50.0 + ROW * (ceilings.len() as f64 + 1.0);
    let x = |r: f64| LABEL + PLOT * (r.min(MAX_RATIO) / MAX_RATIO);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"16\">credvault: throughput as a fraction of its ceiling</text>\n\
         <text x=\"10\" y=\"42\" fill=\"#555\">bar = req/s ÷ ceiling req/s (same backend, same connections); \
         solid line = ceiling, dashed = target; use is shown against PATCH 1 row</text>"
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0, 1.25] {
        let _ = writeln!(
            out,
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{3}\"/>\n\
             <text x=\"{0:.1}\" y=\"{4:.1}\" text-anchor=\"middle\" fill=\"#555\">{tick:.2}</text>",
            x(tick),
            top - 4.0,
            top + bars_height,
            if tick == 1.0 { "#000" } else { "#ddd" },
            top + bars_height + 14.0,
        );
    }
    for (index, (cell, ceiling, r)) in bars.iter().enumerate() {
        let y = top + ROW * index as f64;
        let target = match cell.scenario {
            Scenario::Get => Some(GET_VS_HEALTHZ),
            Scenario::PatchOne | Scenario::PatchSpread => Some(PATCH_VS_CEILING),
            Scenario::Use => Some(USE_VS_PATCH),
            _ => None,
        };
        let met = target.is_none_or(|target| *r >= target);
        let color = match (cell.scenario, met) {
            (Scenario::LoopOne | Scenario::LoopSpread, _) => "#9aa7b8",
            (_, true) => "#3a7d44",
            (_, false) => "#c0504d",
        };
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} {} c={}</text>\n\
             <rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{:.0} / {:.0} req/s = {r:.2}; p99 {:.1} ms</text>",
            LABEL - 6.0,
            y + 15.0,
            cell.backend,
            escape(cell.scenario.name()),
            cell.connections,
            y + 3.0,
            (x(*r) - LABEL).max(1.0),
            ROW - 6.0,
            LABEL + PLOT + 8.0,
            y + 15.0,
            cell.rate,
            ceiling.rate,
            cell.p99_us / 1000.0,
        );
        if let Some(target) = target {
            let _ = writeln!(
                out,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#000\" stroke-dasharray=\"3,2\"/>",
                x(target),
                y + 1.0,
                y + ROW - 1.0,
            );
        }
    }
    let mut y = top + bars_height + 44.0;
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"{y:.1}\" font-weight=\"bold\">ceilings</text>"
    );
    for cell in ceilings {
        y += ROW;
        let _ = writeln!(
            out,
            "<text x=\"20\" y=\"{y:.1}\">{} {} c={}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms</text>",
            cell.backend,
            escape(cell.scenario.name()),
            cell.connections,
            cell.rate,
            cell.p50_us / 1000.0,
            cell.p99_us / 1000.0,
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use anyhow::{Context, Result};

    use super::{Target, table, targets};
    use crate::bench::load::{Cell, Scenario};

    fn cell(backend: &'static str, scenario: Scenario, rate: f64, p99_ms: f64) -> Cell {
        Cell {
            backend,
            scenario,
            connections: 16,
            requests: 1_000,
            errors: 0,
            seconds: 2.0,
            rate,
            p50_us: 1_000.0,
            p99_us: p99_ms * 1000.0,
            peak_rss_kib: None,
            cpu_us_per_request: None,
            version_delta: None,
            loadavg: 0.0,
        }
    }

    fn named<'a>(targets: &'a [Target], name: &str) -> Option<&'a Target> {
        targets.iter().find(|target| target.name == name)
    }

    #[test]
    fn use_is_held_to_half_the_patch_rate_and_20_ms_of_p99() -> Result<()> {
        let cells = [
            cell("sqlite", Scenario::PatchOne, 3_000.0, 18.0),
            cell("sqlite", Scenario::Use, 1_500.0, 20.0),
            cell("postgres", Scenario::PatchOne, 2_000.0, 9.0),
            cell("postgres", Scenario::Use, 990.0, 20.5),
        ];
        let targets = targets(&cells);

        let met =
            named(&targets, "sqlite use 1 row >= 0.5 x PATCH 1 row").context("rate target")?;
        assert!(met.met);
        assert_eq!(met.measured, "1500 / 3000 = 0.50");
        assert!(named(&targets, "sqlite use 1 row p99 <= 20 ms").is_some_and(|t| t.met));

        let missed =
            named(&targets, "postgres use 1 row >= 0.5 x PATCH 1 row").context("rate target")?;
        assert!(!missed.met);
        assert_eq!(missed.measured, "990 / 2000 = 0.49");
        let p99 = named(&targets, "postgres use 1 row p99 <= 20 ms").context("p99 target")?;
        assert!(!p99.met);
        assert_eq!(p99.measured, "20.50 ms");
        Ok(())
    }

    #[test]
    fn without_a_patch_cell_use_has_only_its_p99_target() -> Result<()> {
        let cells = [cell("sqlite", Scenario::Use, 1_500.0, 5.0)];
        let targets = targets(&cells);
        let names: Vec<&str> = targets.iter().map(|target| target.name.as_str()).collect();
        assert_eq!(names, ["sqlite use 1 row p99 <= 20 ms"]);
        assert!(super::targets(&[]).is_empty());
        Ok(())
    }

    #[test]
    fn the_table_shows_use_as_a_ratio_of_patch_of_one_row() -> Result<()> {
        let cells = [
            cell("postgres", Scenario::PatchOne, 2_000.0, 9.0),
            cell("postgres", Scenario::Use, 1_500.0, 12.0),
        ];
        let text = table(&cells);
        let row = text
            .lines()
            .find(|line| line.contains("use 1 row"))
            .context("a use row")?;
        assert!(row.contains("1500 (0.75)"), "{row}");
        assert!(row.contains("12.00 (1.33)"), "{row}");
        let words: Vec<&str> = row.split_whitespace().collect();
        assert!(words.ends_with(&["PATCH", "1", "row", "0"]), "{row}");
        Ok(())
    }
}
