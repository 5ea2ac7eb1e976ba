//! `credvault exec` end to end: a real `credvault serve`, a real PostgreSQL that checks passwords
//! (the SCRAM cluster of `credvault_probe::testing`), and `psql` as the command. The credential,
//! the service account, its client credential and the grant are made through the HTTP API.
//!
//! Skipped, saying why, where the cluster or `psql` cannot run, unless servers are required
//! (`CREDVAULT_REQUIRE_POSTGRES=1` or `CREDVAULT_REQUIRE_PROBE_SERVERS=1`).
//!
//! Assertion messages never show a secret: they say what was found, not the text around it.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use credvault_probe::testing::cluster::{ScramCluster, scram_cluster};
use credvault_probe::testing::servers_required;
use serde_json::{Value, json};

use crate::credvault;
use crate::harness::{ServerProcess, new_key};

const TIMEOUT: Duration = Duration::from_secs(20);

/// libpq's variables, removed from every `exec` so that only what `exec` sets can reach psql.
const LIBPQ_VARIABLES: [&str; 8] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSSLMODE",
];

/// The cluster and psql, or `None` after saying why the test skips.
fn cluster() -> Option<&'static ScramCluster> {
    let cluster = match scram_cluster() {
        Ok(cluster) => cluster,
        Err(reason) if !servers_required() => {
            eprintln!("skipped: {reason}");
            return None;
        }
        Err(reason) => panic!("the SCRAM cluster is required: {reason}"),
    };
    let psql = Command::new("psql").arg("--version").output();
    match psql {
        Ok(output) if output.status.success() => Some(cluster),
        _ if !servers_required() => {
            eprintln!("skipped: no psql on PATH");
            None
        }
        _ => panic!("psql is required for the exec test"),
    }
}

/// A server with a PostgreSQL credential pointing at the cluster, a service account with a
/// client credential, and (for `granted`) its grant of use.
struct Vault {
    server: ServerProcess,
    owner_token: String,
    team_id: String,
    account_id: String,
    client_id: String,
    client_secret: String,
    granted: String,
    not_granted: String,
    password: String,
    user: String,
    _dir: tempfile::TempDir,
}

/// `method path` with the owner's token and a JSON body; the status and the JSON answer.
fn call(base_url: &str, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut response = agent
        .post(format!("{base_url}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .send_json(body)
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn created(base_url: &str, token: &str, path: &str, body: &Value) -> Value {
    let (status, answer) = call(base_url, token, path, body);
    assert_eq!(status, 201, "POST {path}: {answer}");
    answer
}

impl Vault {
    fn start(cluster: &ScramCluster) -> Vault {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vault.db").display());
        let mut command = credvault(&url);
        command.env("CREDVAULT_MASTER_KEYS", new_key("k1"));
        let server = ServerProcess::start(command);
        let owner_token = server.demo_token();
        let team_id = server.demo_team_id().to_string();
        let base = server.base_url.clone();
        let integrations = format!("/api/v1/teams/{team_id}/integrations");
        let credential = |name: &str| {
            let body = json!({
                "provider": "postgresql", "kind": "user_password", "name": name,
                "extra_data": {"host": "127.0.0.1", "port": cluster.port,
                               "database": cluster.database, "username": cluster.user,
                               "password": cluster.password}
            });
            let answer = created(&base, &owner_token, &integrations, &body);
            answer["id"].as_str().unwrap().to_owned()
        };
        let granted = credential("Warehouse");
        let not_granted = credential("Archive");
        let accounts = format!("/api/v1/teams/{team_id}/service-accounts");
        let account = created(
            &base,
            &owner_token,
            &accounts,
            &json!({"name": "etl-robot", "description": "runs psql", "role": "member"}),
        );
        let account_id = account["id"].as_str().unwrap().to_owned();
        let client = created(
            &base,
            &owner_token,
            &format!("{accounts}/{account_id}/credentials"),
            &json!({"name": "main", "description": "for credvault exec"}),
        );
        let grant = created(
            &base,
            &owner_token,
            &format!("{integrations}/{granted}/grants"),
            &json!({"service_account_id": account_id}),
        );
        assert_eq!(grant["credential_id"], granted.as_str());
        Vault {
            server,
            owner_token,
            team_id,
            account_id,
            client_id: client["client_id"].as_str().unwrap().to_owned(),
            client_secret: client["client_secret"].as_str().unwrap().to_owned(),
            granted,
            not_granted,
            password: cluster.password.clone(),
            user: cluster.user.clone(),
            _dir: dir,
        }
    }

    /// `credvault exec --url … --credential ID -- COMMAND…` with the client credentials in the
    /// environment and without any libpq variable or password file of this machine.
    fn exec_with(&self, credential: &str, client_secret: &str, command: &[&str]) -> Output {
        let mut exec = credvault("sqlite://unused.db");
        for name in LIBPQ_VARIABLES {
            exec.env_remove(name);
        }
        exec.env("PGPASSFILE", "/nonexistent/credvault-exec-test")
            .env("PGCONNECT_TIMEOUT", "10")
            .env("CREDVAULT_CLIENT_ID", &self.client_id)
            .env("CREDVAULT_CLIENT_SECRET", client_secret)
            .args([
                "exec",
                "--url",
                &self.server.base_url,
                "--credential",
                credential,
            ])
            .arg("--")
            .args(command);
        exec.output().expect("credvault exec runs")
    }

    fn exec(&self, command: &[&str]) -> Output {
        self.exec_with(&self.granted, &self.client_secret, command)
    }

    /// Whether an output of credvault holds a secret of the test (the password, the client
    /// secret).
    fn leaks(&self, text: &[u8]) -> Vec<&'static str> {
        let text = String::from_utf8_lossy(text);
        let mut found = Vec::new();
        if text.contains(&self.password) {
            found.push("the PostgreSQL password");
        }
        if text.contains(&self.client_secret) {
            found.push("the client secret");
        }
        found
    }

    /// Stops the server and checks that its log holds neither secret.
    fn stop_and_check_log(self) {
        let leaks = {
            let log = self.server.stop();
            let mut found = Vec::new();
            if log.contains(&self.password) {
                found.push("the PostgreSQL password");
            }
            if log.contains(&self.client_secret) {
                found.push("the client secret");
            }
            found
        };
        assert!(leaks.is_empty(), "the server's log holds {leaks:?}");
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `NAME=value` lines of `env` (values never shown by an assertion).
fn environment(output: &Output) -> BTreeMap<String, String> {
    stdout(output)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

#[test]
fn exec_runs_psql_as_the_credentials_role() {
    let Some(cluster) = cluster() else { return };
    let vault = Vault::start(cluster);

    let output = vault.exec(&["psql", "-tAc", "select current_user"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), vault.user);
    assert!(vault.leaks(&output.stdout).is_empty());
    assert_eq!(vault.leaks(&output.stderr), Vec::<&str>::new());

    let output = vault.exec(&["psql", "-c", "select 1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("(1 row)"), "{}", stdout(&output));
    assert_eq!(vault.leaks(&output.stdout), Vec::<&str>::new());
    assert_eq!(vault.leaks(&output.stderr), Vec::<&str>::new());

    // psql through DATABASE_URL alone, with no PG* variable left.
    let output = vault.exec(&[
        "sh",
        "-c",
        "unset PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE; \
         exec psql \"$DATABASE_URL\" -tAc 'select current_database()'",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), cluster.database);

    // A password psql does not get is refused: the one above came from exec.
    let output = vault.exec(&["sh", "-c", "unset PGPASSWORD; exec psql -w -tAc 'select 1'"]);
    assert_ne!(output.status.code(), Some(0), "psql without PGPASSWORD");

    vault.stop_and_check_log();
}

#[test]
fn the_commands_exit_status_passes_through() {
    let Some(cluster) = cluster() else { return };
    let vault = Vault::start(cluster);

    assert_eq!(vault.exec(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    assert_eq!(vault.exec(&["true"]).status.code(), Some(0));
    // Killed by a signal: 128 + the signal.
    let output = vault.exec(&["sh", "-c", "kill -KILL $$"]);
    assert_eq!(output.status.code(), Some(128 + 9));
    // Not found, not executable.
    let output = vault.exec(&["/nonexistent/credvault-exec-command"]);
    assert_eq!(output.status.code(), Some(127));
    assert!(stderr(&output).contains("cannot run /nonexistent/credvault-exec-command"));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let output = vault.exec(&[script.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(126));

    vault.stop_and_check_log();
}

#[test]
fn signals_are_passed_on_to_the_command_and_awaited() {
    let Some(cluster) = cluster() else { return };
    let vault = Vault::start(cluster);
    // The command signals credvault (its parent); credvault passes the signal on, so the command
    // dies of it instead of sleeping on, and credvault reports that (128 + n).
    for (signal, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let output = vault.exec(&["sh", "-c", &format!("kill -{signal} $PPID; exec sleep 15")]);
        assert_eq!(output.status.code(), Some(128 + number), "SIG{signal}");
    }
    vault.stop_and_check_log();
}

#[test]
fn the_command_gets_the_credential_and_not_the_vaults_identity() {
    let Some(cluster) = cluster() else { return };
    let vault = Vault::start(cluster);

    let output = vault.exec(&["env"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let environment = environment(&output);
    for name in ["CREDVAULT_CLIENT_SECRET", "CREDVAULT_CLIENT_ID"] {
        assert!(!environment.contains_key(name), "the command sees {name}");
    }
    assert!(
        environment.get("PGPASSWORD") == Some(&vault.password),
        "PGPASSWORD is the credential's password"
    );
    assert_eq!(environment["PGUSER"], vault.user);
    assert_eq!(environment["PGHOST"], "127.0.0.1");
    assert_eq!(environment["PGPORT"], cluster.port.to_string());
    assert_eq!(environment["PGDATABASE"], cluster.database);
    assert_eq!(environment["CREDVAULT_CREDENTIAL_ID"], vault.granted);
    assert!(environment["DATABASE_URL"].starts_with("postgresql://"));
    let stray: Vec<&String> = environment
        .iter()
        .filter(|(_, value)| value.contains(&vault.client_secret))
        .map(|(name, _)| name)
        .collect();
    assert!(stray.is_empty(), "the client secret is in {stray:?}");
    assert_eq!(vault.leaks(&output.stderr), Vec::<&str>::new());

    // Neither the command's command line nor credvault's (its parent's) holds a secret.
    let output = vault.exec(&[
        "sh",
        "-c",
        "cat /proc/$$/cmdline; echo; cat /proc/$PPID/cmdline",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout(&output);
    assert!(lines.contains("exec"), "credvault's command line is read");
    assert_eq!(vault.leaks(&output.stdout), Vec::<&str>::new());

    vault.stop_and_check_log();
}

#[test]
fn exec_fails_with_125_saying_why() {
    let Some(cluster) = cluster() else { return };
    let vault = Vault::start(cluster);

    // No grant of use of this credential.
    let output = vault.exec_with(&vault.not_granted, &vault.client_secret, &["true"]);
    assert_eq!(output.status.code(), Some(125), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.starts_with("credvault exec: "), "{message}");
    assert!(message.contains("(HTTP 403;"), "{message}");
    assert_eq!(vault.leaks(&output.stderr), Vec::<&str>::new());

    // A wrong client secret: the token request fails, and says so.
    let wrong = format!("{}x", vault.client_secret);
    let output = vault.exec_with(&vault.granted, &wrong, &["true"]);
    assert_eq!(output.status.code(), Some(125));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(message.contains("(HTTP 401;"), "{message}");
    assert!(message.contains("requesting an access token"), "{message}");
    assert!(!message.contains(&wrong), "the secret sent is not printed");

    // An unknown credential of the team.
    let output = vault.exec_with(
        "0192f3a4-0000-7000-8000-00000000abcd",
        &vault.client_secret,
        &["true"],
    );
    assert_eq!(output.status.code(), Some(125));
    assert!(
        stderr(&output).contains("(HTTP 404;"),
        "{}",
        stderr(&output)
    );

    // After the grant is revoked, the use is refused.
    let (status, grants) = get(&vault, &format!("{}/grants", credential_path(&vault)));
    assert_eq!(status, 200);
    let grant_id = grants["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        grants["items"][0]["service_account_id"],
        vault.account_id.as_str()
    );
    let status = delete(
        &vault,
        &format!("{}/grants/{grant_id}", credential_path(&vault)),
    );
    assert!(status == 204 || status == 200, "revoked: {status}");
    let output = vault.exec(&["true"]);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        stderr(&output).contains("(HTTP 403;"),
        "{}",
        stderr(&output)
    );

    // No client credentials at all.
    let mut exec = credvault("sqlite://unused.db");
    let output = exec
        .args([
            "exec",
            "--url",
            &vault.server.base_url,
            "--credential",
            &vault.granted,
        ])
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(stderr(&output).contains("CREDVAULT_CLIENT_ID is not set"));

    vault.stop_and_check_log();
}

fn credential_path(vault: &Vault) -> String {
    format!(
        "/api/v1/teams/{}/integrations/{}",
        vault.team_id, vault.granted
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into()
}

fn get(vault: &Vault, path: &str) -> (u16, Value) {
    let mut response = agent()
        .get(format!("{}{path}", vault.server.base_url))
        .header("authorization", format!("Bearer {}", vault.owner_token))
        .call()
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn delete(vault: &Vault, path: &str) -> u16 {
    agent()
        .delete(format!("{}{path}", vault.server.base_url))
        .header("authorization", format!("Bearer {}", vault.owner_token))
        .call()
        .expect("the server answers")
        .status()
        .as_u16()
}
