//! Input rules that keep bad text out of storage: the secret-name guard (spellings and
//! look-alikes of secret field names never land in plain `extra_data`) and control characters
//! in plain text columns. Every refusal is a `422` naming each failing field, and writes nothing.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::service_accounts::{
    accounts_path, create_account, create_client_credential, credential_path, credentials_path,
    text,
};

/// The `message` of the 422 error for `field`.
fn message_for(problem: &Value, field: &str) -> String {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|error| error["field"] == field)
        .unwrap_or_else(|| panic!("no error for {field}: {problem}"))["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn item_count(app: &TestApp, path: &str) -> usize {
    let response = app.owner.get(path);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["items"].as_array().unwrap().len()
}

backend_tests! {
    fn other_kinds_secret_names_and_their_variants_are_refused_on_create(db: &TestDb) {
        let app = TestApp::spawn(db);
        // Declared secrets of key_file and postgresql, sent to sftp/user_password.
        let sftp = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "sftp", "kind": "user_password", "name": "drop",
                    "extra_data": {"host": "sftp.example.com", "username": "etl",
                                   "password": "pw-1",
                                   "passphrase": "my-key-passphrase",
                                   "connection_string": "sftp://u:pw-1234@sftp.example.com"}}),
        );
        assert_eq!(
            sftp.error_fields(),
            ["extra_data.connection_string", "extra_data.passphrase"]
        );
        assert!(!sftp.body.contains("my-key-passphrase") && !sftp.body.contains("pw-1234"));

        // A case variant of the kind's own secret, with a hint naming it.
        let postgres = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "dw",
                    "extra_data": {"Connection_String": "postgresql://etl:pw-9876@db/dw",
                                   "host": "db.internal", "username": "etl",
                                   "password": "pw-1", "SSL_Mode": "require"}}),
        );
        let problem = postgres.problem(422);
        assert_eq!(
            postgres.error_fields(),
            ["extra_data.Connection_String", "extra_data.SSL_Mode"]
        );
        assert!(message_for(&problem, "extra_data.Connection_String")
            .contains("did you mean `connection_string`?"));
        assert!(message_for(&problem, "extra_data.SSL_Mode").contains("did you mean `ssl_mode`?"));
        assert!(!postgres.body.contains("pw-9876"));

        // Look-alike letters and invisible characters, top level and nested.
        let look_alikes = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "stripe", "kind": "api_key", "name": "billing",
                    "extra_data": {"api_key": "sk_test_1",
                                   "\u{440}assword": "pw-cyrillic",
                                   "\u{ff50}assword": "pw-fullwidth",
                                   "pass\u{200b}word": "pw-zwsp",
                                   "api\u{200d}_key": "pw-zwj",
                                   "options": {"priva\u{3c4}e_key": "pw-greek"}}}),
        );
        assert_eq!(
            look_alikes.error_fields(),
            [
                "extra_data.api\u{200d}_key",
                "extra_data.options.priva\u{3c4}e_key",
                "extra_data.pass\u{200b}word",
                "extra_data.\u{440}assword",
                "extra_data.\u{ff50}assword",
            ]
        );
        assert!(!look_alikes.body.contains("pw-"), "{}", look_alikes.body);
        assert_eq!(item_count(&app, &app.integrations()), 0, "nothing was written");
    }

    fn secret_name_variants_are_refused_by_patch_and_candidate_tests(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("dw", "pw-stored");
        let id = created["id"].as_str().unwrap();
        let refused = app.owner.patch_json(
            &app.credential(id),
            &json!({"extra_data": {"Passphrase": "pw-variant", "connectionString": "pw-camel",
                                   "\u{440}assword": "pw-cyrillic"}}),
        );
        assert_eq!(
            refused.error_fields(),
            ["extra_data.Passphrase", "extra_data.connectionString", "extra_data.\u{440}assword"]
        );
        assert!(!refused.body.contains("pw-"), "{}", refused.body);
        let after = app.owner.get(&app.credential(id)).json();
        assert_eq!(after["version"], created["version"]);
        assert_eq!(after["extra_data"], created["extra_data"]);
        assert_eq!(app.events(id).len(), 1, "only the create event");

        // The candidate test refuses the same body before connecting anywhere.
        let candidate = app.owner.post_json(
            &format!("{}/test", app.integrations()),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "try",
                    "extra_data": {"host": "db.internal", "username": "etl",
                                   "password": "pw-1", "Connection_String": "pw-candidate"}}),
        );
        assert_eq!(candidate.error_fields(), ["extra_data.Connection_String"]);
        // So does the test of a stored credential with a PATCH body.
        let stored_test = app.owner.post_json(
            &format!("{}/test", app.credential(id)),
            &json!({"extra_data": {"pass\u{200b}word": "pw-zwsp"}}),
        );
        assert_eq!(stored_test.error_fields(), ["extra_data.pass\u{200b}word"]);
    }

    fn control_characters_in_credential_text_fields_are_a_422(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "stripe", "kind": "api_key", "name": "billing\u{0}",
                    "description": "nul \u{0} inside", "account_name": "acct\u{0}",
                    "extra_data": {"api_key": "sk_test_1", "no\u{0}te": "x"}}),
        );
        assert_eq!(
            created.error_fields(),
            ["name", "description", "account_name", "extra_data.no\u{0}te"]
        );
        assert_eq!(item_count(&app, &app.integrations()), 0, "nothing was written");

        let stored = app.create_postgres("dw", "pw-stored");
        let id = stored["id"].as_str().unwrap();
        for body in [
            json!({"description": "a\u{0}b"}),
            json!({"account_name": "etl\u{0}"}),
            json!({"account_name": "etl\u{1b}[2J"}),
            json!({"name": "dw\u{7}"}),
        ] {
            let field = body.as_object().unwrap().keys().next().unwrap().clone();
            let refused = app.owner.patch_json(&app.credential(id), &body);
            assert_eq!(refused.error_fields(), [field]);
        }
        assert_eq!(app.owner.get(&app.credential(id)).json()["version"], stored["version"]);

        // Tabs and line breaks are text, not control, in a description.
        let multi_line = app.owner.patch_json(
            &app.credential(id),
            &json!({"description": "first line\r\n\tsecond line\n"}),
        );
        assert_eq!(multi_line.status, 200, "{}", multi_line.body);
        assert_eq!(multi_line.json()["description"], "first line\r\n\tsecond line\n");
    }

    fn control_characters_in_service_account_text_fields_are_a_422(db: &TestDb) {
        let app = TestApp::spawn(db);
        let refused = app.owner.post_json(
            &accounts_path(&app),
            &json!({"name": "robot\u{0}", "description": "nul \u{0} inside"}),
        );
        assert_eq!(refused.error_fields(), ["name", "description"]);
        assert_eq!(item_count(&app, &accounts_path(&app)), 0, "nothing was written");

        let account = create_account(&app, "robot", "member");
        let account_id = text(&account, "id");
        let patched = app.owner.patch_json(
            &crate::service_accounts::account_path(&app, &account_id),
            &json!({"description": "a\u{0}b"}),
        );
        assert_eq!(patched.error_fields(), ["description"]);

        let refused = app.owner.post_json(
            &credentials_path(&app, &account_id),
            &json!({"name": "ci", "description": "\u{0}"}),
        );
        assert_eq!(refused.error_fields(), ["description"]);
        assert_eq!(item_count(&app, &credentials_path(&app, &account_id)), 0);

        let client = create_client_credential(&app, &account_id, "ci");
        let client_path = credential_path(&app, &account_id, &text(&client, "id"));
        let patched = app.owner.patch_json(&client_path, &json!({"description": "x\u{0}"}));
        assert_eq!(patched.error_fields(), ["description"]);
        let read = app.owner.get(&client_path).json();
        assert_eq!(read["description"], "for the test");
        let account_after =
            app.owner.get(&crate::service_accounts::account_path(&app, &account_id)).json();
        assert_eq!(account_after["description"], account["description"]);
    }
}
