//! HTTP semantics: `HEAD` (RFC 9110 §9.3.2), `If-Match` (§13.1.1), one `Authorization` header,
//! and request `Content-Encoding` (§8.4, §15.5.16).

use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::{Client, RawConnection, TestApp, TestResponse};

/// `HEAD path` on a connection of its own, with the client's token.
fn head(app: &TestApp, client: &Client, path: &str) -> TestResponse {
    let mut connection = RawConnection::open(app.address);
    let authorization = client
        .token()
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    connection.send(
        format!(
            "HEAD {path} HTTP/1.1\r\nHost: {}\r\n{authorization}X-Client-Request-ID: \
             0192f0c1-0000-7000-8000-000000000001\r\n\r\n",
            app.address
        )
        .as_bytes(),
    );
    let response = connection.read_head_response();
    // No body follows the head: the next bytes would be the answer to a next request.
    connection.send(
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            app.address
        )
        .as_bytes(),
    );
    let next = connection.read_response();
    assert_eq!(
        next.status, 200,
        "a body followed the HEAD answer: {}",
        next.body
    );
    response
}

/// The headers of a `GET` that `HEAD` must repeat, without those that differ per request.
fn comparable_headers(response: &TestResponse) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .filter(|(name, _)| !["date", "x-request-id", "transfer-encoding"].contains(&name.as_str()))
        .cloned()
        .collect();
    headers.sort();
    headers
}

fn patch_with_if_match(app: &TestApp, id: &str, if_match: &str, name: &str) -> TestResponse {
    app.owner.send_json(
        "PATCH",
        &app.credential(id),
        &[("if-match", if_match)],
        &json!({"name": name}),
    )
}

credvault_persistence::backend_tests! {
    fn head_answers_wherever_get_does_with_the_same_headers_and_no_body(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("Warehouse", "pw-head");
        let path = app.credential(created["id"].as_str().unwrap());
        let request_id = [("x-client-request-id", "0192f0c1-0000-7000-8000-000000000001")];

        for (client, path, status) in [
            (&app.owner, path.as_str(), 200),
            (&app.owner, app.integrations().as_str(), 200),
            (&app.member, path.as_str(), 200),
            (&app.outsider, path.as_str(), 404),
            (&app.anonymous, path.as_str(), 401),
            (&app.anonymous, "/healthz", 200),
            (&app.anonymous, "/openapi.json", 200),
        ] {
            let got = client.send("GET", path, &request_id, None);
            let headed = head(&app, client, path);
            assert_eq!(got.status, status, "GET {path}: {}", got.body);
            assert_eq!(headed.status, status, "HEAD {path}");
            assert_eq!(comparable_headers(&headed), comparable_headers(&got), "HEAD {path}");
        }
        // The outsider's 404 is the missing id's 404.
        let missing = app.credential("0192f0c1-0000-7000-8000-00000000dead");
        assert_eq!(
            comparable_headers(&head(&app, &app.outsider, &path)),
            comparable_headers(&head(&app, &app.owner, &missing))
        );

        // A path without GET still says which methods it has.
        let refused = head(&app, &app.anonymous, "/api/v1/auth/token");
        assert_eq!(refused.status, 405);
        assert_eq!(refused.header("allow"), Some("POST"));
        let allow = app.owner.send("PUT", &path, &[], None);
        assert_eq!(allow.header("allow"), Some("GET, DELETE, HEAD, PATCH"));
    }

    fn if_match_uses_the_strong_comparison_over_a_list(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("Warehouse", "pw-if-match");
        let id = created["id"].as_str().unwrap();

        // A weak tag never matches, even the current version.
        let weak = patch_with_if_match(&app, id, "W/\"1\"", "weak");
        assert_eq!(weak.problem(412)["current_version"], 1);
        // A list matches if any member does.
        let listed = patch_with_if_match(&app, id, "\"10\", \"1\"", "listed");
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.header("etag"), Some("\"2\""));
        let stale_list = patch_with_if_match(&app, id, "\"10\", \"1\"", "stale");
        assert_eq!(stale_list.problem(412)["current_version"], 2);
        // Tags that are no version are well-formed and do not match.
        let other = patch_with_if_match(&app, id, "\"02\", \"abc\"", "other");
        assert_eq!(other.problem(412)["current_version"], 2);
        // `*` matches the existing credential, and only an existing one.
        let any = patch_with_if_match(&app, id, "*", "any");
        assert_eq!(any.status, 200, "{}", any.body);
        let missing = app.credential("0192f0c1-0000-7000-8000-00000000dead");
        let missing = app.owner.send_json(
            "PATCH", &missing, &[("if-match", "*")], &json!({"name": "x"}),
        );
        missing.problem(404);
        // Several headers form one list.
        let headers = app.owner.send_json(
            "PATCH",
            &app.credential(id),
            &[("if-match", "\"1\""), ("if-match", "\"3\"")],
            &json!({"name": "two headers"}),
        );
        assert_eq!(headers.status, 200, "{}", headers.body);

        for malformed in ["3", "W/3", "\"3", "*, \"3\"", "\"3\" \"4\""] {
            let response = patch_with_if_match(&app, id, malformed, "malformed");
            response.problem(400);
        }
        let stored = app.owner.get(&app.credential(id)).json();
        assert_eq!(stored["name"], "two headers");
        assert_eq!(stored["version"], 4);

        // Another team's credential is a 404 whatever the condition says.
        let foreign = app.outsider.send_json(
            "PATCH", &app.credential(id), &[("if-match", "\"1\", \"2\"")], &json!({"name": "x"}),
        );
        foreign.problem(404);
    }

    fn two_authorization_headers_are_400(db: &TestDb) {
        let app = TestApp::spawn(db);
        let owner = format!("Bearer {}", app.owner.token().unwrap());
        let member = format!("Bearer {}", app.member.token().unwrap());
        for path in [app.integrations(), "/api/v1/auth/token".to_owned()] {
            let response = app.anonymous.send(
                "GET",
                &path,
                &[("authorization", &owner), ("authorization", &member)],
                None,
            );
            let problem = response.problem(400);
            assert!(problem["detail"].as_str().unwrap().contains("Authorization"), "{problem}");
        }
        // The same token twice is no better.
        let twice = app.anonymous.send(
            "GET", &app.integrations(), &[("authorization", &owner), ("authorization", &owner)], None,
        );
        twice.problem(400);
    }

    fn a_content_encoded_body_is_415_naming_identity(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("Warehouse", "pw-encoding");
        let id = created["id"].as_str().unwrap();
        for encoding in ["gzip", "br", "deflate", "identity, gzip"] {
            let response = app.owner.send(
                "PATCH",
                &app.credential(id),
                &[("content-type", "application/json"), ("content-encoding", encoding)],
                Some(br#"{"name": "encoded"}"#),
            );
            let problem = response.problem(415);
            assert_eq!(
                problem["type"], "https://credvault.dev/problems/unsupported-content-encoding",
                "{encoding}"
            );
            assert_eq!(response.header("accept-encoding"), Some("identity"), "{encoding}");
        }
        assert_eq!(app.owner.get(&app.credential(id)).json()["version"], 1);

        let identity = app.owner.send(
            "PATCH",
            &app.credential(id),
            &[("content-type", "application/json"), ("content-encoding", "identity")],
            Some(br#"{"name": "plain"}"#),
        );
        assert_eq!(identity.status, 200, "{}", identity.body);
    }
}
