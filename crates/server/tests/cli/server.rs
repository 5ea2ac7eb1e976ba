//! `credvault serve` run as a real process.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::credvault;

/// A running server process and what it printed on start.
struct Running {
    child: Child,
    started: Value,
    base_url: String,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .env("CREDVAULT_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "debug")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("server printed JSON on start, got {line:?}"));
        let base_url = started["listening"].as_str().expect("listening").to_owned();
        Running {
            child,
            started,
            base_url,
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into()
    }

    /// Sends SIGTERM, waits for a clean exit and returns everything logged on stderr.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("server exits");
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut log).expect("read log");
        }
        assert!(exit.success(), "graceful stop exits 0: {exit:?}\n{log}");
        log
    }
}

fn sqlite_command(dir: &Path) -> Command {
    credvault(&format!("sqlite://{}", dir.join("vault.db").display()))
}

#[test]
fn first_run_creates_a_key_and_the_demo_team_and_prints_how_to_call_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(sqlite_command(dir.path()));
    let token = server.started["demo"]["owner_token"]
        .as_str()
        .expect("demo token")
        .to_owned();
    assert_eq!(server.started["demo"]["label"], "demo");
    assert!(server.started["try"].as_str().unwrap().contains(&token));
    let key_file = dir.path().join("credvault.key");
    assert!(key_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by owner only");
    }

    let agent = Running::agent();
    let health = agent
        .get(format!("{}/healthz", server.base_url))
        .call()
        .unwrap();
    assert_eq!(health.status(), 200);
    let list = agent
        .get(format!(
            "{}/api/v1/teams/demo/integrations",
            server.base_url
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(list.status(), 200);
    let docs = agent
        .get(format!("{}/docs/", server.base_url))
        .call()
        .unwrap();
    assert_eq!(docs.status(), 200);
    server.stop();

    // The second run finds the team and the key: no new demo, same key file.
    let key_before = std::fs::read(&key_file).unwrap();
    let again = Running::start(sqlite_command(dir.path()));
    assert!(
        again.started.get("demo").is_none(),
        "demo only on first run"
    );
    assert!(again.started.get("master_key_file_created").is_none());
    again.stop();
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);
}

fn secrets_never_leak(mut command: Command, raw_database: impl Fn() -> Vec<u8>) {
    command.env(
        "CREDVAULT_MASTER_KEYS",
        format!("k1:{}", credvault_crypto::generate_master_key()),
    );
    let server = Running::start(command);
    let token = server.started["demo"]["owner_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = Running::agent();
    let base = format!("{}/api/v1/teams/demo/integrations", server.base_url);
    let auth = format!("Bearer {token}");
    let secrets = [
        "Pl41nt3xt-first-pw",
        "Pl41nt3xt-second-pw",
        "Pl41nt3xt-client-secret",
    ];
    let mut bodies = Vec::new();

    let mut created = agent
        .post(&base)
        .header("Authorization", &auth)
        .send_json(json!({
            "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
            "extra_data": {"host": "db.internal", "username": "etl", "password": secrets[0]}
        }))
        .unwrap();
    assert_eq!(created.status(), 201);
    let created_body = created.body_mut().read_to_string().unwrap();
    let id = serde_json::from_str::<Value>(&created_body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    bodies.push(created_body);
    for body in [
        json!({"extra_data": {"password": secrets[1]}}),
        json!({"extra_data": {"password": "••••", "port": 6432}}),
        json!({"extra_data": {"password": ""}}),
        json!({"extra_data": {"bad": {"client_secret": secrets[2]}}}),
    ] {
        let mut response = agent
            .patch(format!("{base}/{id}"))
            .header("Authorization", &auth)
            .send_json(body)
            .unwrap();
        bodies.push(response.body_mut().read_to_string().unwrap());
    }
    for path in [
        format!("{base}/{id}"),
        base.clone(),
        format!("{base}/{id}/events"),
    ] {
        let mut response = agent
            .get(path)
            .header("Authorization", &auth)
            .call()
            .unwrap();
        assert_eq!(response.status(), 200);
        bodies.push(response.body_mut().read_to_string().unwrap());
    }
    let log = server.stop();
    let database = raw_database();
    assert!(!database.is_empty());
    for secret in secrets {
        for body in &bodies {
            assert!(
                !body.contains(secret),
                "a response contains a secret: {body}"
            );
        }
        assert!(!log.contains(secret), "the log contains a secret");
        assert!(!log.contains(&token), "the log contains the token");
        assert!(
            !database
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "the database contains a secret in plain text"
        );
    }
    assert!(log.contains("request_id"), "requests are logged");
}

mod sqlite {
    use super::*;

    #[test]
    fn secrets_never_reach_the_log_responses_or_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let directory = dir.path().to_path_buf();
        secrets_never_leak(sqlite_command(dir.path()), move || {
            let mut bytes = Vec::new();
            for name in ["vault.db", "vault.db-wal"] {
                if let Ok(content) = std::fs::read(directory.join(name)) {
                    bytes.extend(content);
                }
            }
            bytes
        });
    }
}

mod postgres {
    use super::*;

    #[test]
    fn needs_a_configured_master_key() {
        let Some(db) = TestDb::postgres() else { return };
        let output = credvault(db.url())
            .env("CREDVAULT_BIND", "127.0.0.1:0")
            .arg("serve")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("CREDVAULT_MASTER_KEYS"));
    }

    #[test]
    fn secrets_never_reach_the_log_responses_or_database() {
        let Some(db) = TestDb::postgres() else { return };
        secrets_never_leak(credvault(db.url()), || db.raw_contents());
    }
}
