//! `Idempotency-Key` under concurrency: identical requests sent at once, on one instance or two
//! over one database, run once; the others get the first response or a retryable `409`.

use std::sync::Barrier;

use chrono::{TimeDelta, Utc};
use credvault_crypto::KeyRing;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{IDEMPOTENCY_CLAIM_TIMEOUT, Reservation};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestResponse};

/// How many identical requests are sent at once.
const CONCURRENT: usize = 8;

fn stripe_body() -> Value {
    json!({"provider": "stripe", "kind": "api_key", "name": "billing",
           "extra_data": {"api_key": "sk-concurrent-create"}})
}

/// Sends `CONCURRENT` identical requests at once, spread over `clients`, and returns the answers.
fn at_once(
    clients: &[&Client],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Vec<TestResponse> {
    let barrier = Barrier::new(CONCURRENT);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CONCURRENT)
            .map(|index| {
                let client = clients[index % clients.len()];
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    client.send_json(method, path, headers, body)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    })
}

/// Every answer is the same success (status and body) or a `409` asking to retry; returns the
/// success.
fn one_success_or_retry(responses: &[TestResponse], status: u16) -> TestResponse {
    let successes: Vec<&TestResponse> = responses
        .iter()
        .filter(|response| response.status == status)
        .collect();
    assert!(!successes.is_empty(), "no {status} among {responses:?}");
    for response in responses {
        if response.status == status {
            assert_eq!(
                response.body, successes[0].body,
                "two different first responses"
            );
            assert_eq!(response.header("etag"), successes[0].header("etag"));
            assert_eq!(response.header("location"), successes[0].header("location"));
        } else {
            let problem = response.problem(409);
            assert_eq!(
                problem["type"],
                "https://credvault.dev/problems/idempotency-key-in-progress"
            );
            assert_eq!(
                response.header("retry-after"),
                Some("1"),
                "{}",
                response.body
            );
        }
    }
    successes[0].clone()
}

fn credential_count(app: &TestApp) -> usize {
    let listed = app.owner.get(&app.integrations());
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json()["items"].as_array().unwrap().len()
}

backend_tests! {
    fn concurrent_identical_creates_with_one_key_create_one_credential(db: &TestDb) {
        let app = TestApp::spawn(db);
        let key = [("idempotency-key", "concurrent-create")];

        let responses = at_once(&[&app.owner], "POST", &app.integrations(), &key, &stripe_body());

        let first = one_success_or_retry(&responses, 201);
        assert_eq!(credential_count(&app), 1);
        let id = first.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.events(&id).len(), 1);
        // A retry after completion replays the first response byte for byte.
        let retry = app.owner.send_json("POST", &app.integrations(), &key, &stripe_body());
        assert_eq!(retry.status, 201);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("location"), first.header("location"));
        assert_eq!(retry.header("etag"), Some("\"1\""));
        // The same key with another body is refused and writes nothing.
        let mut other_body = stripe_body();
        other_body["name"] = json!("another");
        let reused = app.owner.send_json("POST", &app.integrations(), &key, &other_body);
        assert_eq!(reused.error_fields(), ["Idempotency-Key"]);
        assert_eq!(credential_count(&app), 1);
    }

    fn concurrent_identical_patches_with_one_key_apply_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = app.create_postgres("warehouse", "pw-concurrent")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A conditional update: run twice, the second run would fail with 412.
        let headers = [("idempotency-key", "concurrent-patch"), ("if-match", "\"1\"")];
        let body = json!({"name": "renamed", "extra_data": {"password": "pw-rotated-once"}});

        let responses = at_once(&[&app.owner], "PATCH", &app.credential(&id), &headers, &body);

        let first = one_success_or_retry(&responses, 200);
        assert_eq!(first.json()["version"], 2);
        assert_eq!(app.owner.get(&app.credential(&id)).json()["version"], 2);
        assert_eq!(app.events(&id).len(), 2);
        assert_eq!(app.stored_secret(&id, "password").as_deref(), Some("pw-rotated-once"));
        let retry = app.owner.send_json("PATCH", &app.credential(&id), &headers, &body);
        assert_eq!(retry.status, 200);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("etag"), Some("\"2\""));
    }

    fn two_instances_over_one_database_run_a_keyed_request_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let (_other, other_owner) = app.other_instance(db, KeyRing::for_testing());
        let clients = [&app.owner, &other_owner];
        let key = [("idempotency-key", "scaled-out-create")];

        let created = at_once(&clients, "POST", &app.integrations(), &key, &stripe_body());

        let first = one_success_or_retry(&created, 201);
        assert_eq!(credential_count(&app), 1);
        let id = first.json()["id"].as_str().unwrap().to_owned();
        let retry = other_owner.send_json("POST", &app.integrations(), &key, &stripe_body());
        assert_eq!((retry.status, &retry.body), (201, &first.body));

        let headers = [("idempotency-key", "scaled-out-patch"), ("if-match", "\"1\"")];
        let body = json!({"metadata": {"tier": "gold"}});
        let patched = at_once(&clients, "PATCH", &app.credential(&id), &headers, &body);
        let first_patch = one_success_or_retry(&patched, 200);
        assert_eq!(first_patch.json()["version"], 2);
        assert_eq!(app.events(&id).len(), 2);
        let retry = app.owner.send_json("PATCH", &app.credential(&id), &headers, &body);
        assert_eq!((retry.status, &retry.body), (200, &first_patch.body));
    }

    fn a_key_held_by_a_running_request_is_409_until_its_claim_goes_stale(db: &TestDb) {
        let app = TestApp::spawn(db);
        let body = serde_json::to_vec(&stripe_body()).unwrap();
        let path = app.integrations();
        // Another instance claimed the key for this very request and has not answered yet.
        let fingerprint = app
            .state
            .key_ring
            .fingerprint(&[b"POST", path.as_bytes(), b"", &body]);
        let claim = |key: &str, at| {
            let reservation = app
                .state
                .store
                .reserve_idempotency(
                    app.owner_id(),
                    key,
                    &fingerprint.to_hex(),
                    fingerprint.key_id().as_str(),
                    at,
                )
                .unwrap();
            assert!(matches!(reservation, Reservation::Claimed(_)), "{reservation:?}");
        };
        let send = |key: &str| {
            app.owner.send(
                "POST",
                &path,
                &[("content-type", "application/json"), ("idempotency-key", key)],
                Some(&body),
            )
        };
        claim("running", Utc::now());

        let in_progress = send("running");
        in_progress.problem(409);
        assert_eq!(in_progress.header("retry-after"), Some("1"));
        assert_eq!(credential_count(&app), 0);

        // A holder that died long ago no longer holds its key: the request runs.
        claim("crashed", Utc::now() - IDEMPOTENCY_CLAIM_TIMEOUT - TimeDelta::seconds(5));
        let taken_over = send("crashed");
        assert_eq!(taken_over.status, 201, "{}", taken_over.body);
        assert_eq!(credential_count(&app), 1);
        assert_eq!(send("crashed").body, taken_over.body);
    }

    fn a_failed_keyed_request_releases_its_key(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = app.create_postgres("warehouse", "pw-release")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"name": "renamed"});
        let stale = [("idempotency-key", "patch-after-412"), ("if-match", "\"5\"")];
        app.owner
            .send_json("PATCH", &app.credential(&id), &stale, &body)
            .problem(412);
        // The same key, corrected: the failed attempt stored nothing, so this one runs.
        let corrected = [("idempotency-key", "patch-after-412"), ("if-match", "\"1\"")];
        let applied = app.owner.send_json("PATCH", &app.credential(&id), &corrected, &body);
        assert_eq!(applied.status, 200, "{}", applied.body);
        assert_eq!(applied.json()["version"], 2);
    }

    fn a_dry_run_claims_no_key_but_refuses_a_used_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = app.create_postgres("warehouse", "pw-dry")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = [("idempotency-key", "dry-then-real")];
        let body = json!({"name": "renamed"});
        let dry_path = format!("{}?dry_run=true", app.credential(&id));

        let dry = app.owner.send_json("PATCH", &dry_path, &key, &body);
        assert_eq!(dry.status, 200, "{}", dry.body);
        // Nothing was stored for the dry run: the real request with the key runs.
        let real = app.owner.send_json("PATCH", &app.credential(&id), &key, &body);
        assert_eq!((real.status, &real.json()["version"]), (200, &json!(2)));
        // Now the key belongs to the real request, and a dry run with it is another request.
        let again = app.owner.send_json("PATCH", &dry_path, &key, &body);
        assert_eq!(again.error_fields(), ["Idempotency-Key"]);
    }

    fn a_retry_after_a_key_rotation_still_replays(db: &TestDb) {
        let app = TestApp::spawn(db);
        let key = [("idempotency-key", "across-rotation")];
        let first = app.owner.send_json("POST", &app.integrations(), &key, &stripe_body());
        assert_eq!(first.status, 201, "{}", first.body);

        // An instance configured after the rotation: a new active key, the old one kept.
        let test_key = format!("test:{}", base64_of(b"credvault-test-key-32-bytes-long"));
        let rotated =
            KeyRing::parse(&format!("k2:{},{test_key}", base64_of(&[7; 32]))).unwrap();
        let (_after_rotation, after_rotation) = app.other_instance(db, rotated);
        let retry = after_rotation
            .send_json("POST", &app.integrations(), &key, &stripe_body());
        assert_eq!((retry.status, &retry.body), (201, &first.body));

        // Once the old key has left the configuration the request is no longer recognised.
        let new_key_only = KeyRing::parse(&format!("k2:{}", base64_of(&[7; 32]))).unwrap();
        let (_without_old_key, without_old_key) = app.other_instance(db, new_key_only);
        let unrecognised = without_old_key
            .send_json("POST", &app.integrations(), &key, &stripe_body());
        assert_eq!(unrecognised.error_fields(), ["Idempotency-Key"]);
        assert_eq!(credential_count(&app), 1);
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
