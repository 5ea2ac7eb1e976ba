//! Tests of the rule on test bodies, over real schemas and the real PATCH engine.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use serde_json::{Value, json};

use crate::connection_test::redirecting_fields;
use crate::credential::Credential;
use crate::patch::{CredentialPatch, apply_patch};
use crate::secret::SecretMap;
use crate::testing::created_credential as create;

/// What the rule says about a test body applied to a stored credential.
fn redirecting(stored: &(Credential, SecretMap), body: Value) -> Vec<String> {
    let (credential, secrets) = stored;
    let patch = CredentialPatch::from_json(body).expect("patch parses");
    let outcome = apply_patch(credential, Some(secrets), &patch).expect("patch applies");
    redirecting_fields(
        credential.schema(),
        &credential.secret_fields,
        &outcome.changed_fields,
        &outcome.secret_effects,
    )
}

fn postgres() -> (Credential, SecretMap) {
    create(json!({
        "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
        "extra_data": {"host": "db.internal.example", "port": 5432, "database": "dw",
                       "username": "etl", "ssl_mode": "verify-full", "password": "Stored-Pw-42"}
    }))
}

fn sftp_key_file() -> (Credential, SecretMap) {
    create(json!({
        "provider": "sftp", "kind": "key_file", "name": "Drop",
        "extra_data": {"host": "sftp.example", "username": "drop",
                       "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
                       "passphrase": "stored-passphrase",
                       "host_key_sha256": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}
    }))
}

#[test]
fn every_connection_field_change_keeping_the_stored_password_redirects() {
    let stored = postgres();
    for (body, field) in [
        (
            json!({"extra_data": {"host": "attacker.example"}}),
            "extra_data.host",
        ),
        (json!({"extra_data": {"port": 15544}}), "extra_data.port"),
        (
            json!({"extra_data": {"ssl_mode": "disable"}}),
            "extra_data.ssl_mode",
        ),
        (
            json!({"extra_data": {"username": "postgres"}}),
            "extra_data.username",
        ),
        (
            json!({"extra_data": {"database": "other"}}),
            "extra_data.database",
        ),
        // Accepting any authentication would let a server on the path ask for the password
        // in clear.
        (
            json!({"extra_data": {"require_auth": "any"}}),
            "extra_data.require_auth",
        ),
        (
            json!({"extra_data": {"connection_string": "host=attacker.example user=etl"}}),
            "secrets.connection_string",
        ),
        (
            json!({"extra_data": {"probe_hint": "x"}}),
            "extra_data.probe_hint",
        ),
    ] {
        assert_eq!(redirecting(&stored, body.clone()), [field], "{body}");
    }
}

#[test]
fn removing_the_host_key_pin_redirects_an_sftp_test() {
    let stored = sftp_key_file();
    assert_eq!(
        redirecting(&stored, json!({"extra_data": {"host_key_sha256": null}})),
        ["extra_data.host_key_sha256"]
    );
    // A new key with the stored passphrase still uses a stored secret.
    let fields = redirecting(
        &stored,
        json!({"extra_data": {"host": "evil.example",
               "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nBBBB\n-----END OPENSSH PRIVATE KEY-----"}}),
    );
    assert_eq!(fields, ["extra_data.host", "secrets.private_key"]);
}

#[test]
fn descriptive_changes_and_kept_secrets_do_not_redirect() {
    let stored = postgres();
    for body in [
        json!({}),
        json!({"name": "Renamed", "description": "d", "account_name": "a"}),
        json!({"metadata": {"team": "data"}}),
        json!({"status": "revoked"}),
        json!({"extra_data": {"password": ""}}),
        json!({"extra_data": {"password": "••••"}}),
        json!({"extra_data": {"password": "Stored-Pw-42"}}),
        json!({"extra_data": {"host": "db.internal.example"}}),
    ] {
        assert_eq!(
            redirecting(&stored, body.clone()),
            Vec::<String>::new(),
            "{body}"
        );
    }
}

#[test]
fn a_body_that_replaces_every_stored_secret_is_a_candidate_test() {
    let stored = postgres();
    let body = json!({"extra_data": {"host": "elsewhere.example", "password": "Own-Pw-1"}});
    assert_eq!(redirecting(&stored, body), Vec::<String>::new());
    // The key file needs both of its secrets replaced.
    let stored = sftp_key_file();
    let body = json!({"extra_data": {"host": "elsewhere.example", "passphrase": "own",
                      "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nCCCC\n-----END OPENSSH PRIVATE KEY-----"}});
    assert_eq!(redirecting(&stored, body), Vec::<String>::new());
}
