//! Fuzzes the PATCH body parser and merge engine with arbitrary JSON.
//!
//! Invariants checked on every input that parses and applies:
//! no declared secret, secret-looking, deceptive (mixed-script, hidden-character) or misspelt
//! declared key ever lands in `extra_data`, the stored password is never
//! lost or changed unless the patch set it, and applying the same patch again changes nothing.

#![no_main]

use credvault_domain::testing::stored_postgres_credential;
use credvault_domain::patch::{CredentialPatch, apply_patch};
use credvault_domain::schema::looks_secret;
use credvault_domain::schema::names::is_deceptive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(patch) = CredentialPatch::from_json(body.clone()) else {
        return;
    };
    let (credential, secrets) = stored_postgres_credential();
    let Ok(outcome) = apply_patch(&credential, Some(&secrets), &patch) else {
        return;
    };
    let schema = outcome.credential.schema().expect("stored credentials have a schema");
    for key in outcome.credential.extra_data.keys() {
        assert!(!schema.is_secret(key), "declared secret {key} in extra_data");
        assert!(schema.field(key).is_some() || !looks_secret(key), "{key} in extra_data");
        assert!(schema.field(key).is_some() || !is_deceptive(key), "{key:?} in extra_data");
        assert!(schema.variant_of(key).is_none(), "variant {key:?} in extra_data");
    }
    let after = outcome.secrets.clone().unwrap_or_else(|| secrets.clone());
    let password_sent = body["extra_data"]["password"].as_str().is_some_and(|value| !value.is_empty() && value != "••••");
    if !password_sent {
        assert_eq!(after.get("password").map(|value| value.expose()), Some("s3cret"));
    }
    let again = apply_patch(&outcome.credential, Some(&after), &patch).expect("a valid patch stays valid");
    assert!(!again.changed(), "not idempotent: {:?}", again.changed_fields);
});
