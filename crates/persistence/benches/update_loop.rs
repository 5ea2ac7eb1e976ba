//! The driver's own rate for a PATCH's transaction, without HTTP: `Store::update_credential` in a
//! loop with a trivial closure (change `metadata.n`, append the audit event).
//!
//! This is the ceiling `cargo xtask bench` compares the HTTP PATCH with on SQLite; on
//! PostgreSQL it is shown beside pgbench, which is the ceiling there. It is not a criterion
//! bench: it runs `--threads` threads for `--seconds` seconds against `--url` and prints one
//! JSON line with the rate and the latency percentiles. It creates its own team and `--rows`
//! credentials shaped like `bench/credential.json`.
//!
//! ```sh
//! cargo bench -p credvault-persistence --bench update_loop -- \
//!     --url sqlite:///tmp/loop.db --seconds 5 --threads 1 --rows 1000
//! ```
//!
//! `--synchronous normal` runs SQLite with `PRAGMA synchronous = NORMAL` instead of the store's
//! default `FULL`, to measure what syncing every commit costs.
//!
//! `--ops N` stops each thread after N updates instead, so that instruction counts (for example
//! `valgrind --tool=callgrind`, run once with `--ops 0` for the set-up alone) can be compared
//! between builds when wall-clock figures are too noisy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use credvault_domain::audit::{Actor, AuditAction};
use credvault_domain::credential::Credential;
use credvault_domain::edit::{AuditNote, CredentialEdit};
use credvault_domain::ids::{CredentialId, RequestId};
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::team::TeamLabel;
use credvault_domain::testing::stored_postgres_credential;
use credvault_persistence::{
    Ciphertext, CredentialChange, SecretsUpdate, SqliteSynchronous, Store, StoreOptions,
    UpdateError,
};
use serde_json::{Value, json};

/// The credential every HTTP load run creates, so both write rows of the same size.
const CREDENTIAL_JSON: &str = include_str!("../../../bench/credential.json");

struct Args {
    url: String,
    seconds: f64,
    threads: usize,
    rows: usize,
    /// Stop each thread after this many updates (for instruction counts under valgrind).
    ops: Option<u64>,
    /// SQLite's `PRAGMA synchronous`.
    synchronous: SqliteSynchronous,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        seconds: 5.0,
        threads: 1,
        rows: 1,
        ops: None,
        synchronous: SqliteSynchronous::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--threads" => args.threads = value()?.parse().map_err(|_| "bad --threads")?,
            "--rows" => args.rows = value()?.parse().map_err(|_| "bad --rows")?,
            "--ops" => args.ops = Some(value()?.parse().map_err(|_| "bad --ops")?),
            "--synchronous" => args.synchronous = value()?.parse()?,
            // `cargo bench` passes `--bench`; anything else is a mistake.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".to_owned());
    }
    args.threads = args.threads.max(1);
    args.rows = args.rows.max(1);
    Ok(args)
}

/// Creates a team, an owner and `rows` credentials; returns the team and the credential ids.
fn seed(
    store: &Store,
    rows: usize,
) -> Result<(credvault_domain::ids::TeamId, Actor, Vec<CredentialId>), String> {
    let body: Value = serde_json::from_str(CREDENTIAL_JSON).map_err(|e| e.to_string())?;
    let label: TeamLabel = format!("loop-{}", std::process::id())
        .parse()
        .map_err(|_| "bad label")?;
    let team = store.create_team(&label).map_err(|e| e.to_string())?;
    let principal = store
        .create_user(
            team.id,
            Role::Owner,
            &format!("{:064x}", std::process::id()),
        )
        .map_err(|e| e.to_string())?;
    let actor = Actor {
        id: principal,
        kind: PrincipalKind::User,
    };
    let (template, _) = stored_postgres_credential();
    let mut extra_data = body["extra_data"].as_object().cloned().unwrap_or_default();
    extra_data.remove("password");
    let metadata = body["metadata"].as_object().cloned().unwrap_or_default();
    // A sealed password is about this long (version, key id, nonce, ciphertext, tag).
    let ciphertext = Ciphertext {
        key_id: "bench".to_owned(),
        bytes: vec![7u8; 72],
    };
    let mut ids = Vec::with_capacity(rows);
    for _ in 0..rows {
        let credential = Credential {
            id: CredentialId::new(),
            team_id: team.id,
            extra_data: extra_data.clone(),
            metadata: metadata.clone(),
            version: 1,
            created_by: principal,
            modified_by: principal,
            last_used: None,
            ..template.clone()
        };
        let note = AuditNote {
            changed_fields: vec!["created".to_owned()],
            ..AuditNote::new(AuditAction::Created, actor, RequestId::new())
        };
        store
            .insert_credential(&credential, Some(&ciphertext), note)
            .map_err(|e| e.to_string())?;
        ids.push(credential.id);
    }
    Ok((team.id, actor, ids))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// utime + stime of this process in clock ticks (Linux), to get the driver's CPU per update.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let options = StoreOptions {
        pool_size: u32::try_from(args.threads).unwrap_or(u32::MAX),
        connection_timeout: Duration::from_secs(30),
        sqlite_synchronous: args.synchronous,
    };
    let store = Store::open(&args.url, &options).map_err(|e| e.to_string())?;
    store.migrate().map_err(|e| e.to_string())?;
    let (team_id, actor, ids) = seed(&store, args.rows)?;
    let ids = Arc::new(ids);
    let ticks_before = cpu_ticks();
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.threads)
        .map(|thread| {
            let store = store.clone();
            let ids = ids.clone();
            let ops = args.ops;
            std::thread::spawn(move || {
                let mut latencies_us = Vec::new();
                let mut errors = 0u64;
                // A different walk through the rows per thread (an LCG is enough to spread them).
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (thread as u64 + 1);
                let mut n = (thread as u64) << 40;
                let mut done = 0u64;
                while Instant::now() < deadline && ops.is_none_or(|ops| done < ops) {
                    done += 1;
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let id = ids[(state >> 33) as usize % ids.len()];
                    n += 1;
                    let begun = Instant::now();
                    let outcome = store.update_credential(team_id, id, None, |stored| {
                        let mut edit = CredentialEdit::from(stored.credential.clone());
                        edit.metadata.insert("n".to_owned(), json!(n));
                        let mut audit =
                            AuditNote::new(AuditAction::Updated, actor, RequestId::new());
                        audit.changed_fields = vec!["metadata.n".to_owned()];
                        Ok::<_, ()>(CredentialChange::Update {
                            edit,
                            secrets: SecretsUpdate::Keep,
                            audit,
                        })
                    });
                    let elapsed = begun.elapsed().as_micros();
                    match outcome {
                        Ok(_) => latencies_us.push(u32::try_from(elapsed).unwrap_or(u32::MAX)),
                        Err(UpdateError::Store(_) | UpdateError::Rejected(())) => errors += 1,
                    }
                }
                (latencies_us, errors)
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut thread_latencies, thread_errors) =
            worker.join().map_err(|_| "a worker thread panicked")?;
        latencies_us.append(&mut thread_latencies);
        errors += thread_errors;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_ticks = cpu_ticks()
        .zip(ticks_before)
        .map(|(after, before)| after - before);
    latencies_us.sort_unstable();
    let report = json!({
        "update_loop": {
            "backend": format!("{:?}", store.backend()),
            "threads": args.threads,
            "rows": args.rows,
            "requests": latencies_us.len(),
            "errors": errors,
            "seconds": seconds,
            "rate": latencies_us.len() as f64 / seconds,
            "p50_us": percentile(&latencies_us, 50.0),
            "p99_us": percentile(&latencies_us, 99.0),
            "cpu_ticks": cpu_ticks,
            "peak_rss_kib": peak_rss_kib(),
        }
    });
    println!("{report}");
    Ok(())
}
