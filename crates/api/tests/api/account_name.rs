//! `account_name` is always a string (SPEC §10): derived from the non-secret fields when the
//! caller gives none, kept current while it is the derived one, kept as set when explicit.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Creates a PostgreSQL credential without an account name and returns its body.
fn create_unnamed(app: &TestApp, account_name: Option<Value>) -> Value {
    let mut body = json!({
        "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
        "extra_data": {"host": "db.internal", "port": 5432, "database": "dw",
                       "username": "etl", "password": "pw-unnamed"}
    });
    if let Some(sent) = account_name {
        body["account_name"] = sent;
    }
    let response = app.owner.post_json(&app.integrations(), &body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

backend_tests! {
    fn a_create_without_account_name_derives_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        for sent in [None, Some(Value::Null)] {
            let created = create_unnamed(&app, sent.clone());
            assert_eq!(created["account_name"], "etl@db.internal", "{sent:?}");
            let id = created["id"].as_str().unwrap();
            let read = app.owner.get(&app.credential(id));
            assert_eq!(read.json()["account_name"], "etl@db.internal");
        }
        // A connection string is a secret: it is never parsed for a name.
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({
                "provider": "postgresql", "kind": "user_password", "name": "By URI",
                "extra_data": {"connection_string": "postgresql://hidden_user:pw@hidden.host/dw"}
            }),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        assert_eq!(response.json()["account_name"], "postgresql");
        let listed = app.owner.get(&app.integrations()).json();
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|item| item["account_name"].is_string()), "{listed}");
    }

    fn a_patch_of_the_username_updates_a_derived_name(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = create_unnamed(&app, None);
        let id = created["id"].as_str().unwrap();
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"extra_data": {"username": "loader"}}));
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.json()["account_name"], "loader@db.internal");
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"extra_data": {"host": "db2.internal"}}));
        assert_eq!(response.json()["account_name"], "loader@db2.internal");
    }

    fn a_patch_keeps_an_explicit_name(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-explicit");
        assert_eq!(created["account_name"], "etl@warehouse");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.patch_json(
            &app.credential(id),
            &json!({"extra_data": {"username": "loader", "host": "db2.internal"}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.json()["account_name"], "etl@warehouse");
        // A name set by PATCH is explicit too.
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"account_name": "nightly loader"}));
        assert_eq!(response.json()["account_name"], "nightly loader");
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"extra_data": {"username": "etl"}}));
        assert_eq!(response.json()["account_name"], "nightly loader");
    }

    fn null_derives_the_name_again(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("warehouse", "pw-rederive");
        let id = created["id"].as_str().unwrap();
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"account_name": null}));
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        assert_eq!(body["account_name"], "etl@db.internal");
        assert_eq!(body["version"], 2);
        // Derived again, it follows the fields from then on.
        let response = app
            .owner
            .patch_json(&app.credential(id), &json!({"extra_data": {"username": "loader"}}));
        assert_eq!(response.json()["account_name"], "loader@db.internal");
    }
}
