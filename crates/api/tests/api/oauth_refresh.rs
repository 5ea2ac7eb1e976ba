//! The refresh of OAuth tokens on use, through HTTP on both backends, against a real OAuth 2.0
//! token server on loopback (`credvault_probe::testing::OAuthServer`): refresh near expiry,
//! rotation stored, concurrent uses redeem once (on one instance and on two over one database),
//! `invalid_grant` and transient failures in words, and a token URL the policy refuses.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use credvault_api::Settings;
use credvault_crypto::KeyRing;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use credvault_probe::testing::oauth_server::OAuthServer;
use serde_json::{Value, json};

use crate::helpers::{Client, Instance, TestApp, TestResponse, loopback_probe_settings};
use crate::service_accounts::{SignedIn, text};

const CLIENT_ID: &str = "drive-client";
const CLIENT_SECRET: &str = "drive-client-secret";
const SEEDED: &str = "rt-seeded-0001";

/// Settings whose token requests (and connection tests) may reach the token server on loopback
/// over plain http.
fn settings() -> Settings {
    let mut settings = loopback_probe_settings();
    settings.probe.oauth_http_hosts = vec!["127.0.0.1".to_owned()];
    settings.probe.timeout = Duration::from_secs(2);
    settings
}

/// A server, its token endpoint, a Google OAuth credential whose access token expires in
/// `expires_in` (refresh token [`SEEDED`]), and a service account granted its use.
struct Setup {
    app: TestApp,
    tokens: OAuthServer,
    id: String,
    robot: Client,
}

fn setup(db: &TestDb, expires_in: TimeDelta) -> Setup {
    let app = TestApp::spawn_with_settings(db.store().clone(), settings());
    let tokens = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    tokens.seed_refresh_token(SEEDED);
    let id = create_drive(&app, &tokens.token_url(), expires_in);
    let robot = SignedIn::new(&app, "member");
    let granted = app.owner.post_json(
        &format!("{}/grants", app.credential(&id)),
        &json!({"service_account_id": robot.account_id()}),
    );
    assert_eq!(granted.status, 201, "{}", granted.body);
    let robot = Client::new(app.owner.base_url(), Some(robot.token));
    Setup {
        app,
        tokens,
        id,
        robot,
    }
}

fn create_drive(app: &TestApp, token_url: &str, expires_in: TimeDelta) -> String {
    let expires_at = (Utc::now() + expires_in).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({
            "provider": "google", "kind": "google_oauth", "name": "Drive",
            "extra_data": {
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token_url": token_url,
                "access_token": "at-stored", "refresh_token": SEEDED, "expires_at": expires_at,
            }
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    text(&created.json(), "id")
}

fn use_it(client: &Client, app: &TestApp, id: &str) -> TestResponse {
    client.send("POST", &format!("{}/use", app.credential(id)), &[], None)
}

fn access_token(response: &TestResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.body);
    text(&response.json()["secrets"], "access_token")
}

fn actions(app: &TestApp, id: &str) -> Vec<String> {
    app.events(id)
        .iter()
        .map(|event| text(event, "action"))
        .collect()
}

fn credential(app: &TestApp, id: &str) -> Value {
    let response = app.owner.get(&app.credential(id));
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

backend_tests! {
    fn a_use_near_expiry_refreshes_first_and_the_rotation_is_stored(db: &TestDb) {
        let Setup { app, tokens, id, robot } = setup(db, TimeDelta::minutes(2));
        let before = app.owner.get(&app.credential(&id));
        let etag = before.header("etag").unwrap().to_owned();

        let token = access_token(&use_it(&robot, &app, &id));
        assert_ne!(token, "at-stored");
        assert!(tokens.issued_access_token(&token), "the token server issued {token}");
        assert_eq!(tokens.redemptions(SEEDED), 1);
        let rotated = app.stored_secret(&id, "refresh_token").unwrap();
        assert_ne!(rotated, SEEDED);
        assert!(tokens.refresh_token_is_valid(&rotated), "the rotated token is the one stored");

        let after = app.owner.get(&app.credential(&id));
        assert_eq!(after.header("etag"), Some(etag.as_str()), "a refresh keeps the ETag");
        let body = after.json();
        assert_eq!(body["status"], "connected");
        assert_eq!(body["health"]["status"], "healthy");
        let expires_at = chrono::DateTime::parse_from_rfc3339(body["extra_data"]["expires_at"].as_str().unwrap()).unwrap();
        assert!(expires_at > Utc::now() + TimeDelta::minutes(50));
        assert_eq!(actions(&app, &id), ["created", "use_granted", "refreshed", "used"]);
        let refreshed = &app.events(&id)[2];
        assert_eq!(refreshed["actor"]["type"], "system");
        assert!(!refreshed.to_string().contains(&token), "events never hold a token");

        // The token is fresh now: the next use asks nobody.
        assert_eq!(access_token(&use_it(&robot, &app, &id)), token);
        assert_eq!(tokens.total_redemptions(), 1);
        // The owner's If-Match from before the refresh still works.
        let patched = app.owner.send_json(
            "PATCH",
            &app.credential(&id),
            &[("If-Match", etag.as_str())],
            &json!({"name": "Drive (team)"}),
        );
        assert_eq!(patched.status, 200, "{}", patched.body);
    }

    fn twenty_concurrent_uses_redeem_the_refresh_token_once(db: &TestDb) {
        let Setup { app, tokens, id, robot } = setup(db, TimeDelta::seconds(30));
        tokens.set_delay(Duration::from_millis(300));
        let answers: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|_| scope.spawn(|| access_token(&use_it(&robot, &app, &id))))
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        assert_eq!(tokens.requests(), 1, "one token request in all");
        assert_eq!(tokens.requests(), 1, "one token request in all");
        assert_eq!(tokens.redemptions(SEEDED), 1);
        assert!(answers.iter().all(|token| token == &answers[0]), "{answers:?}");
        assert!(tokens.issued_access_token(&answers[0]));
    }

    fn invalid_grant_expires_the_credential_with_a_readable_note(db: &TestDb) {
        let Setup { app, tokens, id, robot } = setup(db, TimeDelta::minutes(-1));
        tokens.set_invalid_grant(true);
        let refused = use_it(&robot, &app, &id);
        let problem = refused.problem(409);
        assert!(problem["type"].as_str().unwrap().ends_with("/reconnect-required"), "{problem}");
        let detail = text(&problem, "detail");
        assert!(detail.contains("Google refused the refresh token"), "{detail}");
        assert!(detail.contains("Reconnect"), "{detail}");
        assert!(!refused.body.contains(SEEDED), "the token the server echoed is masked");
        let body = credential(&app, &id);
        assert_eq!(body["status"], "expired");
        assert_eq!(body["health"]["status"], "error");
        assert_eq!(body["health"]["notes"][0], detail.as_str());
        assert!(!body.to_string().contains(SEEDED));

        // Parked: further uses ask nobody, until a client writes the credential.
        let requests = tokens.requests();
        assert_eq!(use_it(&robot, &app, &id).status, 409);
        assert_eq!(tokens.requests(), requests, "no retry storm");
        tokens.set_invalid_grant(false);
        tokens.seed_refresh_token("rt-reconnected");
        let reconnected = app.owner.patch_json(
            &app.credential(&id),
            &json!({"extra_data": {"refresh_token": "rt-reconnected"}}),
        );
        assert_eq!(reconnected.status, 200, "{}", reconnected.body);
        let token = access_token(&use_it(&robot, &app, &id));
        assert!(tokens.issued_access_token(&token));
        assert_eq!(credential(&app, &id)["status"], "connected");
        assert!(credential(&app, &id)["health"]["notes"].as_array().unwrap().is_empty());
    }

    fn a_transient_failure_degrades_health_and_keeps_a_valid_token_in_use(db: &TestDb) {
        let Setup { app, tokens, id, robot } = setup(db, TimeDelta::minutes(2));
        tokens.fail_next(503, 1);
        assert_eq!(access_token(&use_it(&robot, &app, &id)), "at-stored");
        let body = credential(&app, &id);
        assert_eq!(body["health"]["status"], "degraded");
        let note = body["health"]["notes"][0].as_str().unwrap().to_owned();
        assert!(note.contains("503"), "{note}");
        assert!(note.contains("tries again at"), "{note}");
        assert_eq!(body["status"], "credentials_saved", "one failure changes no status");
        assert_eq!(actions(&app, &id), ["created", "use_granted", "refresh_failed", "used"]);

        // During the backoff a use sends nothing and still gets the valid token.
        let requests = tokens.requests();
        assert_eq!(access_token(&use_it(&robot, &app, &id)), "at-stored");
        assert_eq!(tokens.requests(), requests);
    }

    fn an_expired_token_that_cannot_be_refreshed_for_now_is_a_503_with_retry_after(db: &TestDb) {
        let Setup { app, tokens, id, robot } = setup(db, TimeDelta::minutes(-5));
        tokens.fail_next(500, 1);
        let unavailable = use_it(&robot, &app, &id);
        let problem = unavailable.problem(503);
        assert!(
            problem["type"].as_str().unwrap().ends_with("/token-refresh-unavailable"),
            "{problem}"
        );
        assert!(unavailable.header("retry-after").is_some());
        assert!(!unavailable.body.contains("at-stored"), "an expired token is not released");
        assert_eq!(actions(&app, &id), ["created", "use_granted", "refresh_failed"]);
    }

    fn a_token_url_on_a_denied_address_is_refused_and_nothing_is_sent(db: &TestDb) {
        let Setup { app, robot, .. } = setup(db, TimeDelta::minutes(-1));
        // Outside the loopback the settings allow; and plain http to a host not allowed.
        for token_url in ["https://10.20.30.40/token", "http://localhost.invalid/token"] {
            let id = create_drive(&app, token_url, TimeDelta::minutes(-1));
            let grant = app.owner.post_json(
                &format!("{}/grants", app.credential(&id)),
                &json!({"service_account_id": robot_account(&app)}),
            );
            assert_eq!(grant.status, 201, "{}", grant.body);
            let refused = use_it(&robot, &app, &id);
            assert_eq!(refused.status, 409, "{}", refused.body);
            let detail = text(&refused.problem(409), "detail");
            assert!(detail.contains("may not send the refresh request"), "{detail}");
            assert_eq!(credential(&app, &id)["health"]["status"], "error");
        }
    }
}

/// The id of the one service account of `app`'s team.
fn robot_account(app: &TestApp) -> String {
    let listed = app.owner.get(&format!(
        "/api/v1/teams/{}/service-accounts",
        app.team.label
    ));
    text(&listed.json()["items"][0], "id")
}

/// PostgreSQL: uses spread over two instances of one database redeem the refresh token once.
#[test]
fn postgres_uses_on_two_instances_redeem_the_refresh_token_once() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let Setup {
        app,
        tokens,
        id,
        robot,
    } = setup(&db, TimeDelta::seconds(30));
    tokens.set_delay(Duration::from_millis(300));
    let store = credvault_persistence::Store::open(
        db.url(),
        &credvault_persistence::StoreOptions {
            pool_size: 4,
            connection_timeout: Duration::from_secs(30),
            ..credvault_persistence::StoreOptions::default()
        },
    )
    .unwrap();
    let other = Instance::with_key_ring(store, KeyRing::for_testing(), settings());
    let robot_there = Client::new(&other.base, robot.token().map(str::to_owned));
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .flat_map(|_| {
                [
                    scope.spawn(|| access_token(&use_it(&robot, &app, &id))),
                    scope.spawn(|| access_token(&use_it(&robot_there, &app, &id))),
                ]
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    assert_eq!(tokens.requests(), 1, "one token request in all");
    assert_eq!(tokens.redemptions(SEEDED), 1);
    assert!(
        answers.iter().all(|token| token == &answers[0]),
        "{answers:?}"
    );
}
