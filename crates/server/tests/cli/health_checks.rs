//! Scheduled health checks by the upkeep worker of `credvault serve`, against the real SCRAM
//! PostgreSQL cluster of the connection tests: a credential with `health_check_interval_seconds`
//! becomes `connected` without anyone asking for a test, one with a wrong password becomes
//! `error`, and one without an interval is left alone; on a SQLite and a PostgreSQL store.

use std::time::Duration;

use credvault_domain::ids::CredentialId;
use credvault_probe::testing::cluster::{ScramCluster, scram_cluster};
use credvault_probe::testing::servers_required;
use serde_json::{Value, json};

use crate::credvault;
use crate::harness::{ApiClient, ServerProcess, new_key, wait_for};

/// The cluster, or `None` after saying why the test skips.
fn cluster() -> Option<&'static ScramCluster> {
    match scram_cluster() {
        Ok(cluster) => Some(cluster),
        Err(reason) if !servers_required() => {
            eprintln!("skipped: {reason}");
            None
        }
        Err(reason) => panic!("the SCRAM cluster is required: {reason}"),
    }
}

fn database(cluster: &ScramCluster, name: &str, password: &str, interval: Option<u32>) -> Value {
    let mut body = json!({
        "provider": "postgresql", "kind": "user_password", "name": name,
        "extra_data": {"host": "127.0.0.1", "port": cluster.port, "database": cluster.database,
                       "username": cluster.user, "password": password}
    });
    if let Some(seconds) = interval {
        body["health_check_interval_seconds"] = json!(seconds);
    }
    body
}

fn body(client: &ApiClient, id: CredentialId) -> Value {
    let reply = client.get(id).expect("the server answers");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

fn events(client: &ApiClient, id: CredentialId) -> Vec<Value> {
    let reply = client.events(id).expect("the server answers");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// The whole scenario on the store at `database_url`.
fn scheduled_checks_record_health(database_url: &str) {
    let Some(cluster) = cluster() else { return };
    let mut command = credvault(database_url);
    command
        .env("CREDVAULT_MASTER_KEYS", new_key("k1"))
        .env("CREDVAULT_PROBE_ALLOW", "127.0.0.1/32")
        .env("CREDVAULT_UPKEEP_INTERVAL_SECONDS", "1");
    let server = ServerProcess::start(command);
    let client = ApiClient::new(
        &server.base_url,
        "demo",
        &server.demo_token(),
        Duration::from_secs(20),
    );
    let healthy = client.create(database(cluster, "Checked", &cluster.password, Some(60)));
    let wrong = "not-the-password";
    let failing = client.create(database(cluster, "Wrong password", wrong, Some(60)));
    let unscheduled = client.create(database(cluster, "Unchecked", &cluster.password, None));
    let created = body(&client, healthy);
    assert_eq!(created["health_check_interval_seconds"], 60);
    assert_eq!(created["status"], "credentials_saved");
    assert_eq!(
        body(&client, unscheduled)["health_check_interval_seconds"],
        Value::Null
    );

    let checked = wait_for(
        "the worker to check the credential",
        Duration::from_secs(60),
        || {
            let now = body(&client, healthy);
            (now["status"] != "credentials_saved").then_some(now)
        },
    );
    assert_eq!(checked["status"], "connected", "{checked}");
    assert_eq!(checked["health"]["status"], "healthy", "{checked}");
    assert!(checked["health"]["checked_at"].is_string(), "{checked}");
    // Server-owned state: no new version.
    assert_eq!(checked["version"], created["version"]);
    let trail = events(&client, healthy);
    let tested = trail.last().unwrap();
    assert_eq!(tested["action"], "tested", "{trail:?}");
    assert_eq!(tested["actor"]["type"], "system", "{tested}");
    assert_eq!(tested["changed_fields"], json!(["status", "health"]));

    let failed = wait_for(
        "the worker to check the wrong password",
        Duration::from_secs(60),
        || {
            let now = body(&client, failing);
            (now["status"] != "credentials_saved").then_some(now)
        },
    );
    assert_eq!(failed["status"], "error", "{failed}");
    assert_eq!(failed["health"]["status"], "error", "{failed}");
    let note = failed["health"]["notes"][0].as_str().unwrap();
    assert!(!note.is_empty(), "{failed}");
    assert!(!note.contains(wrong), "no secret in the note: {note}");
    let trail = events(&client, failing);
    assert_eq!(trail.last().unwrap()["actor"]["type"], "system");

    let metrics = wait_for(
        "the metrics to count both checks",
        Duration::from_secs(10),
        || {
            let text = client.get_text("/metrics");
            (counter(&text, "credvault_upkeep_health_checks_total") >= 2).then_some(text)
        },
    );
    // Each is checked once: the next check is a minute away.
    assert_eq!(
        counter(&metrics, "credvault_upkeep_health_checks_total"),
        2,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "credvault_upkeep_health_check_failures_total"),
        1,
        "{metrics}"
    );

    // A few rounds later the one without an interval is still as it was: never tested.
    let seen = counter(&metrics, "credvault_upkeep_rounds_total");
    wait_for("two more rounds", Duration::from_secs(15), || {
        (counter(
            &client.get_text("/metrics"),
            "credvault_upkeep_rounds_total",
        ) >= seen + 2)
            .then_some(())
    });
    let left = body(&client, unscheduled);
    assert_eq!(left["status"], "credentials_saved", "{left}");
    assert_eq!(left["health"]["status"], "unknown", "{left}");
    assert_eq!(
        events(&client, unscheduled).len(),
        1,
        "only the created event"
    );

    // Turning the interval off is a descriptive change: the health stays.
    let reply = client
        .patch(healthy, json!({"health_check_interval_seconds": null}))
        .expect("the server answers");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["health_check_interval_seconds"], Value::Null);
    assert_eq!(reply.body["status"], "connected");
    // An interval for a kind no connection test reaches is a 422 naming the field.
    let reply = client
        .send_json(
            "POST",
            json!({"provider": "stripe", "kind": "api_key", "name": "Payments",
                   "extra_data": {"api_key": "sk_test_1"}, "health_check_interval_seconds": 60}),
        )
        .expect("the server answers");
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(
        reply.body["errors"][0]["field"],
        "health_check_interval_seconds"
    );

    let log = server.stop();
    assert!(
        !log.contains(&cluster.password) && !log.contains(wrong),
        "no password in the log"
    );
}

#[test]
fn scheduled_health_checks_record_health_without_a_test_request() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vault.db").display());
    scheduled_checks_record_health(&url);
}

mod postgres {
    use credvault_persistence::testing::TestDb;

    #[test]
    fn scheduled_health_checks_record_health_without_a_test_request() {
        let Some(db) = TestDb::postgres_unmigrated() else {
            return;
        };
        super::scheduled_checks_record_health(db.url());
    }
}
