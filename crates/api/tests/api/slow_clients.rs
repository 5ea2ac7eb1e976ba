//! Slow clients: a body that stops arriving is cut off at the body deadline (`408`), and one
//! principal's (or address's) slow requests cannot take the in-flight slots of everybody else.

use std::time::Duration;

use credvault_api::Settings;
use credvault_persistence::testing::TestDb;

use crate::helpers::{RawConnection, TestApp};

/// Starts a PATCH of `path` that announces 100 body bytes and sends one.
fn stalled_patch(app: &TestApp, path: &str, token: &str) -> RawConnection {
    let mut connection = RawConnection::open(app.address);
    connection.send(
        format!(
            "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            app.address
        )
        .as_bytes(),
    );
    connection
}

credvault_persistence::backend_tests! {
    fn a_body_that_stops_arriving_gets_408_and_the_connection_is_closed(db: &TestDb) {
        let settings = Settings {
            body_timeout: Duration::from_secs(1),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let credential = app.create_postgres("Warehouse", "first-pw");
        let id = credential["id"].as_str().unwrap();

        let mut stalled = stalled_patch(&app, &app.credential(id), app.owner.token().unwrap());
        let response = stalled.read_response();
        let problem = response.problem(408);
        assert_eq!(problem["type"], "https://credvault.dev/problems/request-timeout");
        assert_eq!(response.header("connection"), Some("close"));
        assert!(stalled.is_closed_by_server());

        // Nothing was written.
        let stored = app.owner.get(&app.credential(id)).json();
        assert_eq!(stored["version"], 1);
        assert_eq!(stored["name"], "Warehouse");
    }

    fn a_body_sent_in_time_is_not_cut_off(db: &TestDb) {
        let settings = Settings {
            body_timeout: Duration::from_secs(30),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let credential = app.create_postgres("Warehouse", "first-pw");
        let path = app.credential(credential["id"].as_str().unwrap());
        let body = br#"{"name": "Renamed"}"#;
        let mut connection = RawConnection::open(app.address);
        connection.send(
            format!(
                "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                app.address,
                app.owner.token().unwrap(),
                body.len()
            )
            .as_bytes(),
        );
        // The body comes in two parts with a pause between them.
        connection.send(&body[..5]);
        std::thread::sleep(Duration::from_millis(200));
        connection.send(&body[5..]);
        let response = connection.read_response();
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.json()["name"], "Renamed");
    }

    fn one_principal_with_its_share_of_stalled_requests_cannot_starve_another_team(db: &TestDb) {
        let settings = Settings {
            rate_limit: None,
            max_in_flight: 4,
            max_in_flight_per_client: 2,
            body_timeout: Duration::from_secs(3600),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let credential = app.create_postgres("Warehouse", "first-pw");
        let path = app.credential(credential["id"].as_str().unwrap());
        let token = app.owner.token().unwrap().to_owned();

        // The owner tries to hold every slot of the server with bodies that never finish. Its
        // first two are admitted: each is counted in flight before the next is sent (a request
        // is admitted or refused before it is counted as in flight for longer than an instant).
        let mut admitted = Vec::new();
        for expected in [2, 3] {
            admitted.push(stalled_patch(&app, &path, &token));
            poll("the stalled request to be in flight", || {
                (in_flight(&app) == expected).then_some(())
            });
        }
        // The others are refused at once, before their bodies are waited for.
        let mut refusals = Vec::new();
        for _ in 0..2 {
            refusals.push(stalled_patch(&app, &path, &token).read_response());
        }
        refusals.push(app.owner.get(&path));
        for response in &refusals {
            let problem = response.problem(429);
            assert_eq!(problem["type"], "https://credvault.dev/problems/too-many-in-flight");
            assert_eq!(response.header("retry-after"), Some("1"));
        }

        // Another team and another principal of the same team are served.
        let other_team = format!("/api/v1/teams/{}/integrations", app.other_team.label);
        assert_eq!(app.outsider.get(&other_team).status, 200);
        assert_eq!(app.member.get(&path).status, 200);
        // Without a token, the address has a share of its own.
        assert_eq!(app.anonymous.get(&path).status, 401);
        assert_eq!(app.anonymous.get("/healthz").status, 200);

        // Finishing one stalled request gives the slot back.
        drop(admitted.pop());
        poll("the owner's slot to come back", || {
            (app.owner.get(&path).status == 200).then_some(())
        });
    }

    fn the_in_flight_bound_counts_the_operational_paths(db: &TestDb) {
        let settings = Settings {
            rate_limit: None,
            max_in_flight: 1,
            max_in_flight_per_client: 0,
            body_timeout: Duration::from_secs(3600),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let credential = app.create_postgres("Warehouse", "first-pw");
        let path = app.credential(credential["id"].as_str().unwrap());
        let token = app.owner.token().unwrap().to_owned();
        let mut stalled = stalled_patch(&app, &path, &token);
        for operational in ["/healthz", "/readyz", "/metrics"] {
            let refused = poll(operational, || {
                // A probe that took the only slot first had the stalled request refused.
                if stalled.answered() {
                    stalled = stalled_patch(&app, &path, &token);
                }
                let response = app.anonymous.get(operational);
                (response.status != 200).then_some(response)
            });
            let problem = refused.problem(503);
            assert_eq!(problem["type"], "https://credvault.dev/problems/overloaded");
        }
        drop(stalled);
        poll("the slot to come back", || {
            (app.anonymous.get("/healthz").status == 200).then_some(())
        });
    }
}

/// The server's `credvault_http_requests_in_flight`, which counts the `/metrics` request too.
fn in_flight(app: &TestApp) -> u64 {
    let text = app.anonymous.get("/metrics").body;
    text.lines()
        .find_map(|line| line.strip_prefix("credvault_http_requests_in_flight "))
        .unwrap()
        .parse()
        .unwrap()
}

/// Calls `attempt` until it returns something, for at most 30 seconds.
fn poll<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_operation_with_a_body_documents_408() {
    let document = serde_json::to_value(credvault_api::openapi_document()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["requestBody"].is_object() {
                assert!(
                    operation["responses"]["408"].is_object(),
                    "{method} {path} lacks 408"
                );
            }
        }
    }
}
