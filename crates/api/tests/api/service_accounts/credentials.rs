//! Client credentials of service accounts: the secret shown once and stored as a hash, the PATCH
//! of seed 003, scoping to their account, and revocation on delete.

use credvault_crypto::TokenHash;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::service_accounts::{
    access_token, create_account, create_client_credential, credential_path, credentials_path,
    description_of, exchange_basic, text, with_token,
};

/// The fields of a `ServiceAccountCredential` (seed 003), sorted.
const CREDENTIAL_FIELDS: [&str; 6] = [
    "client_id",
    "created_at",
    "description",
    "id",
    "last_used_at",
    "name",
];

/// The keys of a JSON object, sorted.
fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

backend_tests! {
    fn the_client_secret_is_shown_once_and_stored_only_as_a_hash(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let created = app.owner.post_json(
            &credentials_path(&app, &account_id),
            &json!({"name": " ci ", "description": "GitHub Actions"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("cache-control"), Some("no-store"));
        let body = created.json();
        let id = text(&body, "id");
        assert_eq!(
            created.header("location"),
            Some(
                format!(
                    "/api/v1/teams/{}/service-accounts/{account_id}/credentials/{id}",
                    app.team.id
                )
                .as_str()
            )
        );
        let mut expected_keys = CREDENTIAL_FIELDS.map(str::to_owned).to_vec();
        expected_keys.push("client_secret".to_owned());
        expected_keys.sort();
        assert_eq!(keys(&body), expected_keys);
        assert_eq!(body["name"], "ci");
        assert_eq!(body["description"], "GitHub Actions");
        assert_eq!(body["last_used_at"], Value::Null);
        let client_id = text(&body, "client_id");
        let secret = text(&body, "client_secret");
        assert!(client_id.starts_with("cvc_"), "{client_id}");
        // "cvs_" and 43 base64url characters: 256 random bits.
        assert!(secret.starts_with("cvs_") && secret.len() == 47, "{secret}");
        assert_ne!(client_id, secret);

        let fetched = app.owner.get(&credential_path(&app, &account_id, &id));
        assert_eq!(fetched.status, 200, "{}", fetched.body);
        assert_eq!(keys(&fetched.json()), CREDENTIAL_FIELDS);
        let mut without_secret = body.clone();
        without_secret.as_object_mut().unwrap().remove("client_secret");
        assert_eq!(fetched.json(), without_secret);
        let listed = app.owner.get(&credentials_path(&app, &account_id));
        assert_eq!(listed.json()["items"], json!([without_secret]));
        for response in [&fetched, &listed, &app.member.get(&credentials_path(&app, &account_id))] {
            assert!(!response.body.contains(&secret), "{}", response.body);
            assert!(!response.body.contains("client_secret"), "{}", response.body);
        }

        // The database holds the SHA-256 of the secret, never the secret.
        assert!(!db.contains_bytes(secret.as_bytes()));
        assert!(db.contains_bytes(TokenHash::of(&secret).to_hex().as_bytes()));
        // Nor the access tokens issued for it.
        let token = access_token(&app, &client_id, &secret);
        assert!(!db.contains_bytes(token.as_bytes()));
        assert!(db.contains_bytes(TokenHash::of(&token).to_hex().as_bytes()));
    }

    fn patching_a_credential_keeps_omitted_fields_and_null_clears_the_description(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let created = create_client_credential(&app, &account_id, "ci");
        let id = text(&created, "id");
        let path = credential_path(&app, &account_id, &id);
        let mut stored = created.clone();
        stored.as_object_mut().unwrap().remove("client_secret");

        let renamed = app.owner.patch_json(&path, &json!({"name": "ci-main"}));
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(keys(&renamed.json()), CREDENTIAL_FIELDS);
        stored["name"] = json!("ci-main");
        assert_eq!(renamed.json(), stored);

        let described = app
            .owner
            .patch_json(&path, &json!({"description": description_of(500)}));
        stored["description"] = json!(description_of(500));
        assert_eq!(described.json(), stored);

        let cleared = app.owner.patch_json(&path, &json!({"description": null}));
        stored["description"] = Value::Null;
        assert_eq!(cleared.json(), stored);

        let unchanged = app.owner.patch_json(&path, &json!({}));
        assert_eq!(unchanged.status, 200, "{}", unchanged.body);
        assert_eq!(unchanged.json(), stored);

        // Also as a merge patch; both fields at once.
        let both = app.owner.send(
            "PATCH",
            &path,
            &[("content-type", "application/merge-patch+json")],
            Some(br#"{"name": "ci-2", "description": "nightly"}"#),
        );
        stored["name"] = json!("ci-2");
        stored["description"] = json!("nightly");
        assert_eq!(both.json(), stored);

        let too_long = app
            .owner
            .patch_json(&path, &json!({"description": description_of(501)}));
        assert_eq!(too_long.error_fields(), ["description"]);
        let unknown = app.owner.patch_json(
            &path,
            &json!({"client_secret": "mine", "client_id": "mine", "name": ""}),
        );
        assert_eq!(unknown.error_fields(), ["client_id", "client_secret", "name"]);
        assert_eq!(app.owner.get(&path).json(), stored);
        assert_eq!(stored["client_id"], created["client_id"]);
        assert_eq!(stored["created_at"], created["created_at"]);
    }

    fn a_credential_belongs_to_its_own_account_only(db: &TestDb) {
        let app = TestApp::spawn(db);
        let first = text(&create_account(&app, "first", "member"), "id");
        let second = text(&create_account(&app, "second", "member"), "id");
        let credential = create_client_credential(&app, &first, "ci");
        let id = text(&credential, "id");

        let wrong_account = credential_path(&app, &second, &id);
        app.owner.get(&wrong_account).problem(404);
        app.owner.patch_json(&wrong_account, &json!({"name": "moved"})).problem(404);
        app.owner.delete(&wrong_account).problem(404);
        assert_eq!(app.owner.get(&credentials_path(&app, &second)).json()["items"], json!([]));
        assert_eq!(app.owner.get(&credential_path(&app, &first, &id)).json()["name"], "ci");

        let create_body = app.owner.post_json(&credentials_path(&app, &second), &json!({}));
        assert_eq!(create_body.error_fields(), ["name"]);
        let long = app.owner.post_json(
            &credentials_path(&app, &second),
            &json!({"name": "x", "description": description_of(501)}),
        );
        assert_eq!(long.error_fields(), ["description"]);
    }

    fn deleting_a_credential_revokes_its_tokens_at_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let revoked = create_client_credential(&app, &account_id, "old");
        let kept = create_client_credential(&app, &account_id, "new");
        let revoked_token = access_token(&app, &text(&revoked, "client_id"), &text(&revoked, "client_secret"));
        let kept_token = access_token(&app, &text(&kept, "client_id"), &text(&kept, "client_secret"));
        // Use both tokens, so that the server has them in its token cache (5 s by default).
        for token in [&revoked_token, &kept_token] {
            for _ in 0..2 {
                let response = with_token(&app, token, "GET", &app.integrations(), None);
                assert_eq!(response.status, 200, "{}", response.body);
            }
        }

        let deleted = app.owner.delete(&credential_path(&app, &account_id, &text(&revoked, "id")));
        assert_eq!(deleted.status, 204, "{}", deleted.body);

        // Right away, well within the cache's lifetime.
        with_token(&app, &revoked_token, "GET", &app.integrations(), None).problem(401);
        let still = with_token(&app, &kept_token, "GET", &app.integrations(), None);
        assert_eq!(still.status, 200, "{}", still.body);
        let exchange = exchange_basic(&app, &text(&revoked, "client_id"), &text(&revoked, "client_secret"));
        assert_eq!(exchange.status, 401, "{}", exchange.body);
        assert_eq!(exchange.json()["error"], "invalid_client");
        app.owner
            .get(&credential_path(&app, &account_id, &text(&revoked, "id")))
            .problem(404);
        let remaining = app.owner.get(&credentials_path(&app, &account_id)).json();
        assert_eq!(remaining["items"].as_array().unwrap().len(), 1);
        assert_eq!(remaining["items"][0]["id"], kept["id"]);
    }
}
