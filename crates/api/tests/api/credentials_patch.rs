//! PATCH semantics (SPEC §3), observed through HTTP and, for secrets, through the store and the
//! key ring, since the API never shows a secret.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const MASK: &str = "••••";

fn keystatic(app: &TestApp) -> Value {
    let response = app.owner.post_json(
        &app.integrations(),
        &json!({
            "provider": "keystatic", "kind": "api_key", "name": "Site content",
            "extra_data": {"repository": "acme/site", "branch": "main",
                           "content_paths": {"posts": "content/posts", "pages": "content/pages"},
                           "github_token": "ghp-keystatic-original"}
        }),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

fn key_file(app: &TestApp) -> Value {
    let response = app.owner.post_json(
        &app.integrations(),
        &json!({
            "provider": "sftp", "kind": "key_file", "name": "Partner drop",
            "extra_data": {"host": "sftp.example.com", "username": "etl",
                           "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
                           "passphrase": "pass-phrase-original"}
        }),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

fn nested(depth: usize) -> Value {
    // `{"metadata": {"k": {"k": ... 1}}}` nests exactly `depth` levels.
    let mut value = json!(1);
    for _ in 0..depth - 1 {
        value = json!({ "k": value });
    }
    json!({ "metadata": value })
}

backend_tests! {
    fn blank_null_and_mask_keep_the_stored_secret(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-keep-original");
        let id = created["id"].as_str().unwrap();
        for kept in [json!(""), Value::Null, json!(MASK)] {
            let response = app
                .owner
                .patch_json(&app.credential(id), &json!({"extra_data": {"password": kept}}));
            assert_eq!(response.status, 200, "{}", response.body);
            let body = response.json();
            assert_eq!(body["secrets"], json!({"password": MASK}));
            assert_eq!(body["version"], 1, "keeping a secret is not a change");
            assert!(body["extra_data"].get("password").is_none());
        }
        assert_eq!(app.stored_secret(id, "password").as_deref(), Some("pw-keep-original"));
        assert_eq!(app.events(id).len(), 1);
    }

    fn a_new_secret_replaces_the_stored_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-replace-old");
        let id = created["id"].as_str().unwrap();
        let before = app.stored(id).unwrap().ciphertext.unwrap();
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"extra_data": {"password": "pw-replace-new"}}));
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert_eq!(body["version"], 2);
        assert_eq!(response.header("etag"), Some("\"2\""));
        assert_eq!(body["secrets"], json!({"password": MASK}));
        assert!(body["extra_data"].get("password").is_none());
        assert_eq!(body["extra_data"]["host"], "db.internal", "other fields are kept");
        assert_eq!(body["name"], "warehouse");
        assert_eq!(app.stored_secret(id, "password").as_deref(), Some("pw-replace-new"));
        let after = app.stored(id).unwrap().ciphertext.unwrap();
        assert_ne!(before.bytes, after.bytes);
        let update = app.events(id).pop().unwrap();
        assert_eq!(update["secrets"], json!({"password": "set"}));
    }

    fn nested_extra_data_is_replaced_wholesale(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = keystatic(&app);
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"extra_data": {"content_paths": {"docs": "content/docs"}}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert_eq!(body["extra_data"]["content_paths"], json!({"docs": "content/docs"}));
        assert_eq!(body["extra_data"]["repository"], "acme/site");
        assert_eq!(body["secrets"], json!({"github_token": MASK}));
        assert_eq!(app.stored_secret(id, "github_token").as_deref(), Some("ghp-keystatic-original"));
    }

    fn metadata_follows_rfc_7396(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-metadata");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"metadata": {"team": {"owner": "ana", "cost_center": 7}, "tier": "gold"}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        let response = app.owner.send_json(
            "PATCH",
            &app.credential(id),
            &[("content-type", "application/merge-patch+json")],
            &json!({"metadata": {"team": {"cost_center": null, "pager": "ops"}, "custom_property": null}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(
            response.json()["metadata"],
            json!({"team": {"owner": "ana", "pager": "ops"}, "tier": "gold"})
        );
    }

    fn null_deletes_a_non_secret_key(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-null");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"extra_data": {"database": null}, "description": "nightly", "account_name": null}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert!(body["extra_data"].get("database").is_none());
        assert_eq!(body["extra_data"]["host"], "db.internal");
        assert_eq!(body["description"], "nightly");
        // `null` asks for the derived name (`username@host`), since it is never null.
        assert_eq!(body["account_name"], "etl@db.internal");
        let cleared = app.owner.patch_json(&app.credential(id), &json!({"description": null}));
        assert_eq!(cleared.json()["description"], Value::Null);
    }

    fn provider_and_kind_are_immutable(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-immutable");
        let id = created["id"].as_str().unwrap();
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"provider": "sftp", "kind": "key_file"}));
        assert_eq!(response.error_fields(), ["provider", "kind"]);
        let problem = response.json();
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("create a new credential"), "{message}");
        // Sending the stored values is accepted and changes nothing.
        let same = app
            .owner
            .patch_json(&app.credential(id), &json!({"provider": "postgresql", "kind": "user_password"}));
        assert_eq!(same.status, 200);
        assert_eq!(same.json()["version"], 1);
    }

    fn a_secret_looking_undeclared_key_is_refused_and_nothing_is_written(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-undeclared");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"name": "renamed", "extra_data": {"db_password": "leaky-value", "host": "db9.internal"}}),
        );
        assert_eq!(response.error_fields(), ["extra_data.db_password"]);
        assert!(!response.body.contains("leaky-value"));
        let stored = app.owner.get(&app.credential(id)).json();
        assert_eq!(stored, created, "nothing was written");
        assert_eq!(app.events(id).len(), 1);
    }

    fn every_invalid_field_is_reported_at_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-invalid");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"name": "", "status": "happy",
                    "extra_data": {"port": 70000, "ssl_mode": "sometimes"}}),
        );
        let mut fields = response.error_fields();
        fields.sort();
        assert_eq!(fields, ["extra_data.port", "extra_data.ssl_mode", "name", "status"]);
        // The shape of the body is checked first: unknown keys and wrong types, all at once.
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"colour": "red", "name": 5, "clear_secrets": "password"}),
        );
        let mut fields = response.error_fields();
        fields.sort();
        assert_eq!(fields, ["clear_secrets", "colour", "name"]);
        assert_eq!(app.owner.get(&app.credential(id)).json(), created);
    }

    fn clearing_a_required_secret_is_refused_and_an_optional_one_is_removed(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = key_file(&app);
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["secrets"], json!({"private_key": MASK, "passphrase": MASK}));

        let refused = app
            .owner
            .patch_json(&app.credential(id), &json!({"clear_secrets": ["private_key"]}));
        assert_eq!(refused.error_fields(), ["clear_secrets.private_key"]);
        assert!(app.stored_secret(id, "private_key").is_some());

        let cleared = app
            .owner
            .patch_json(&app.credential(id), &json!({"clear_secrets": ["passphrase"]}));
        assert_eq!(cleared.status, 200, "{}", cleared.body);
        assert_eq!(cleared.json()["secrets"], json!({"private_key": MASK}));
        assert_eq!(cleared.json()["version"], 2);
        assert!(app.stored_secret(id, "passphrase").is_none());
        assert!(app.stored_secret(id, "private_key").unwrap().starts_with("-----BEGIN"));
        let update = app.events(id).pop().unwrap();
        assert_eq!(update["secrets"], json!({"passphrase": "cleared"}));

        let unknown = app
            .owner
            .patch_json(&app.credential(id), &json!({"clear_secrets": ["host"]}));
        assert_eq!(unknown.error_fields(), ["clear_secrets.host"]);
    }

    fn a_connection_change_moves_a_connected_credential_back_to_credentials_saved(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "live",
                    "status": "connected",
                    "extra_data": {"host": "db.internal", "username": "etl", "password": "pw-connected"}}),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        let id = response.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(response.json()["status"], "connected");

        // A descriptive change keeps the status.
        let renamed = app.owner.patch_json(&app.credential(&id), &json!({"name": "live db"}));
        assert_eq!(renamed.json()["status"], "connected");

        let moved = app
            .owner
            .patch_json(&app.credential(&id), &json!({"extra_data": {"host": "db2.internal"}}));
        assert_eq!(moved.status, 200, "{}", moved.body);
        assert_eq!(moved.json()["status"], "credentials_saved");
        assert_eq!(moved.json()["health"]["status"], "unknown");

        // The same request may set the status itself.
        let explicit = app.owner.patch_json(
            &app.credential(&id),
            &json!({"status": "connected", "extra_data": {"password": "pw-connected-2"}}),
        );
        assert_eq!(explicit.json()["status"], "connected");
    }

    fn a_patch_that_changes_nothing_keeps_the_version_and_writes_no_event(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-noop");
        let id = created["id"].as_str().unwrap();
        for body in [
            json!({}),
            json!({"name": "warehouse", "extra_data": {"host": "db.internal", "password": MASK}}),
            json!({"extra_data": {"password": "pw-noop"}}),
            json!({"metadata": {"custom_property": 42}, "status": null}),
        ] {
            let response = app.owner.patch_json(&app.credential(id), &body);
            assert_eq!(response.status, 200, "{}", response.body);
            assert_eq!(response.json(), created, "{body}");
            assert_eq!(response.header("etag"), Some("\"1\""));
        }
        assert_eq!(app.events(id).len(), 1);
    }

    fn if_match_makes_the_update_conditional(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-if-match");
        let id = created["id"].as_str().unwrap();
        let ok = app.owner.send_json(
            "PATCH", &app.credential(id), &[("if-match", "\"1\"")], &json!({"name": "v2"}),
        );
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.header("etag"), Some("\"2\""));

        let stale = app.owner.send_json(
            "PATCH", &app.credential(id), &[("if-match", "\"1\"")], &json!({"name": "v3"}),
        );
        let problem = stale.problem(412);
        assert_eq!(problem["current_version"], 2);
        assert!(problem["detail"].as_str().unwrap().contains('2'));
        assert_eq!(app.owner.get(&app.credential(id)).json()["name"], "v2");

        let malformed = app.owner.send_json(
            "PATCH", &app.credential(id), &[("if-match", "two")], &json!({"name": "v3"}),
        );
        malformed.problem(400);
    }

    fn dry_run_returns_the_would_be_credential_and_writes_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-dry-run");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &format!("{}?dry_run=true", app.credential(id)),
            &json!({"name": "renamed", "extra_data": {"password": "pw-dry-run-new", "port": 6543}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert_eq!(body["name"], "renamed");
        assert_eq!(body["extra_data"]["port"], 6543);
        assert_eq!(body["secrets"], json!({"password": MASK}));
        assert_eq!(body["version"], 1);
        assert_eq!(app.owner.get(&app.credential(id)).json(), created);
        assert_eq!(app.stored_secret(id, "password").as_deref(), Some("pw-dry-run"));
        assert_eq!(app.events(id).len(), 1);

        let invalid = app.owner.patch_json(
            &format!("{}?dry_run=true", app.credential(id)),
            &json!({"extra_data": {"port": 0}}),
        );
        assert_eq!(invalid.error_fields(), ["extra_data.port"]);
    }

    fn an_idempotency_key_replays_the_first_response(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-idempotent");
        let id = created["id"].as_str().unwrap();
        let key = [("idempotency-key", "patch-key-1")];
        let first = app
            .owner
            .send_json("PATCH", &app.credential(id), &key, &json!({"metadata": {"n": 1}}));
        assert_eq!(first.status, 200, "{}", first.body);
        // Another change in between: a replay must still answer with the first response.
        app.owner.patch_json(&app.credential(id), &json!({"name": "changed"}));
        let retry = app
            .owner
            .send_json("PATCH", &app.credential(id), &key, &json!({"metadata": {"n": 1}}));
        assert_eq!(retry.status, 200);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("etag"), Some("\"2\""));
        assert_eq!(app.owner.get(&app.credential(id)).json()["version"], 3);

        let reused = app
            .owner
            .send_json("PATCH", &app.credential(id), &key, &json!({"metadata": {"n": 2}}));
        assert_eq!(reused.error_fields(), ["Idempotency-Key"]);
        assert_eq!(app.owner.get(&app.credential(id)).json()["metadata"]["n"], 1);
    }

    fn an_idempotent_create_creates_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let body = json!({"provider": "stripe", "kind": "api_key", "name": "billing",
                          "extra_data": {"api_key": "sk-idempotent-create"}});
        let key = [("idempotency-key", "create-key-1")];
        let first = app.owner.send_json("POST", &app.integrations(), &key, &body);
        assert_eq!(first.status, 201, "{}", first.body);
        let retry = app.owner.send_json("POST", &app.integrations(), &key, &body);
        assert_eq!(retry.status, 201);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("location"), first.header("location"));
        let listed = app.owner.get(&app.integrations()).json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);

        // A failed request is not remembered: the key can be used again once it is corrected.
        let key = [("idempotency-key", "create-key-2")];
        let invalid = app.owner.send_json("POST", &app.integrations(), &key, &json!({"name": ""}));
        invalid.problem(422);
        let corrected = app.owner.send_json("POST", &app.integrations(), &key, &body);
        assert_eq!(corrected.status, 201);
    }

    fn bodies_deeper_than_32_levels_are_422(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-depth");
        let id = created["id"].as_str().unwrap();
        let at_limit = app.owner.patch_json(&app.credential(id), &nested(32));
        assert_eq!(at_limit.status, 200, "{}", at_limit.body);
        let too_deep = app.owner.patch_json(&app.credential(id), &nested(33));
        assert_eq!(too_deep.error_fields(), ["body"]);
        // Far deeper than serde_json's own recursion limit: still a 422, not a 400.
        let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let response = app.owner.send(
            "PATCH", &app.credential(id), &[("content-type", "application/json")], Some(text.as_bytes()),
        );
        assert_eq!(response.error_fields(), ["body"]);
    }

    fn extra_data_and_metadata_hold_at_most_16_kib(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-size");
        let id = created["id"].as_str().unwrap();
        let big = "x".repeat(17 * 1024);
        let response = app.owner.patch_json(&app.credential(id), &json!({"metadata": {"blob": big}}));
        assert_eq!(response.error_fields(), ["metadata"]);
        let response = app.owner.patch_json(&app.credential(id), &json!({"extra_data": {"notes": big}}));
        assert_eq!(response.error_fields(), ["extra_data"]);
        let fits = "x".repeat(15 * 1024);
        let response = app.owner.patch_json(&app.credential(id), &json!({"metadata": {"blob": fits}}));
        assert_eq!(response.status, 200, "{}", response.body);
    }

    fn concurrent_patches_of_different_keys_both_survive(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-concurrent");
        let id = created["id"].as_str().unwrap();
        let path = app.credential(id);
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (app, path) = (&app, &path);
                scope.spawn(move || {
                    for round in 0..5 {
                        let response = app.owner.patch_json(
                            path,
                            &json!({"metadata": {format!("w{worker}"): round}}),
                        );
                        assert_eq!(response.status, 200, "{}", response.body);
                    }
                });
            }
        });
        let body = app.owner.get(&path).json();
        for worker in 0..4 {
            assert_eq!(body["metadata"][format!("w{worker}")], 4);
        }
        assert_eq!(body["metadata"]["custom_property"], 42);
        assert_eq!(body["version"], 1 + 4 * 5);
    }
}
