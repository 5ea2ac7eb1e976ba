//! Parsing of service account and client credential bodies.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use serde_json::json;

use crate::patch::Patch;
use crate::principal::Role;
use crate::service_account::input::{NamePatch, NewClientCredential, NewServiceAccount};
use crate::validate::ValidationErrors;

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect()
}

#[test]
fn a_service_account_defaults_to_member_and_trims_its_name() {
    let account = NewServiceAccount::from_json(json!({"name": "  etl  "})).unwrap();
    assert_eq!(
        account,
        NewServiceAccount {
            name: "etl".to_owned(),
            description: None,
            role: Role::Member,
        }
    );
    let owner = NewServiceAccount::from_json(
        json!({"name": "deployer", "description": "CD", "role": "owner"}),
    )
    .unwrap();
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(owner.description.as_deref(), Some("CD"));
}

#[test]
fn every_bad_field_of_a_create_is_reported_at_once() {
    let errors = NewServiceAccount::from_json(json!({
        "description": "x".repeat(501), "role": "admin", "colour": "blue"
    }))
    .unwrap_err();
    assert_eq!(fields(&errors), ["colour", "name", "description", "role"]);

    let errors = NewClientCredential::from_json(json!({"name": " ", "role": "owner"})).unwrap_err();
    assert_eq!(fields(&errors), ["role", "name"]);
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    let errors = NamePatch::from_json(json!(["name"])).unwrap_err();
    assert_eq!(fields(&errors), ["body"]);
}

#[test]
fn a_description_of_500_characters_is_accepted_and_501_refused() {
    let patch = NamePatch::from_json(json!({"description": "é".repeat(500)})).unwrap();
    assert_eq!(patch.description, Patch::Value("é".repeat(500)));
    let errors = NamePatch::from_json(json!({"description": "é".repeat(501)})).unwrap_err();
    assert_eq!(errors.errors()[0].message, "must be at most 500 characters");
}

#[test]
fn a_patch_keeps_omitted_fields_apart_from_null() {
    let empty = NamePatch::from_json(json!({})).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.description, Patch::Absent);

    let clear = NamePatch::from_json(json!({"description": null})).unwrap();
    assert!(!clear.is_empty());
    assert_eq!(clear.description, Patch::Null);
    assert_eq!(clear.name, None);

    let errors = NamePatch::from_json(json!({"name": null})).unwrap_err();
    assert_eq!(errors.errors()[0].message, "must not be null");
}

#[test]
fn a_patch_refuses_unknown_fields_and_wrong_types() {
    let errors =
        NamePatch::from_json(json!({"name": 7, "description": false, "client_secret": "x"}))
            .unwrap_err();
    assert_eq!(fields(&errors), ["client_secret", "name", "description"]);
}
