//! No secret anywhere: not in a response, an error, a log line, or in plain text in the database.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::{TestApp, TestResponse, log_lines};

const PEM: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXByaXZhdGUta2V5LW9yaWdpbmFs\n-----END OPENSSH PRIVATE KEY-----";
const PEM_BODY: &str = "c2VjcmV0LXByaXZhdGUta2V5LW9yaWdpbmFs";

backend_tests! {
    fn no_plaintext_secret_appears_in_responses_or_the_database(db: &TestDb) {
        let app = TestApp::spawn(db);
        let plaintexts = [
            "pw-Xq81-original-password",
            "pw-Xq81-rotated-password",
            "pass-Xq81-original-phrase",
            "pass-Xq81-rotated-phrase",
            "ses-Xq81-secret-access-key",
            "sk-Xq81-stripe-secret",
            "pw-Xq81-dry-run-only",
            "pw-Xq81-rejected-in-422",
            PEM_BODY,
        ];
        let mut responses: Vec<TestResponse> = Vec::new();

        let postgres = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "pg",
                    "extra_data": {"host": "db.internal", "username": "etl", "password": plaintexts[0]}}),
        );
        let postgres_id = postgres.json()["id"].as_str().unwrap().to_owned();
        responses.push(postgres);
        let sftp = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "sftp", "kind": "key_file", "name": "sftp",
                    "extra_data": {"host": "sftp.example.com", "username": "etl",
                                   "private_key": PEM, "passphrase": plaintexts[2]}}),
        );
        let sftp_id = sftp.json()["id"].as_str().unwrap().to_owned();
        responses.push(sftp);
        responses.push(app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "aws_ses", "kind": "api_key", "name": "ses",
                    "extra_data": {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1",
                                   "secret_access_key": plaintexts[4]}}),
        ));
        responses.push(app.owner.send_json(
            "POST", &app.integrations(), &[("idempotency-key", "secret-create")],
            &json!({"provider": "stripe", "kind": "api_key", "name": "stripe",
                    "extra_data": {"api_key": plaintexts[5]}}),
        ));
        responses.push(app.owner.patch_json(
            &app.credential(&postgres_id),
            &json!({"extra_data": {"password": plaintexts[1]}}),
        ));
        responses.push(app.owner.patch_json(
            &app.credential(&sftp_id),
            &json!({"extra_data": {"passphrase": plaintexts[3], "private_key": "••••"}}),
        ));
        responses.push(app.owner.patch_json(
            &format!("{}?dry_run=true", app.credential(&postgres_id)),
            &json!({"extra_data": {"password": plaintexts[6]}}),
        ));
        // Rejected requests: a secret-looking undeclared key, and a secret of the wrong shape.
        responses.push(app.owner.patch_json(
            &app.credential(&postgres_id),
            &json!({"extra_data": {"admin_password": plaintexts[7]}}),
        ));
        responses.push(app.owner.patch_json(
            &app.credential(&sftp_id),
            &json!({"extra_data": {"private_key": plaintexts[7]}}),
        ));
        for response in &responses {
            assert!(response.status < 500, "{}", response.body);
        }
        responses.push(app.owner.get(&app.integrations()));
        responses.push(app.owner.get(&app.credential(&postgres_id)));
        responses.push(app.owner.get(&format!("{}/events", app.credential(&postgres_id))));
        responses.push(app.owner.get(&format!("{}/events", app.credential(&sftp_id))));
        responses.push(app.member.get(&app.credential(&sftp_id)));
        responses.push(app.owner.get("/metrics"));

        for response in &responses {
            for plaintext in &plaintexts {
                assert!(!response.body.contains(plaintext), "{plaintext} in {}", response.body);
                for (name, value) in &response.headers {
                    assert!(!value.contains(plaintext), "{plaintext} in header {name}");
                }
            }
        }

        // Nor in any log line (the access log of each request above included).
        let lines = log_lines();
        assert!(
            lines.iter().any(|line| line.contains("request finished method=PATCH")),
            "the access log was captured"
        );
        for line in &lines {
            for plaintext in &plaintexts {
                assert!(!line.contains(plaintext), "{plaintext} logged: {line}");
            }
        }

        // The secrets are stored (encrypted) and readable with the key ring...
        assert_eq!(app.stored_secret(&postgres_id, "password").as_deref(), Some(plaintexts[1]));
        assert_eq!(app.stored_secret(&sftp_id, "passphrase").as_deref(), Some(plaintexts[3]));
        assert_eq!(app.stored_secret(&sftp_id, "private_key").as_deref(), Some(PEM));
        // ...but no byte sequence of a plaintext is in the database files or dump.
        let contents = db.raw_contents();
        assert!(!contents.is_empty());
        for plaintext in &plaintexts {
            let needle = plaintext.as_bytes();
            assert!(
                !contents.windows(needle.len()).any(|window| window == needle),
                "{plaintext} found in the database"
            );
        }
    }
}
