//! The load part of `cargo xtask bench`: the release server under `wrk`, and the ceilings.
//!
//! Per backend: a fresh database (an SQLite file under the target directory, or a throwaway
//! PostgreSQL database `credvault_bench_<pid>` that is dropped afterwards), `credvault migrate`,
//! `credvault serve` on `127.0.0.1:0`, 1,000 credentials created through the API, then one `wrk`
//! run per scenario and connection count. Around each run the server's CPU time (utime + stime
//! of `/proc/<pid>/stat`) is read and its peak RSS (`VmHWM`, reset through `clear_refs` first).
//! Then, with the server stopped, the ceilings on the same database: the driver-only update loop
//! and, on PostgreSQL, `pgbench` running the same transaction.
//!
//! Only 127.0.0.1 is ever addressed, and every run is bounded in time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::bench::Options;
use crate::bench::host::{
    capture, clock_ticks, cpu_ticks, ensure_wrk, has_program, loadavg, peak_rss_kib, reset_peak_rss,
};
use crate::bench::server::{PgDatabase, Server, generate_master_key, seed};
use crate::{cargo, run};

/// The credentials created per backend; PATCH-spread and the spread ceilings use all of them.
pub(crate) const SPREAD_ROWS: usize = 1_000;

/// The lifetime of the service account's access token in the run: a day.
const USE_TOKEN_SECONDS: u64 = 86_400;

/// What a load cell measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scenario {
    /// `GET /healthz`: the HTTP ceiling of the same server.
    Healthz,
    /// `GET` of one credential.
    Get,
    /// `PATCH` of one credential, every request a real write.
    PatchOne,
    /// `PATCH` spread over 1,000 credentials.
    PatchSpread,
    /// `POST …/use` of one credential by a service account holding a grant: token and grant
    /// checks, decryption, and the `used` audit event with `last_used_at` in one write.
    Use,
    /// `Store::update_credential` in a loop, one row, no HTTP.
    LoopOne,
    /// The same over 1,000 rows.
    LoopSpread,
    /// pgbench: lock, update, insert the audit row, commit; one row.
    PgbenchOne,
    /// The same over 1,000 rows.
    PgbenchSpread,
}

impl Scenario {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "GET /healthz",
            Scenario::Get => "GET credential",
            Scenario::PatchOne => "PATCH 1 row",
            Scenario::PatchSpread => "PATCH 1000 rows",
            Scenario::Use => "use 1 row",
            Scenario::LoopOne => "driver loop 1 row",
            Scenario::LoopSpread => "driver loop 1000 rows",
            Scenario::PgbenchOne => "pgbench 1 row",
            Scenario::PgbenchSpread => "pgbench 1000 rows",
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::Get => "get",
            Scenario::PatchOne => "patch_one",
            Scenario::PatchSpread => "patch_spread",
            Scenario::Use => "use_one",
            Scenario::LoopOne => "loop_one",
            Scenario::LoopSpread => "loop_spread",
            Scenario::PgbenchOne => "pgbench_one",
            Scenario::PgbenchSpread => "pgbench_spread",
        }
    }

    /// The figure this one is compared with, on the same backend and connection count. For
    /// `use` that is the PATCH of one row: a reference of the same server, not a limit.
    pub(crate) fn ceiling(self, backend: &str) -> Option<Scenario> {
        let postgres = backend == "postgres";
        match self {
            Scenario::Get => Some(Scenario::Healthz),
            Scenario::Use => Some(Scenario::PatchOne),
            Scenario::PatchOne if postgres => Some(Scenario::PgbenchOne),
            Scenario::PatchOne => Some(Scenario::LoopOne),
            Scenario::PatchSpread if postgres => Some(Scenario::PgbenchSpread),
            Scenario::PatchSpread => Some(Scenario::LoopSpread),
            Scenario::LoopOne if postgres => Some(Scenario::PgbenchOne),
            Scenario::LoopSpread if postgres => Some(Scenario::PgbenchSpread),
            _ => None,
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub(crate) backend: &'static str,
    pub(crate) scenario: Scenario,
    pub(crate) connections: u32,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    pub(crate) rate: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// Peak RSS of the process serving the cell (the server; the loop for loop cells).
    pub(crate) peak_rss_kib: Option<u64>,
    /// CPU time of that process per request.
    pub(crate) cpu_us_per_request: Option<f64>,
    /// For PATCH of one row: how far its version moved (should equal the 2xx responses).
    pub(crate) version_delta: Option<i64>,
    /// The one-minute load average when the cell ended (others compile on this machine too).
    pub(crate) loadavg: f64,
}

#[derive(Debug, Default)]
pub(crate) struct LoadResults {
    pub(crate) cells: Vec<Cell>,
    pub(crate) notes: Vec<String>,
}

pub(crate) fn run_load(
    root: &Path,
    options: &Options,
    target_dir: &Path,
    out_dir: &Path,
) -> Result<LoadResults> {
    ensure_wrk()?;
    run(cargo().args(["build", "--release", "-p", "credvault"]))?;
    let server_binary = target_dir.join("release").join("credvault");
    let loop_binary = build_update_loop()?;
    let work_dir = out_dir.join(format!("tmp-{}", std::process::id()));
    fs::create_dir_all(&work_dir)?;
    let tools = Tools {
        root: root.to_path_buf(),
        server_binary,
        loop_binary,
        work_dir: work_dir.clone(),
        clock_ticks: clock_ticks(),
    };

    let mut results = LoadResults::default();
    if options.sqlite {
        let url = format!("sqlite://{}", work_dir.join("bench.db").display());
        run_backend(&tools, options, "sqlite", &url, &mut results)?;
    }
    if options.postgres {
        let database = PgDatabase::create(&options.postgres_admin_url)?;
        let outcome = run_backend(&tools, options, "postgres", &database.url, &mut results);
        drop(database);
        outcome?;
    }
    if let Err(error) = fs::remove_dir_all(&work_dir) {
        eprintln!("bench: could not remove {}: {error}", work_dir.display());
    }
    Ok(results)
}

struct Tools {
    root: PathBuf,
    server_binary: PathBuf,
    loop_binary: PathBuf,
    work_dir: PathBuf,
    clock_ticks: f64,
}

fn run_backend(
    tools: &Tools,
    options: &Options,
    backend: &'static str,
    url: &str,
    results: &mut LoadResults,
) -> Result<()> {
    eprintln!("bench: {backend}");
    let master_keys = generate_master_key(&tools.server_binary)?;
    let env = [
        ("CREDVAULT_DATABASE_URL", url.to_owned()),
        ("CREDVAULT_MASTER_KEYS", master_keys),
        ("CREDVAULT_BIND", "127.0.0.1:0".to_owned()),
        ("RUST_LOG", options.server_log.clone()),
        // One token sends every request: a limit far above any rate reached here keeps the
        // limiter's work on the measured path without ever answering 429.
        ("CREDVAULT_RATE_LIMIT_PER_SECOND", "1000000".to_owned()),
        ("CREDVAULT_RATE_LIMIT_BURST", "1000000".to_owned()),
        // Likewise the one token may hold every connection's request in flight at once.
        // Both limits are per principal, so they hold for the service account of `use` too.
        ("CREDVAULT_MAX_IN_FLIGHT_PER_CLIENT", "1000000".to_owned()),
        // The service account's access token outlives any run (the default is an hour).
        (
            "CREDVAULT_ACCESS_TOKEN_SECONDS",
            USE_TOKEN_SECONDS.to_string(),
        ),
    ];
    let mut migrate = Command::new(&tools.server_binary);
    migrate.arg("migrate").stdout(Stdio::null());
    for (name, value) in &env {
        migrate.env(name, value);
    }
    run(&mut migrate)?;

    let log_path = tools.work_dir.join(format!("server-{backend}.log"));
    let server = Server::start(&tools.server_binary, &env, &log_path)?;
    let ids = seed(&server, &tools.root.join("bench/credential.json"))?;
    let one_file = tools.work_dir.join("ids-one.txt");
    let spread_file = tools.work_dir.join("ids-spread.txt");
    fs::write(&one_file, format!("{}\n", ids[0]))?;
    fs::write(&spread_file, ids.join("\n") + "\n")?;

    // The service account that uses the first credential; without it (an older server, or a
    // failed step) the other cells still run and a note says why `use` did not.
    let use_token = match server.use_token(&ids[0]) {
        Ok(token) => Some(token),
        Err(error) => {
            results.notes.push(format!(
                "{backend} {}: not measured: {error:#}",
                Scenario::Use.name()
            ));
            None
        }
    };
    let owner_token = server.token.as_str();
    let mut scenarios = vec![
        (Scenario::Healthz, &one_file, owner_token),
        (Scenario::Get, &one_file, owner_token),
        (Scenario::PatchOne, &one_file, owner_token),
        (Scenario::PatchSpread, &spread_file, owner_token),
    ];
    if let Some(token) = &use_token {
        scenarios.push((Scenario::Use, &one_file, token.as_str()));
    }
    for (scenario, ids_file, token) in scenarios {
        for &connections in &options.connections {
            let cell = wrk_cell(
                tools,
                options,
                &server,
                WrkRun {
                    backend,
                    scenario,
                    connections,
                    ids_file,
                    token,
                    first_id: &ids[0],
                },
            )?;
            print_cell(&cell);
            if cell.errors > 0 {
                results.notes.push(format!(
                    "{backend} {} at {connections}: {} errors (see {})",
                    scenario.name(),
                    cell.errors,
                    log_path.display()
                ));
            }
            results.cells.push(cell);
        }
    }
    let team_id = server.team_id.clone();
    server.stop()?;

    // Ceilings on the same database, with the server stopped.
    for (scenario, rows) in [(Scenario::LoopOne, 1), (Scenario::LoopSpread, SPREAD_ROWS)] {
        for &connections in &options.connections {
            let cell = loop_cell(tools, options, backend, url, scenario, connections, rows)?;
            print_cell(&cell);
            results.cells.push(cell);
        }
    }
    if backend == "postgres" {
        if !has_program("pgbench") {
            results
                .notes
                .push("pgbench is not installed: no PostgreSQL ceiling".to_owned());
            return Ok(());
        }
        pgbench_setup(tools, url, &ids[0], SPREAD_ROWS)?;
        for (scenario, rows) in [
            (Scenario::PgbenchOne, 1),
            (Scenario::PgbenchSpread, SPREAD_ROWS),
        ] {
            for &connections in &options.connections {
                let cell =
                    pgbench_cell(tools, options, url, &team_id, scenario, connections, rows)?;
                print_cell(&cell);
                results.cells.push(cell);
            }
        }
    }
    Ok(())
}

fn print_cell(cell: &Cell) {
    eprintln!(
        "bench: {:<8} {:<22} c={:<3} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
        cell.backend,
        cell.scenario.name(),
        cell.connections,
        cell.rate,
        cell.p50_us / 1000.0,
        cell.p99_us / 1000.0,
        cell.errors
    );
}

// wrk cells.

/// What one wrk cell sends, and as whom.
struct WrkRun<'a> {
    backend: &'static str,
    scenario: Scenario,
    connections: u32,
    ids_file: &'a Path,
    /// The bearer token of every request: the owner's, or the service account's for `use`.
    token: &'a str,
    first_id: &'a str,
}

/// `CV_BENCH_MODE` of `bench/wrk/credvault.lua` for a scenario.
pub(crate) fn wrk_mode(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Healthz => "healthz",
        Scenario::Get => "get",
        Scenario::Use => "use",
        _ => "patch",
    }
}

fn wrk_cell(tools: &Tools, options: &Options, server: &Server, run: WrkRun<'_>) -> Result<Cell> {
    let WrkRun {
        backend,
        scenario,
        connections,
        ids_file,
        token,
        first_id,
    } = run;
    let mode = wrk_mode(scenario);
    let wrk = |seconds: u32| -> Result<Value> {
        let mut command = Command::new("wrk");
        command
            .args(["-t", &connections.min(2).to_string()])
            .args(["-c", &connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "10s"])
            .arg("-s")
            .arg(tools.root.join("bench/wrk/credvault.lua"))
            .arg(format!("http://{}", server.address))
            .env("CV_BENCH_MODE", mode)
            .env("CV_BENCH_TOKEN", token)
            .env(
                "CV_BENCH_PREFIX",
                format!("/api/v1/teams/{}/integrations/", server.team_label),
            )
            .env("CV_BENCH_IDS", ids_file);
        let output = capture(&mut command)?;
        output
            .lines()
            .find_map(|line| line.strip_prefix("{\"wrk\":"))
            .and_then(|rest| serde_json::from_str::<Value>(&format!("{{\"wrk\":{rest}")).ok())
            .map(|value| value["wrk"].clone())
            .with_context(|| format!("no result line in the wrk output:\n{output}"))
    };
    if !options.quick {
        wrk(1)?;
    }
    let version_before = match scenario {
        Scenario::PatchOne => Some(server.version_of(first_id)?),
        _ => None,
    };
    reset_peak_rss(server.pid);
    let ticks_before = cpu_ticks(server.pid)?;
    let result = wrk(options.seconds)?;
    let ticks_after = cpu_ticks(server.pid)?;
    let peak_rss_kib = peak_rss_kib(server.pid).ok();
    let version_delta = match version_before {
        Some(before) => Some(server.version_of(first_id)? - before),
        None => None,
    };
    let number = |field: &str| result[field].as_f64().unwrap_or(0.0);
    let requests = number("requests") as u64;
    let seconds = number("duration_us") / 1e6;
    let errors = [
        "connect_errors",
        "read_errors",
        "write_errors",
        "status_errors",
        "timeouts",
    ]
    .iter()
    .map(|field| number(field) as u64)
    .sum();
    let cpu_seconds = (ticks_after.saturating_sub(ticks_before)) as f64 / tools.clock_ticks;
    Ok(Cell {
        backend,
        scenario,
        connections,
        requests,
        errors,
        seconds,
        rate: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        p50_us: number("p50_us"),
        p99_us: number("p99_us"),
        peak_rss_kib,
        cpu_us_per_request: (requests > 0).then(|| cpu_seconds * 1e6 / requests as f64),
        version_delta,
        loadavg: loadavg(),
    })
}

// The driver-only loop.

fn build_update_loop() -> Result<PathBuf> {
    let mut command = cargo();
    command.args([
        "bench",
        "-p",
        "credvault-persistence",
        "--bench",
        "update_loop",
        "--no-run",
        "--message-format=json",
    ]);
    let output = capture(&mut command)?;
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["target"]["name"] == "update_loop")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo did not name the update_loop executable")
}

fn loop_cell(
    tools: &Tools,
    options: &Options,
    backend: &'static str,
    url: &str,
    scenario: Scenario,
    connections: u32,
    rows: usize,
) -> Result<Cell> {
    let mut command = Command::new(&tools.loop_binary);
    command
        .args(["--url", url])
        .args(["--seconds", &options.seconds.to_string()])
        .args(["--threads", &connections.to_string()])
        .args(["--rows", &rows.to_string()]);
    // The server reads the same variable: both then sync SQLite commits alike.
    if let Ok(synchronous) = std::env::var("CREDVAULT_SQLITE_SYNCHRONOUS") {
        command.args(["--synchronous", &synchronous]);
    }
    let output = capture(&mut command)?;
    let result = output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|value| value.get("update_loop").cloned())
        .with_context(|| format!("no result line in the update loop's output:\n{output}"))?;
    let number = |field: &str| result[field].as_f64();
    Ok(Cell {
        backend,
        scenario,
        connections,
        requests: number("requests").unwrap_or(0.0) as u64,
        errors: number("errors").unwrap_or(0.0) as u64,
        seconds: number("seconds").unwrap_or(0.0),
        rate: number("rate").unwrap_or(0.0),
        p50_us: number("p50_us").unwrap_or(0.0),
        p99_us: number("p99_us").unwrap_or(0.0),
        peak_rss_kib: number("peak_rss_kib").map(|kib| kib as u64),
        cpu_us_per_request: number("cpu_ticks")
            .zip(number("requests").filter(|&requests| requests > 0.0))
            .map(|(ticks, requests)| ticks / tools.clock_ticks * 1e6 / requests),
        version_delta: None,
        loadavg: loadavg(),
    })
}

// pgbench.

fn pgbench_setup(tools: &Tools, url: &str, source_id: &str, rows: usize) -> Result<()> {
    let template = fs::read_to_string(tools.root.join("bench/pgbench/setup.sql"))?;
    let sql = template
        .replace("{source_id}", source_id)
        .replace("{rows}", &rows.to_string());
    let path = tools.work_dir.join("pgbench-setup.sql");
    fs::write(&path, sql)?;
    run(Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&path)
        .arg(url)
        .stdout(Stdio::null()))
}

fn pgbench_cell(
    tools: &Tools,
    options: &Options,
    url: &str,
    team_id: &str,
    scenario: Scenario,
    connections: u32,
    rows: usize,
) -> Result<Cell> {
    let template = fs::read_to_string(tools.root.join("bench/pgbench/patch.sql"))?;
    let script = tools.work_dir.join("pgbench-patch.sql");
    fs::write(&script, template.replace("{team_id}", team_id))?;
    let log_dir = tools
        .work_dir
        .join(format!("pgbench-{}-{connections}", scenario.key()));
    fs::create_dir_all(&log_dir)?;
    let mut command = Command::new("pgbench");
    command
        .args(["-n", "-M", "prepared"])
        .args(["-c", &connections.to_string()])
        .args(["-j", &connections.min(2).to_string()])
        .args(["-T", &options.seconds.to_string()])
        .args(["-D", &format!("rows={rows}")])
        .arg("-f")
        .arg(&script)
        .arg("-l")
        .arg(format!("--log-prefix={}", log_dir.join("log").display()))
        .arg(url);
    let output = capture(&mut command)?;
    let tps = output
        .lines()
        .find_map(|line| line.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse::<f64>().ok())
        .with_context(|| format!("no tps in the pgbench output:\n{output}"))?;
    let failed = output
        .lines()
        .find_map(|line| line.trim().strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse::<u64>().ok())
        .unwrap_or(0);
    // Per-transaction log lines: client_id transaction_no latency_us script_no epoch epoch_us.
    let mut latencies: Vec<u64> = Vec::new();
    for entry in fs::read_dir(&log_dir)? {
        let text = fs::read_to_string(entry?.path())?;
        latencies.extend(
            text.lines()
                .filter_map(|line| line.split_whitespace().nth(2)?.parse::<u64>().ok()),
        );
    }
    latencies.sort_unstable();
    Ok(Cell {
        backend: "postgres",
        scenario,
        connections,
        requests: latencies.len() as u64,
        errors: failed,
        seconds: f64::from(options.seconds),
        rate: tps,
        p50_us: percentile(&latencies, 50.0),
        p99_us: percentile(&latencies, 99.0),
        peak_rss_kib: None,
        cpu_us_per_request: None,
        version_delta: None,
        loadavg: loadavg(),
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64
}

#[cfg(test)]
mod tests {
    use super::{Scenario, wrk_mode};

    #[test]
    fn use_runs_its_own_wrk_mode_and_is_compared_with_patch_of_one_row() {
        assert_eq!(wrk_mode(Scenario::Use), "use");
        assert_eq!(wrk_mode(Scenario::PatchOne), "patch");
        for backend in ["sqlite", "postgres"] {
            assert_eq!(Scenario::Use.ceiling(backend), Some(Scenario::PatchOne));
        }
        assert_eq!(Scenario::Use.key(), "use_one");
    }
}
