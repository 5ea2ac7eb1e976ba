//! No secret anywhere: not in a response, an error, a log line, or in the database, neither in
//! plain text nor as a digest of the secret or of a request that carried it.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use md5::Md5;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::helpers::{Client, TestApp, TestResponse, log_lines};

/// Every request body the test sent, with its method, path and query.
#[derive(Default)]
struct Sent {
    requests: Vec<(String, String, String, Vec<u8>)>,
}

impl Sent {
    /// Sends a JSON request as `client` and remembers its exact bytes.
    fn send(
        &mut self,
        client: &Client,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> TestResponse {
        let bytes = serde_json::to_vec(body).unwrap();
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        self.requests.push((
            method.to_owned(),
            path.to_owned(),
            query.to_owned(),
            bytes.clone(),
        ));
        let mut all_headers = vec![("content-type", "application/json")];
        all_headers.extend_from_slice(headers);
        client.send(method, path_and_query, &all_headers, Some(&bytes))
    }

    /// What a digest stored by the server could have been computed over: each raw body, and each
    /// request as text (method, path and query on a line each, then the body).
    fn preimages(&self) -> Vec<(String, Vec<u8>)> {
        let mut preimages = Vec::new();
        for (index, (method, path, query, body)) in self.requests.iter().enumerate() {
            preimages.push((format!("body of request {index}"), body.clone()));
            let mut request = format!("{method}\n{path}\n{query}\n").into_bytes();
            request.extend_from_slice(body);
            preimages.push((format!("request {index} as text"), request));
        }
        preimages
    }
}

/// MD5, SHA-1 and SHA-256 of `preimage`, each raw, in hex (both cases) and in base64 (standard
/// and URL-safe, with and without padding), labelled for the failure message.
fn digest_needles(label: &str, preimage: &[u8]) -> Vec<(String, Vec<u8>)> {
    let digests = [
        ("MD5", Md5::digest(preimage).to_vec()),
        ("SHA-1", Sha1::digest(preimage).to_vec()),
        ("SHA-256", Sha256::digest(preimage).to_vec()),
    ];
    let mut needles = Vec::new();
    for (algorithm, digest) in digests {
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let encodings = [
            ("raw", digest.clone()),
            ("hex", hex.clone().into_bytes()),
            ("HEX", hex.to_uppercase().into_bytes()),
            ("base64", STANDARD.encode(&digest).into_bytes()),
            (
                "base64 unpadded",
                STANDARD_NO_PAD.encode(&digest).into_bytes(),
            ),
            ("base64url", URL_SAFE.encode(&digest).into_bytes()),
            (
                "base64url unpadded",
                URL_SAFE_NO_PAD.encode(&digest).into_bytes(),
            ),
        ];
        for (encoding, needle) in encodings {
            needles.push((format!("{algorithm} ({encoding}) of {label}"), needle));
        }
    }
    needles
}

/// The labels of the needles found in `contents`, with one pass over it per needle length.
fn found_in(contents: &[u8], needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut by_length: BTreeMap<usize, HashMap<&[u8], &str>> = BTreeMap::new();
    for (label, needle) in needles {
        by_length
            .entry(needle.len())
            .or_default()
            .insert(needle.as_slice(), label.as_str());
    }
    let mut found = Vec::new();
    for (length, wanted) in &by_length {
        for window in contents.windows(*length) {
            if let Some(label) = wanted.get(window) {
                found.push((*label).to_owned());
            }
        }
    }
    found
}

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
        let mut sent = Sent::default();
        let integrations = app.integrations();

        let postgres = sent.send(
            &app.owner, "POST", &integrations, &[],
            &json!({"provider": "postgresql", "kind": "user_password", "name": "pg",
                    "extra_data": {"host": "db.internal", "username": "etl", "password": plaintexts[0]}}),
        );
        let postgres_id = postgres.json()["id"].as_str().unwrap().to_owned();
        responses.push(postgres);
        let sftp = sent.send(
            &app.owner, "POST", &integrations, &[],
            &json!({"provider": "sftp", "kind": "key_file", "name": "sftp",
                    "extra_data": {"host": "sftp.example.com", "username": "etl",
                                   "private_key": PEM, "passphrase": plaintexts[2]}}),
        );
        let sftp_id = sftp.json()["id"].as_str().unwrap().to_owned();
        responses.push(sftp);
        responses.push(sent.send(
            &app.owner, "POST", &integrations, &[],
            &json!({"provider": "aws_ses", "kind": "api_key", "name": "ses",
                    "extra_data": {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1",
                                   "secret_access_key": plaintexts[4]}}),
        ));
        // Requests with an Idempotency-Key: the server keeps a fingerprint of each.
        responses.push(sent.send(
            &app.owner, "POST", &integrations, &[("idempotency-key", "secret-create")],
            &json!({"provider": "stripe", "kind": "api_key", "name": "stripe",
                    "extra_data": {"api_key": plaintexts[5]}}),
        ));
        responses.push(sent.send(
            &app.owner, "PATCH", &app.credential(&postgres_id), &[("idempotency-key", "secret-patch")],
            &json!({"extra_data": {"password": plaintexts[1]}}),
        ));
        responses.push(sent.send(
            &app.owner, "PATCH", &app.credential(&sftp_id), &[],
            &json!({"extra_data": {"passphrase": plaintexts[3], "private_key": "••••"}}),
        ));
        responses.push(sent.send(
            &app.owner, "PATCH", &format!("{}?dry_run=true", app.credential(&postgres_id)),
            &[("idempotency-key", "secret-dry-run")],
            &json!({"extra_data": {"password": plaintexts[6]}}),
        ));
        // Rejected requests: a secret-looking undeclared key, and a secret of the wrong shape.
        responses.push(sent.send(
            &app.owner, "PATCH", &app.credential(&postgres_id), &[("idempotency-key", "secret-422")],
            &json!({"extra_data": {"admin_password": plaintexts[7]}}),
        ));
        responses.push(sent.send(
            &app.owner, "PATCH", &app.credential(&sftp_id), &[],
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
        // ...but no byte sequence of a plaintext is in the database files or dump...
        let contents = db.raw_contents();
        assert!(!contents.is_empty());
        for plaintext in &plaintexts {
            let needle = plaintext.as_bytes();
            assert!(
                !contents.windows(needle.len()).any(|window| window == needle),
                "{plaintext} found in the database"
            );
        }
        // ...nor a digest of a secret or of a request that carried one, which would confirm a
        // guessed secret offline.
        let mut needles = Vec::new();
        for plaintext in &plaintexts {
            needles.extend(digest_needles(&format!("secret {plaintext}"), plaintext.as_bytes()));
        }
        needles.extend(digest_needles("the private key", PEM.as_bytes()));
        for (label, preimage) in sent.preimages() {
            needles.extend(digest_needles(&label, &preimage));
        }
        // The scan finds what it looks for: a digest planted among other bytes.
        let planted = [b"x\n".as_slice(), &needles[needles.len() / 2].1, b"\n"].concat();
        assert_eq!(found_in(&planted, &needles).len(), 1);
        let found = found_in(&contents, &needles);
        assert!(found.is_empty(), "digests found in the database: {found:?}");
    }
}
