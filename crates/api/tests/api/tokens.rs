//! User tokens under `/api/v1/teams/{team}/tokens`: issued once, listed without the token,
//! revoked at once, expiring; owners only, outsiders see nothing.

use std::time::{Duration, Instant};

use credvault_api::Settings;
use credvault_crypto::TokenHash;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Client, Instance, TestApp, TestResponse};

/// The metadata fields of a user token, sorted.
const TOKEN_FIELDS: [&str; 8] = [
    "created_at",
    "created_by",
    "expires_at",
    "id",
    "last_used_at",
    "name",
    "role",
    "team_id",
];

fn tokens_path(app: &TestApp) -> String {
    format!("/api/v1/teams/{}/tokens", app.team.label)
}

fn token_path(app: &TestApp, id: &str) -> String {
    format!("{}/{id}", tokens_path(app))
}

fn sorted_keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {body}"))
        .to_owned()
}

/// Issues a token in `acme` as its owner; returns the create body (with `token`).
fn issue(app: &TestApp, body: &Value) -> Value {
    let response = app.owner.post_json(&tokens_path(app), body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

fn client_for(app: &TestApp, token: &str) -> Client {
    Client::new(&format!("http://{}", app.address), Some(token.to_owned()))
}

/// A 404 problem body without its request id, which differs on every request.
fn not_found_body(response: &TestResponse) -> Value {
    let mut problem = response.problem(404);
    problem.as_object_mut().unwrap().remove("request_id");
    problem
}

/// The owner's own token in the list: the one with the owner role made by the test set-up.
fn owner_token_id(app: &TestApp) -> String {
    let listed = app.owner.get(&tokens_path(app)).json();
    let owner = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["role"] == "owner" && item["created_by"].is_null())
        .cloned()
        .unwrap();
    text(&owner, "id")
}

backend_tests! {
    fn an_owner_issues_lists_and_revokes_a_user_token(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(
            &tokens_path(&app),
            &json!({"name": " deploy script ", "role": "member", "expires_in": 86400}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("cache-control"), Some("no-store"));
        let body = created.json();
        let id = text(&body, "id");
        assert_eq!(
            created.header("location"),
            Some(format!("/api/v1/teams/{}/tokens/{id}", app.team.id).as_str())
        );
        let mut with_token = TOKEN_FIELDS.map(str::to_owned).to_vec();
        with_token.push("token".to_owned());
        with_token.sort();
        assert_eq!(sorted_keys(&body), with_token);
        let token = text(&body, "token");
        assert!(token.starts_with("cvu_") && token.len() > 40, "{token}");
        assert_eq!(body["name"], "deploy script");
        assert_eq!(body["role"], "member");
        assert_eq!(body["team_id"], app.team.id.to_string());
        assert_eq!(body["last_used_at"], Value::Null);
        assert_eq!(body["created_by"], owner_token_id(&app));
        let created_at: chrono::DateTime<chrono::Utc> = text(&body, "created_at").parse().unwrap();
        let expires_at: chrono::DateTime<chrono::Utc> = text(&body, "expires_at").parse().unwrap();
        // Counted from the request; the store stamps `created_at` a moment later.
        let lifetime = (expires_at - created_at).num_milliseconds();
        assert!((85_000_000..=86_400_000).contains(&lifetime), "{lifetime} ms");

        // The token works with its role: a member reads, and may not write.
        let holder = client_for(&app, &token);
        assert_eq!(holder.get(&app.integrations()).status, 200);
        holder
            .post_json(&app.integrations(), &json!({"provider": "stripe", "kind": "api_key",
                "name": "x", "extra_data": {"api_key": "sk-x"}}))
            .problem(403);

        // Listed and read back without the token or its hash; the use was recorded.
        let mut metadata = body.clone();
        metadata.as_object_mut().unwrap().remove("token");
        let read = app.owner.get(&token_path(&app, &id));
        assert_eq!(read.status, 200, "{}", read.body);
        let read = read.json();
        assert_eq!(sorted_keys(&read), TOKEN_FIELDS);
        assert!(read["last_used_at"].is_string(), "{read}");
        metadata["last_used_at"] = read["last_used_at"].clone();
        assert_eq!(read, metadata);
        let listed = app.owner.get(&tokens_path(&app));
        assert_eq!(listed.status, 200, "{}", listed.body);
        let items = listed.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3, "owner, member and the new token: {items:?}");
        assert_eq!(items.last(), Some(&metadata));
        let hash = TokenHash::of(&token).to_hex();
        for response in [&listed.body, &app.owner.get(&token_path(&app, &id)).body] {
            assert!(!response.contains(&token) && !response.contains(&hash), "{response}");
        }
        assert!(log_lines_never_hold(&token, &hash));

        // Paging follows next_cursor.
        let first = app.owner.get(&format!("{}?limit=2", tokens_path(&app))).json();
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let cursor = text(&first, "next_cursor");
        let second = app
            .owner
            .get(&format!("{}?limit=2&cursor={cursor}", tokens_path(&app)))
            .json();
        assert_eq!(second["items"], json!([metadata]));
        assert_eq!(second["next_cursor"], Value::Null);

        // Revoked: it stops working at once, and is gone.
        let revoked = app.owner.delete(&token_path(&app, &id));
        assert_eq!(revoked.status, 204, "{}", revoked.body);
        holder.get(&app.integrations()).problem(401);
        app.owner.get(&token_path(&app, &id)).problem(404);
        app.owner.delete(&token_path(&app, &id)).problem(404);
        assert_eq!(app.owner.get(&tokens_path(&app)).json()["items"].as_array().unwrap().len(), 2);
    }

    fn an_owner_token_may_issue_owner_tokens_and_revoke_itself(db: &TestDb) {
        let app = TestApp::spawn(db);
        let issued = issue(&app, &json!({"name": "second owner", "role": "owner"}));
        assert_eq!(issued["expires_at"], Value::Null);
        let second = client_for(&app, &text(&issued, "token"));
        let own = second.delete(&token_path(&app, &text(&issued, "id")));
        assert_eq!(own.status, 204, "{}", own.body);
        second.get(&tokens_path(&app)).problem(401);
        assert_eq!(app.owner.get(&tokens_path(&app)).status, 200);
    }

    fn bad_issue_bodies_get_every_failing_field_and_write_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let before = app.owner.get(&tokens_path(&app)).json();
        let all_wrong = app.owner.post_json(
            &tokens_path(&app),
            &json!({"role": "admin", "expires_in": 0, "token": "mine"}),
        );
        assert_eq!(all_wrong.error_fields(), ["token", "name", "role", "expires_in"]);
        let both = app.owner.post_json(
            &tokens_path(&app),
            &json!({"name": "ci", "expires_in": 60, "expires_at": "2099-01-01T00:00:00Z"}),
        );
        assert_eq!(both.error_fields(), ["expires_at"]);
        let past = app.owner.post_json(
            &tokens_path(&app),
            &json!({"name": "ci", "expires_at": "2020-01-01T00:00:00Z"}),
        );
        assert_eq!(past.error_fields(), ["expires_at"]);
        app.owner
            .send("POST", &tokens_path(&app), &[("content-type", "application/json")], Some(b"{"))
            .problem(400);
        app.owner
            .send("POST", &tokens_path(&app), &[("content-type", "text/plain")], Some(b"{}"))
            .problem(415);
        assert_eq!(app.owner.get(&tokens_path(&app)).json(), before);
    }

    fn members_are_forbidden_and_outsiders_see_a_missing_token(db: &TestDb) {
        let app = TestApp::spawn(db);
        let issued = issue(&app, &json!({"name": "ci"}));
        let id = text(&issued, "id");
        let body = json!({"name": "mine"});

        app.member.get(&tokens_path(&app)).problem(403);
        app.member.get(&token_path(&app, &id)).problem(403);
        app.member.post_json(&tokens_path(&app), &body).problem(403);
        app.member.delete(&token_path(&app, &id)).problem(403);
        app.anonymous.get(&tokens_path(&app)).problem(401);

        // An outsider: the real id, a missing id and a malformed id all look the same.
        let missing = token_path(&app, &uuid::Uuid::now_v7().to_string());
        let expected = not_found_body(&app.outsider.get(&missing));
        for response in [
            app.outsider.get(&token_path(&app, &id)),
            app.outsider.get(&token_path(&app, "not-a-uuid")),
            app.outsider.get(&tokens_path(&app)),
            app.outsider.delete(&token_path(&app, &id)),
            app.outsider.post_json(&tokens_path(&app), &body),
            app.outsider.post_json(&tokens_path(&app), &json!({"role": "bogus"})),
        ] {
            assert_eq!(not_found_body(&response), expected);
        }
        // The owner of acme sees globex's tokens as missing too, byte for byte.
        let globex_owner = app.outsider.get(&format!("/api/v1/teams/{}/tokens", app.other_team.label));
        let globex_id = text(&globex_owner.json()["items"][0], "id");
        let other_team = format!("/api/v1/teams/{}/tokens/{globex_id}", app.team.label);
        assert_eq!(not_found_body(&app.owner.get(&other_team)), not_found_body(&app.owner.get(&missing)));
        app.owner.delete(&other_team).problem(404);
        assert_eq!(app.outsider.get(&format!("/api/v1/teams/{}/tokens", app.other_team.label)).status, 200);

        // A service account's principal is not a user token.
        let account = app.owner.post_json(
            &format!("/api/v1/teams/{}/service-accounts", app.team.label),
            &json!({"name": "robot"}),
        );
        let principal = text(&account.json(), "principal_id");
        assert_eq!(not_found_body(&app.owner.delete(&token_path(&app, &principal))), not_found_body(&app.owner.get(&missing)));
        assert_eq!(app.owner.get(&token_path(&app, &id)).status, 200);
    }

    fn an_expired_token_stops_authenticating(db: &TestDb) {
        let app = TestApp::spawn(db);
        let issued = issue(&app, &json!({"name": "short-lived", "expires_in": 1}));
        let holder = client_for(&app, &text(&issued, "token"));
        std::thread::sleep(Duration::from_millis(1500));
        holder.get(&app.integrations()).problem(401);
        // Still listed, with its expiry, until an owner revokes it.
        let read = app.owner.get(&token_path(&app, &text(&issued, "id"))).json();
        assert_eq!(read["expires_at"], issued["expires_at"]);
        assert_eq!(read["last_used_at"], Value::Null);
    }

    fn a_revoked_token_stops_working_on_every_instance(db: &TestDb) {
        let app = TestApp::spawn(db);
        let issued = issue(&app, &json!({"name": "scaled out"}));
        let token = text(&issued, "token");
        let ttl = Settings::default().token_cache_ttl;
        let other = Instance::spawn(app.state.store.clone(), Settings::default());
        let on_other = other.client(&token);
        // Both instances have it cached now.
        let on_this = client_for(&app, &token);
        assert_eq!(on_this.get(&app.integrations()).status, 200);
        assert_eq!(on_other.get(&app.integrations()).status, 200);

        assert_eq!(app.owner.delete(&token_path(&app, &text(&issued, "id"))).status, 204);
        on_this.get(&app.integrations()).problem(401);
        // The other instance forgets it when its cache entry expires: within the time to live.
        let deadline = Instant::now() + ttl + Duration::from_secs(10);
        loop {
            let status = on_other.get(&app.integrations()).status;
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(Instant::now() < deadline, "still accepted {ttl:?} after the revocation");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Whether no captured log line holds the token or its hash.
fn log_lines_never_hold(token: &str, hash: &str) -> bool {
    crate::helpers::log_lines()
        .iter()
        .all(|line| !line.contains(token) && !line.contains(hash))
}
