//! Floods: the per-principal and per-address rate limits (`429`) and the in-flight bound (`503`).
//!
//! The limits here refill once an hour, so that no test depends on how fast the machine is: the
//! burst is the whole budget of the test.

use std::time::{Duration, Instant};

use credvault_api::Settings;
use credvault_api::throttle::RateLimit;
use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::{Client, RawConnection, TestApp, TestResponse};

const BURST: u32 = 5;

fn limited(db: &TestDb) -> TestApp {
    let settings = Settings {
        rate_limit: Some(RateLimit {
            burst: BURST.try_into().unwrap(),
            replenish_interval: Duration::from_secs(3600),
        }),
        ..Settings::default()
    };
    TestApp::spawn_with_settings(db.store().clone(), settings)
}

/// Asserts a `429` problem with a whole-seconds `Retry-After` of at least 1.
fn assert_rate_limited(response: &TestResponse) {
    let problem = response.problem(429);
    assert_eq!(
        problem["type"], "https://credvault.dev/problems/rate-limited",
        "{problem}"
    );
    let retry_after = response.header("retry-after").unwrap_or_default();
    let retry_after: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {retry_after:?}"));
    assert!(retry_after >= 1);
}

/// Sends `BURST` requests that must pass, then one that must be refused.
fn exhaust(client: &Client, path: &str, allowed_status: u16) {
    for attempt in 1..=BURST {
        let response = client.get(path);
        assert_eq!(
            response.status, allowed_status,
            "request {attempt} of the burst: {}",
            response.body
        );
    }
    assert_rate_limited(&client.get(path));
}

credvault_persistence::backend_tests! {
    fn a_principal_over_its_limit_gets_429_and_other_principals_do_not(db: &TestDb) {
        let app = limited(db);
        exhaust(&app.owner, &app.integrations(), 200);
        // Every kind of request of that principal is refused now, not only the one it repeated.
        let created = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "stripe", "kind": "api_key", "name": "Billing"}),
        );
        assert_rate_limited(&created);

        assert_eq!(app.member.get(&app.integrations()).status, 200);
        let other_team = format!("/api/v1/teams/{}/integrations", app.other_team.label);
        assert_eq!(app.outsider.get(&other_team).status, 200);
        assert_eq!(app.anonymous.get(&app.integrations()).status, 401);
    }

    fn requests_without_a_valid_token_are_limited_by_address(db: &TestDb) {
        let app = limited(db);
        // The owner's token is looked up while the address is within its budget (the lookup
        // costs the address one request), and cached.
        assert_eq!(app.owner.get(&app.integrations()).status, 200);
        for attempt in 1..BURST {
            let response = app.anonymous.get(&app.integrations());
            assert_eq!(response.status, 401, "request {attempt}: {}", response.body);
        }
        assert_rate_limited(&app.anonymous.get(&app.integrations()));
        // Unknown tokens from the same address share its budget, so tokens cannot be guessed
        // at full speed.
        let guesser = Client::new(app.owner.base_url(), Some("cvt_not-a-token".to_owned()));
        assert_rate_limited(&guesser.get(&app.integrations()));
        assert_rate_limited(&app.anonymous.get("/openapi.json"));

        // Principals are keyed by themselves, not by their (shared) address.
        assert_eq!(app.owner.get(&app.integrations()).status, 200);
        // A token that is not cached is refused before the store is asked: a valid one too
        // (it would otherwise be charged to its principal and answered 200).
        assert_rate_limited(&app.member.get(&app.integrations()));
        // Health checks and metrics stay reachable for the load balancer and monitoring.
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert_eq!(app.anonymous.get(path).status, 200, "{path}");
        }
    }

    fn no_limit_when_the_rate_is_zero(db: &TestDb) {
        let settings = Settings {
            rate_limit: RateLimit::per_second(0, 0),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        for _ in 0..(3 * BURST) {
            assert_eq!(app.anonymous.get(&app.integrations()).status, 401);
        }
    }

    fn requests_beyond_the_in_flight_bound_get_503_at_once(db: &TestDb) {
        let settings = Settings {
            rate_limit: None,
            max_in_flight: 1,
            max_in_flight_per_client: 0,
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let credential = app.create_postgres("Warehouse", "first-pw");
        let path = app.credential(credential["id"].as_str().unwrap());

        // A PATCH whose body never finishes arriving stays in flight as long as its connection.
        // A request sent meanwhile may take the only slot first and have it refused: then it
        // is sent again.
        let token = app.owner.token().unwrap().to_owned();
        let stalled_patch = || {
            let mut connection = RawConnection::open(app.address);
            connection.send(
                format!(
                    "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
                     Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\"",
                    app.address
                )
                .as_bytes(),
            );
            connection
        };
        let mut stalled = stalled_patch();
        let refused = poll(|| {
            if stalled.answered() {
                stalled = stalled_patch();
            }
            let response = app.member.get(&path);
            (response.status != 200).then_some(response)
        });
        let problem = refused.problem(503);
        assert_eq!(problem["type"], "https://credvault.dev/problems/overloaded");
        assert_eq!(refused.header("retry-after"), Some("1"));

        drop(stalled);
        poll(|| (app.member.get(&path).status == 200).then_some(()));
    }
}

/// Calls `attempt` until it returns something, for at most 30 seconds.
fn poll<T>(mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_limited_operation_documents_429_with_retry_after() {
    let document = serde_json::to_value(credvault_api::openapi_document()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
                assert!(responses["429"].is_null(), "{method} {path} is exempt");
                continue;
            }
            let too_many = &responses["429"];
            assert!(
                too_many["headers"]["Retry-After"].is_object(),
                "{method} {path} lacks a documented 429 with Retry-After"
            );
            assert!(
                too_many["content"]["application/problem+json"].is_object(),
                "{method} {path}"
            );
            assert!(responses["503"].is_object(), "{method} {path} lacks 503");
        }
    }
}
