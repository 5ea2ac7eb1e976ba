//! Tests of the `credvault` binary itself: first run, commands, JSON output, shutdown, that no
//! secret reaches the log, a response or the database file, and faults: key rotation under load
//! and interrupted, a server killed under load, a database that goes away and comes back; and
//! `credvault exec` running psql against a real PostgreSQL.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod durability;
mod exec;
mod harness;
mod health_checks;
mod outage;
mod redaction;
mod rotation;
mod scale_out;
mod server;
mod tokens;
mod upkeep;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// A `credvault` command with a clean environment pointing at `database_url`.
pub(crate) fn credvault(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credvault"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CREDVAULT_") {
            command.env_remove(name);
        }
    }
    command
        .env("CREDVAULT_DATABASE_URL", database_url)
        .env("RUST_LOG", "info");
    command
}

/// Runs a command that must succeed and print one JSON object.
pub(crate) fn json_output(command: &mut Command) -> Value {
    let output = command.output().expect("credvault runs");
    assert!(
        output.status.success(),
        "credvault {:?} failed ({}): {}{}",
        command.get_args().collect::<Vec<_>>(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    parse_single_json(&output)
}

fn parse_single_json(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf-8 stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one JSON line on stdout: {stdout}");
    serde_json::from_str(lines[0]).expect("stdout is JSON")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("vault.db").display())
}

#[test]
fn migrate_applies_once_and_reports_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let first = json_output(credvault(&url).arg("migrate"));
    assert!(!first["applied"].as_array().unwrap().is_empty());
    let second = json_output(credvault(&url).arg("migrate"));
    assert_eq!(second["applied"], serde_json::json!([]));
}

#[test]
fn admin_creates_teams_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let team = json_output(credvault(&url).args(["admin", "create-team", "--label", "acme"]));
    assert_eq!(team["label"], "acme");
    assert!(team["owner_token"].as_str().unwrap().len() > 40);
    assert!(
        team["team_id"]
            .as_str()
            .unwrap()
            .parse::<uuid_like::Uuid>()
            .is_ok()
    );

    let token = json_output(credvault(&url).args([
        "admin",
        "create-token",
        "--team",
        "acme",
        "--role",
        "member",
    ]));
    assert_eq!(token["role"], "member");
    assert_ne!(token["token"], team["owner_token"]);

    let duplicate = credvault(&url)
        .args(["admin", "create-team", "--label", "acme"])
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    assert!(duplicate.stdout.is_empty(), "no JSON on failure");
    let missing = credvault(&url)
        .args(["admin", "create-token", "--team", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no team nope"));
}

#[test]
fn invalid_input_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let bad_label = credvault(&url)
        .args(["admin", "create-team", "--label", "Not A Label"])
        .output()
        .unwrap();
    assert!(!bad_label.status.success());
    assert!(String::from_utf8_lossy(&bad_label.stderr).contains("invalid team label"));
    // A label that `{team}` paths would read as an id could never be addressed.
    let uuid_label = credvault(&url)
        .args([
            "admin",
            "create-team",
            "--label",
            "0192f3a400007000800000000000abcd",
        ])
        .output()
        .unwrap();
    assert!(!uuid_label.status.success());
    assert!(uuid_label.stdout.is_empty(), "no JSON on failure");
    assert!(
        String::from_utf8_lossy(&uuid_label.stderr).contains("must not have the form of a UUID")
    );

    let bad_keys = credvault(&url)
        .env("CREDVAULT_MASTER_KEYS", "k1:c2hvcnQ=")
        .env("CREDVAULT_BIND", "127.0.0.1:0")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!bad_keys.status.success());
    let stderr = String::from_utf8_lossy(&bad_keys.stderr);
    assert!(
        stderr.contains("CREDVAULT_MASTER_KEYS is invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains("c2hvcnQ"), "key material never printed");
}

#[test]
fn generated_keys_are_accepted_by_the_server() {
    let key = json_output(credvault("sqlite://unused.db").args(["keys", "generate", "--id", "k2"]));
    let spec = key["key"].as_str().unwrap();
    assert!(spec.starts_with("k2:"));
    assert!(credvault_crypto::KeyRing::parse(spec).is_ok());
}

/// Minimal UUID check without another dependency.
mod uuid_like {
    pub(crate) struct Uuid;

    impl std::str::FromStr for Uuid {
        type Err = ();

        fn from_str(s: &str) -> Result<Self, ()> {
            let groups: Vec<usize> = s.split('-').map(str::len).collect();
            let hex = s.chars().all(|ch| ch == '-' || ch.is_ascii_hexdigit());
            if hex && groups == [8, 4, 4, 4, 12] {
                Ok(Self)
            } else {
                Err(())
            }
        }
    }
}
