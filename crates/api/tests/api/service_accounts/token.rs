//! `POST /api/v1/auth/token`: the client credentials grant (RFC 6749 §4.4), its errors (§5.2),
//! and what the issued token may do.

use chrono::{DateTime, TimeDelta, Utc};
use credvault_crypto::TokenHash;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};
use crate::service_accounts::{
    SignedIn, TOKEN_PATH, access_token, account_path, accounts_path, basic, create_account,
    create_client_credential, credential_path, exchange_basic, exchange_in_body,
    percent_encode_all, text, token_request, with_token,
};

/// Asserts an RFC 6749 §5.2 error and returns its body.
fn oauth_error(response: &TestResponse, status: u16, error: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body
}

fn invalid_client(response: &TestResponse) -> Value {
    let body = oauth_error(response, 401, "invalid_client");
    assert_eq!(
        response.header("www-authenticate"),
        Some("Basic realm=\"credvault\"")
    );
    body
}

fn authenticates(app: &TestApp, token: &str, at: DateTime<Utc>) -> bool {
    app.state
        .store
        .authenticate(&TokenHash::of(token).to_hex(), at)
        .unwrap()
        .is_some()
}

backend_tests! {
    fn basic_and_body_authentication_both_issue_a_working_token(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential = create_client_credential(&app, &account_id, "ci");
        let (client_id, secret) = (text(&credential, "client_id"), text(&credential, "client_secret"));

        let by_basic = exchange_basic(&app, &client_id, &secret);
        assert_eq!(by_basic.status, 200, "{}", by_basic.body);
        assert_eq!(by_basic.header("content-type"), Some("application/json"));
        assert_eq!(by_basic.header("cache-control"), Some("no-store"));
        assert_eq!(by_basic.header("pragma"), Some("no-cache"));
        let body = by_basic.json();
        assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
        assert_eq!(body["team_id"], app.team.id.to_string(), "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let basic_token = text(&body, "access_token");
        assert!(basic_token.starts_with("cva_") && basic_token.len() == 47, "{basic_token}");

        let by_body = exchange_in_body(&app, &client_id, &secret);
        assert_eq!(by_body.status, 200, "{}", by_body.body);
        let body_token = text(&by_body.json(), "access_token");

        // RFC 6749 §2.3.1: each half of the Basic credentials is form-url-encoded first.
        let encoded = basic(&percent_encode_all(&client_id), &percent_encode_all(&secret));
        let by_encoded_basic = token_request(
            &app,
            "grant_type=client_credentials&scope=anything+at+all",
            &[("authorization", &encoded), ("content-type", "application/x-www-form-urlencoded; charset=UTF-8")],
        );
        assert_eq!(by_encoded_basic.status, 200, "{}", by_encoded_basic.body);
        let encoded_token = text(&by_encoded_basic.json(), "access_token");

        assert_ne!(basic_token, body_token);
        assert_ne!(basic_token, encoded_token);
        for token in [&basic_token, &body_token, &encoded_token] {
            let listed = with_token(&app, token, "GET", &app.integrations(), None);
            assert_eq!(listed.status, 200, "{}", listed.body);
            // Valid now, expired after `expires_in`.
            assert!(authenticates(&app, token, Utc::now()));
            assert!(!authenticates(&app, token, Utc::now() + TimeDelta::seconds(3601)));
        }
        // A token is not a client secret and vice versa.
        with_token(&app, &secret, "GET", &app.integrations(), None).problem(401);
        invalid_client(&exchange_basic(&app, &client_id, &basic_token));
    }

    fn a_wrong_secret_and_an_unknown_client_get_the_same_invalid_client(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential = create_client_credential(&app, &account_id, "ci");
        let (client_id, secret) = (text(&credential, "client_id"), text(&credential, "client_secret"));
        let mut wrong_secret = secret.clone();
        wrong_secret.pop();
        wrong_secret.push(if secret.ends_with('A') { 'B' } else { 'A' });

        let reference = invalid_client(&exchange_basic(&app, &client_id, &wrong_secret));
        let failures = [
            exchange_basic(&app, "cvc_no_such_client", &secret),
            exchange_basic(&app, &client_id, ""),
            exchange_basic(&app, &secret, &client_id),
            exchange_in_body(&app, &client_id, &wrong_secret),
            exchange_in_body(&app, "cvc_no_such_client", &wrong_secret),
            // No client authentication at all, or half of it.
            token_request(&app, "grant_type=client_credentials", &[]),
            token_request(&app, &format!("grant_type=client_credentials&client_id={client_id}"), &[]),
            // Only Basic authenticates a client here.
            token_request(&app, "grant_type=client_credentials", &[("authorization", &format!("Bearer {secret}"))]),
        ];
        for (index, failure) in failures.iter().enumerate() {
            assert_eq!(invalid_client(failure), reference, "failure {index}");
        }
        for failure in &failures {
            assert!(!failure.body.contains(&secret));
            assert!(!failure.body.contains(&client_id));
        }
        // The failures did not count as a use.
        let unused = app.owner.get(&credential_path(&app, &account_id, &text(&credential, "id")));
        assert_eq!(unused.json()["last_used_at"], Value::Null);
    }

    fn malformed_token_requests_are_invalid_request(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential = create_client_credential(&app, &account_id, "ci");
        let (client_id, secret) = (text(&credential, "client_id"), text(&credential, "client_secret"));
        let authorization = basic(&client_id, &secret);
        let both = format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");

        let malformed = [
            // Client credentials twice: HTTP Basic and the body.
            token_request(&app, &both, &[("authorization", &authorization)]),
            token_request(&app, &format!("grant_type=client_credentials&client_secret={secret}"), &[("authorization", &authorization)]),
            // No grant type; a parameter without a value counts as omitted.
            token_request(&app, "", &[("authorization", &authorization)]),
            token_request(&app, "grant_type=&scope=x", &[("authorization", &authorization)]),
            // A repeated parameter.
            token_request(&app, "grant_type=client_credentials&grant_type=client_credentials", &[("authorization", &authorization)]),
            token_request(&app, &format!("{both}&client_id={client_id}"), &[]),
            // Not a form.
            app.anonymous.send_json("POST", TOKEN_PATH, &[("authorization", &authorization)], &json!({"grant_type": "client_credentials"})),
            token_request(&app, "grant_type=client_credentials", &[("authorization", &authorization), ("content-type", "application/x-www-form-urlencoded; charset=latin1")]),
            token_request(&app, "grant_type=client_credentials&scope=%zz", &[("authorization", &authorization)]),
            // Basic credentials that do not decode.
            token_request(&app, "grant_type=client_credentials", &[("authorization", "Basic !!not-base64!!")]),
            token_request(&app, "grant_type=client_credentials", &[("authorization", "Basic bm8tY29sb24=")]),
        ];
        for (index, response) in malformed.iter().enumerate() {
            let body = oauth_error(response, 400, "invalid_request");
            assert!(!response.body.contains(&secret), "request {index}: {body}");
        }
        assert!(malformed[0].json()["error_description"].as_str().unwrap().contains("both"));
        assert!(malformed[2].json()["error_description"].as_str().unwrap().contains("grant_type"));
        let unused = app.owner.get(&credential_path(&app, &account_id, &text(&credential, "id")));
        assert_eq!(unused.json()["last_used_at"], Value::Null);

        // A body over the limit is a 413 problem, as everywhere else.
        let huge = format!("grant_type=client_credentials&scope={}", "s".repeat(70 * 1024));
        token_request(&app, &huge, &[("authorization", &authorization)]).problem(413);
    }

    fn an_unsupported_grant_type_is_refused(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential = create_client_credential(&app, &account_id, "ci");
        let authorization = basic(&text(&credential, "client_id"), &text(&credential, "client_secret"));
        for grant in ["password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"] {
            let response = token_request(&app, &format!("grant_type={grant}"), &[("authorization", &authorization)]);
            let body = oauth_error(&response, 400, "unsupported_grant_type");
            assert!(response.header("www-authenticate").is_none(), "{body}");
        }
    }

    fn exchanging_a_credential_sets_its_last_used_at(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential = create_client_credential(&app, &account_id, "ci");
        let path = credential_path(&app, &account_id, &text(&credential, "id"));
        assert_eq!(app.owner.get(&path).json()["last_used_at"], Value::Null);

        access_token(&app, &text(&credential, "client_id"), &text(&credential, "client_secret"));
        let used = app.owner.get(&path).json();
        let last_used_at: DateTime<Utc> = text(&used, "last_used_at").parse().unwrap();
        let created_at: DateTime<Utc> = text(&used, "created_at").parse().unwrap();
        assert!(last_used_at >= created_at, "{used}");
        // Listing shows it too, and a PATCH keeps it.
        let listed = app.owner.get(&format!("{}/credentials", account_path(&app, &account_id))).json();
        assert_eq!(listed["items"][0]["last_used_at"], used["last_used_at"]);
        let patched = app.owner.patch_json(&path, &json!({"name": "renamed"})).json();
        assert_eq!(patched["last_used_at"], used["last_used_at"]);
    }

    fn a_service_account_token_acts_with_the_accounts_role(db: &TestDb) {
        let app = TestApp::spawn(db);
        let stripe = json!({"provider": "stripe", "kind": "api_key", "name": "billing",
                            "extra_data": {"api_key": "sk-robot"}});
        let member = SignedIn::new(&app, "member");
        let listed = with_token(&app, &member.token, "GET", &app.integrations(), None);
        assert_eq!(listed.status, 200, "{}", listed.body);
        with_token(&app, &member.token, "POST", &app.integrations(), Some(&stripe)).problem(403);
        let accounts = with_token(&app, &member.token, "GET", &accounts_path(&app), None);
        assert_eq!(accounts.status, 200, "{}", accounts.body);
        with_token(&app, &member.token, "POST", &accounts_path(&app), Some(&json!({"name": "x"}))).problem(403);

        let owner = SignedIn::new(&app, "owner");
        let created = with_token(&app, &owner.token, "POST", &app.integrations(), Some(&stripe));
        assert_eq!(created.status, 201, "{}", created.body);
        // The audit trail names the account's principal as the actor.
        assert_eq!(created.json()["created_by"], owner.account["principal_id"]);
        let events = app.events(&text(&created.json(), "id"));
        assert_eq!(events[0]["actor"]["id"], owner.account["principal_id"]);
        assert_eq!(events[0]["actor"]["type"], "service_account");

        // Only in its own team.
        let other_team = format!("/api/v1/teams/{}/integrations", app.other_team.label);
        with_token(&app, &owner.token, "GET", &other_team, None).problem(404);
        with_token(&app, &owner.token, "POST", &other_team, Some(&stripe)).problem(404);
    }

    fn the_client_request_id_must_be_a_uuid_on_these_routes(db: &TestDb) {
        let app = TestApp::spawn(db);
        let signed_in = SignedIn::new(&app, "member");
        let client_id = text(&signed_in.credential, "client_id");
        let secret = text(&signed_in.credential, "client_secret");
        let authorization = basic(&client_id, &secret);
        let bad = ("x-client-request-id", "not-a-uuid");
        let credential_url = credential_path(&app, &signed_in.account_id(), &signed_in.credential_id());

        let refused = [
            token_request(&app, "grant_type=client_credentials", &[("authorization", &authorization), bad]),
            app.owner.send("GET", &accounts_path(&app), &[bad], None),
            app.owner.send_json("POST", &accounts_path(&app), &[bad], &json!({"name": "x"})),
            app.owner.send_json("PATCH", &credential_url, &[bad], &json!({"name": "x"})),
            app.owner.send("DELETE", &credential_url, &[bad], None),
        ];
        for response in &refused {
            let problem = response.problem(400);
            assert!(problem["detail"].as_str().unwrap().contains("X-Client-Request-ID"), "{problem}");
        }
        // Nothing happened: the credential is unchanged and still works.
        assert_eq!(app.owner.get(&credential_url).json()["name"], "main");
        assert_eq!(app.owner.get(&accounts_path(&app)).json()["items"].as_array().unwrap().len(), 1);

        let request_id = uuid::Uuid::new_v4().to_string();
        let echoed = [
            token_request(&app, "grant_type=client_credentials", &[("authorization", &authorization), ("x-client-request-id", &request_id)]),
            token_request(&app, "grant_type=password", &[("authorization", &authorization), ("x-client-request-id", &request_id)]),
            app.owner.send_json("PATCH", &credential_url, &[("x-client-request-id", &request_id)], &json!({"name": "y"})),
            app.owner.send("GET", &accounts_path(&app), &[("x-client-request-id", &request_id)], None),
        ];
        assert_eq!(echoed[0].status, 200, "{}", echoed[0].body);
        assert_eq!(echoed[1].status, 400, "{}", echoed[1].body);
        assert_eq!(echoed[2].status, 200, "{}", echoed[2].body);
        for response in &echoed {
            assert_eq!(response.header("x-request-id"), Some(request_id.as_str()));
        }
    }
}
