//! Every error is problem+json with the right status (SPEC §7).

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::TestApp;

backend_tests! {
    fn malformed_json_is_400(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-bad-json");
        let id = created["id"].as_str().unwrap();
        for bad in [&b"{\"name\": "[..], b"", b"not json", b"{\"a\":1}}"] {
            let response = app.owner.send(
                "PATCH", &app.credential(id), &[("content-type", "application/json")], Some(bad),
            );
            let problem = response.problem(400);
            assert_eq!(problem["type"], "https://credvault.dev/problems/bad-request");
        }
        let response = app.owner.send(
            "POST", &app.integrations(), &[("content-type", "application/json")], Some(b"[1,"),
        );
        response.problem(400);
    }

    fn a_body_that_is_not_an_object_is_422(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(&app.integrations(), &json!([1, 2]));
        assert_eq!(response.error_fields(), ["body"]);
    }

    fn no_or_an_unknown_token_is_401_with_a_bearer_challenge(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.anonymous.get(&app.integrations());
        response.problem(401);
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));

        let response = app.anonymous.send(
            "GET", &app.integrations(), &[("authorization", "Bearer cvt_not_a_real_token")], None,
        );
        response.problem(401);
        assert!(response.header("www-authenticate").unwrap().starts_with("Bearer"));

        let response = app.anonymous.send(
            "POST", &app.integrations(), &[("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")], Some(b"{}"),
        );
        response.problem(401);
    }

    fn a_body_over_64_kib_is_413(db: &TestDb) {
        let app = TestApp::spawn(db);
        let body = json!({"provider": "stripe", "kind": "api_key", "name": "big",
                          "extra_data": {"api_key": "sk-big"}, "metadata": {"blob": "x".repeat(70 * 1024)}});
        let response = app.owner.post_json(&app.integrations(), &body);
        let problem = response.problem(413);
        assert_eq!(problem["type"], "https://credvault.dev/problems/payload-too-large");
        assert_eq!(problem["title"], "Content Too Large");
        assert_eq!(app.owner.get(&app.integrations()).json()["items"], json!([]));
    }

    fn a_body_that_is_not_json_is_415(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-415");
        let id = created["id"].as_str().unwrap();
        for content_type in [Some("text/plain"), Some("application/xml"), Some("application/json; charset=latin1"), None] {
            let headers: Vec<(&str, &str)> = content_type.map(|value| ("content-type", value)).into_iter().collect();
            let response = app.owner.send("PATCH", &app.credential(id), &headers, Some(b"{\"name\":\"x\"}"));
            response.problem(415);
        }
        for content_type in ["application/json; charset=utf-8", "application/merge-patch+json", "Application/JSON"] {
            let response = app.owner.send(
                "PATCH", &app.credential(id), &[("content-type", content_type)], Some(b"{\"name\":\"y\"}"),
            );
            assert_eq!(response.status, 200, "{content_type}: {}", response.body);
        }
    }

    fn an_invalid_create_lists_every_failing_field(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "",
                    "extra_data": {"host": "db.internal", "username": "etl", "port": 70000,
                                   "db_password": "x", "password": "pw"}}),
        );
        let mut fields = response.error_fields();
        fields.sort();
        assert_eq!(fields, ["extra_data.db_password", "extra_data.port", "name"]);
        let problem = response.json();
        assert_eq!(problem["type"], "https://credvault.dev/problems/validation");
        assert_eq!(problem["title"], "Unprocessable Content");
        for error in problem["errors"].as_array().unwrap() {
            assert!(error["message"].as_str().is_some_and(|message| !message.is_empty()));
        }
        assert_eq!(app.owner.get(&app.integrations()).json()["items"], json!([]));
    }

    fn the_client_request_id_is_echoed_and_must_be_a_uuid(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = "0192f3a4-1b2c-7d3e-8f40-0000000000c1";
        let response = app.owner.send("GET", &app.integrations(), &[("x-client-request-id", id)], None);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-request-id"), Some(id));

        let generated = app.owner.get(&app.integrations());
        let generated_id = generated.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(generated_id).is_ok());

        let bad = app.owner.send("GET", &app.integrations(), &[("x-client-request-id", "req-42")], None);
        let problem = bad.problem(400);
        assert!(problem["detail"].as_str().unwrap().contains("X-Client-Request-ID"));

        // Errors carry the client's id too.
        let missing = app.anonymous.send("GET", &app.integrations(), &[("x-client-request-id", id)], None);
        assert_eq!(missing.problem(401)["request_id"], id);
    }

    fn an_unknown_route_is_a_404_problem(db: &TestDb) {
        let app = TestApp::spawn(db);
        app.owner.get("/api/v1/nothing-here").problem(404);
        app.anonymous.get("/").problem(404);
    }

    fn a_malformed_idempotency_key_is_400(db: &TestDb) {
        let app = TestApp::spawn(db);
        let long_key = "k".repeat(300);
        let response = app.owner.send_json(
            "POST", &app.integrations(), &[("idempotency-key", long_key.as_str())],
            &json!({"provider": "stripe", "kind": "api_key", "name": "x", "extra_data": {"api_key": "sk-x"}}),
        );
        response.problem(400);
    }
}
