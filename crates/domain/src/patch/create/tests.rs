//! Tests of the create path: parsing a create body and building a new credential from it.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::json;

use crate::credential::CredentialStatus;
use crate::ids::{CredentialId, PrincipalId, TeamId};
use crate::patch::{CredentialPatch, NewCredential, new_credential};
use crate::testing::created_credential as create;

#[test]
fn create_defaults_status_from_required_secrets() {
    let (complete, secrets) = create(json!({
        "provider": "stripe", "kind": "api_key", "name": "Payments",
        "extra_data": {"api_key": "sk_live_1"}
    }));
    assert_eq!(complete.status, CredentialStatus::CredentialsSaved);
    assert_eq!(
        complete.secret_fields,
        BTreeSet::from(["api_key".to_owned()])
    );
    assert_eq!(secrets.get("api_key").unwrap().expose(), "sk_live_1");
    assert!(complete.extra_data.is_empty());
    let (pending, _) = create(json!({
        "provider": "stripe", "kind": "api_key", "name": "Payments", "extra_data": {}
    }));
    assert_eq!(pending.status, CredentialStatus::Pending);
}

#[test]
fn create_rejects_unknown_provider_and_foreign_kind() {
    let input =
        NewCredential::from_json(json!({"provider": "ftp", "kind": "api_key", "name": "x"}))
            .unwrap();
    let errors = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        Utc::now(),
    )
    .unwrap_err();
    assert_eq!(errors.errors()[0].field, "provider");
    let input = NewCredential::from_json(
        json!({"provider": "postgresql", "kind": "key_file", "name": "x"}),
    )
    .unwrap();
    let errors = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        Utc::now(),
    )
    .unwrap_err();
    assert_eq!(errors.errors()[0].field, "kind");
    assert!(errors.errors()[0].message.contains("user_password"));
}

#[test]
fn create_requires_provider_kind_and_name() {
    let errors = NewCredential::from_json(json!({"extra_data": {}})).unwrap_err();
    let mut names: Vec<&str> = errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["kind", "name", "provider"]);
}

#[test]
fn a_create_accepts_the_fields_of_a_patch_but_clear_secrets() {
    let mut create_fields: BTreeSet<&str> = NewCredential::FIELDS.into_iter().collect();
    create_fields.insert("clear_secrets");
    let patch_fields: BTreeSet<&str> = CredentialPatch::FIELDS.into_iter().collect();
    assert_eq!(create_fields, patch_fields);

    let errors = NewCredential::from_json(json!({
        "provider": "sftp", "kind": "user_password", "name": "x", "clear_secrets": []
    }))
    .unwrap_err();
    assert_eq!(errors.errors().len(), 1);
    assert_eq!(errors.errors()[0].field, "clear_secrets");
    assert_eq!(errors.errors()[0].message, "is only accepted by PATCH");
}

#[test]
fn create_reports_missing_required_non_secret_fields() {
    let input = NewCredential::from_json(json!({
        "provider": "sftp", "kind": "user_password", "name": "x", "extra_data": {"password": "p"}
    }))
    .unwrap();
    let errors = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        Utc::now(),
    )
    .unwrap_err();
    let mut names: Vec<&str> = errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["extra_data.host", "extra_data.username"]);
}
