//! The upkeep worker of `credvault serve`, against a real OAuth 2.0 token server on loopback: it
//! refreshes tokens that are due and leaves the others alone, reports it in `/metrics`, and
//! several instances over one PostgreSQL refresh each due token once.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use credvault_domain::ids::CredentialId;
use credvault_persistence::testing::TestDb;
use credvault_probe::testing::oauth_server::OAuthServer;
use serde_json::{Value, json};

use crate::credvault;
use crate::harness::{ApiClient, ServerProcess, new_key, wait_for};

const CLIENT_ID: &str = "worker-client";
const CLIENT_SECRET: &str = "worker-client-secret";

/// `credvault serve` over `database_url` whose token requests may reach the loopback token
/// server, with a round every second.
fn server(database_url: &str, key: &str, batch: u32) -> ServerProcess {
    let mut command = credvault(database_url);
    command
        .env("CREDVAULT_MASTER_KEYS", key)
        .env("CREDVAULT_PROBE_ALLOW", "127.0.0.1/32")
        .env("CREDVAULT_OAUTH_HTTP_HOSTS", "127.0.0.1")
        .env("CREDVAULT_UPKEEP_INTERVAL_SECONDS", "1")
        .env("CREDVAULT_UPKEEP_BATCH", batch.to_string());
    ServerProcess::start(command)
}

/// A Google OAuth credential whose access token expires in `expires_in`.
fn oauth(
    client: &ApiClient,
    tokens: &OAuthServer,
    name: &str,
    expires_in: TimeDelta,
) -> CredentialId {
    let refresh_token = format!("rt-{name}");
    tokens.seed_refresh_token(&refresh_token);
    let expires_at = (Utc::now() + expires_in).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    client.create(json!({
        "provider": "google", "kind": "google_oauth", "name": name,
        "extra_data": {
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "token_url": tokens.token_url(), "access_token": format!("at-{name}"),
            "refresh_token": refresh_token, "expires_at": expires_at,
        }
    }))
}

fn body(client: &ApiClient, id: CredentialId) -> Value {
    let reply = client.get(id).expect("the server answers");
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

#[test]
fn the_worker_refreshes_due_tokens_and_leaves_the_others_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vault.db").display());
    let tokens = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    let server = server(&url, &new_key("k1"), 50);
    let client = ApiClient::new(
        &server.base_url,
        "demo",
        &server.demo_token(),
        Duration::from_secs(10),
    );
    let soon = oauth(&client, &tokens, "soon", TimeDelta::minutes(3));
    let later = oauth(&client, &tokens, "later", TimeDelta::hours(3));
    let later_before = body(&client, later);

    let refreshed = wait_for(
        "the worker to refresh the due token",
        Duration::from_secs(30),
        || {
            let now = body(&client, soon);
            (now["status"] == "connected").then_some(now)
        },
    );
    assert_eq!(refreshed["health"]["status"], "healthy");
    assert_eq!(tokens.redemptions("rt-soon"), 1);
    let expires_at = refreshed["extra_data"]["expires_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires_at).unwrap()
            > Utc::now() + TimeDelta::minutes(50),
        "{expires_at}"
    );
    let metrics = wait_for(
        "the metrics to count the refresh",
        Duration::from_secs(10),
        || {
            let text = client.get_text("/metrics");
            text.contains("credvault_upkeep_refreshed_total 1")
                .then_some(text)
        },
    );
    assert!(
        metrics.contains("credvault_upkeep_token_request_failures_total 0"),
        "{metrics}"
    );

    // A few rounds later the other one is still as it was, and asked nobody.
    let rounds = |text: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix("credvault_upkeep_rounds_total "))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    let seen = rounds(&metrics);
    wait_for("two more rounds", Duration::from_secs(15), || {
        (rounds(&client.get_text("/metrics")) >= seen + 2).then_some(())
    });
    assert_eq!(body(&client, later), later_before);
    assert_eq!(tokens.redemptions("rt-later"), 0);
    assert_eq!(tokens.total_redemptions(), 1);
    let log = server.stop();
    assert!(
        !log.contains("rt-soon") && !log.contains("at-soon"),
        "no token in the log"
    );
}

#[test]
fn postgres_workers_of_two_instances_refresh_each_due_token_once() {
    let Some(db) = TestDb::postgres_unmigrated() else {
        return;
    };
    let key = new_key("k1");
    let tokens = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    tokens.set_delay(Duration::from_millis(100));
    let first = server(db.url(), &key, 2);
    let client = ApiClient::new(
        &first.base_url,
        "demo",
        &first.demo_token(),
        Duration::from_secs(10),
    );
    let ids: Vec<CredentialId> = (0..8)
        .map(|n| oauth(&client, &tokens, &format!("due-{n}"), TimeDelta::minutes(1)))
        .collect();
    let second = server(db.url(), &key, 2);
    wait_for(
        "every due token to be refreshed",
        Duration::from_secs(60),
        || {
            ids.iter()
                .all(|id| body(&client, *id)["status"] == "connected")
                .then_some(())
        },
    );
    for n in 0..8 {
        assert_eq!(tokens.redemptions(&format!("rt-due-{n}")), 1, "due-{n}");
    }
    assert_eq!(tokens.requests(), 8, "no token was asked for twice");
    drop(second);
    drop(first);
}
