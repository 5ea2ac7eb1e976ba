//! Unit and property tests of the PATCH engine (SPEC §3).

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;

use chrono::Utc;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::audit::SecretEffect;
use crate::credential::{Credential, CredentialStatus, HealthStatus};
use crate::ids::{CredentialId, PrincipalId, TeamId};
use crate::patch::merge_patch::merge_patch;
use crate::patch::{
    CredentialPatch, NewCredential, PatchError, PatchOutcome, apply_patch, derived_account_name,
    new_credential,
};
use crate::schema::{Provider, all_schemas};
use crate::secret::{MASK, SecretMap};
use crate::testing::{created_credential as create, stored_postgres_credential};
use crate::validate::{MAX_ACCOUNT_NAME_CHARS, check_account_name};

fn patch(body: Value) -> CredentialPatch {
    CredentialPatch::from_json(body).expect("patch parses")
}

fn apply(credential: &Credential, secrets: &SecretMap, body: Value) -> PatchOutcome {
    apply_patch(credential, Some(secrets), &patch(body)).expect("patch applies")
}

fn errors_of(credential: &Credential, secrets: &SecretMap, body: Value) -> Vec<(String, String)> {
    match apply_patch(credential, Some(secrets), &patch(body)) {
        Err(PatchError::Invalid(errors)) => errors
            .errors()
            .iter()
            .map(|error| (error.field.clone(), error.message.clone()))
            .collect(),
        other => panic!("expected validation errors, got {other:?}"),
    }
}

fn fields(errors: &[(String, String)]) -> Vec<&str> {
    errors.iter().map(|(field, _)| field.as_str()).collect()
}

fn keystatic() -> (Credential, SecretMap) {
    create(json!({
        "provider": "keystatic", "kind": "api_key", "name": "Site content",
        "extra_data": {
            "repository": "acme/site",
            "content_paths": {"posts": "content/posts", "pages": "content/pages"},
            "github_token": "ghp_first"
        }
    }))
}

// Secrets: blank, null and the mask keep; a new value replaces.

#[test]
fn blank_null_and_mask_keep_the_stored_secret() {
    let (credential, secrets) = stored_postgres_credential();
    for kept in [json!(""), Value::Null, json!(MASK)] {
        let outcome = apply(
            &credential,
            &secrets,
            json!({"extra_data": {"password": kept}}),
        );
        assert!(outcome.secrets.is_none(), "{kept}");
        assert!(!outcome.changed(), "{kept}");
        assert_eq!(outcome.secret_effects["password"], SecretEffect::Kept);
        assert!(!outcome.credential.extra_data.contains_key("password"));
    }
}

#[test]
fn new_secret_replaces_the_stored_one_and_stays_out_of_extra_data() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"password": "rotated"}}),
    );
    let new_secrets = outcome.secrets.expect("secrets changed");
    assert_eq!(new_secrets.get("password").unwrap().expose(), "rotated");
    assert_eq!(outcome.secret_effects["password"], SecretEffect::Set);
    assert!(
        outcome
            .changed_fields
            .contains(&"secrets.password".to_owned())
    );
    assert!(!outcome.credential.extra_data.contains_key("password"));
}

#[test]
fn resending_the_stored_secret_is_not_a_change() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"password": "s3cret"}}),
    );
    assert!(outcome.secrets.is_none());
    assert!(!outcome.changed());
    assert_eq!(outcome.secret_effects["password"], SecretEffect::Kept);
}

#[test]
fn setting_a_secret_without_loading_the_stored_ones_is_refused() {
    let (credential, _) = stored_postgres_credential();
    let result = apply_patch(
        &credential,
        None,
        &patch(json!({"extra_data": {"password": "x"}})),
    );
    assert!(matches!(result, Err(PatchError::SecretsNotLoaded)));
}

#[test]
fn loaded_secrets_that_do_not_match_the_row_are_refused() {
    let (credential, _) = stored_postgres_credential();
    let empty = SecretMap::new();
    let result = apply_patch(
        &credential,
        Some(&empty),
        &patch(json!({"extra_data": {"password": "x"}})),
    );
    assert!(matches!(result, Err(PatchError::SecretsOutOfSync)));
}

#[test]
fn non_secret_patch_does_not_need_the_secrets() {
    let (credential, _) = stored_postgres_credential();
    let request = patch(json!({"name": "Renamed"}));
    assert!(!request.touches_secrets(&credential));
    let outcome = apply_patch(&credential, None, &request).unwrap();
    assert_eq!(outcome.credential.name, "Renamed");
    assert!(outcome.credential.secret_fields.contains("password"));
}

#[test]
fn a_secret_of_the_wrong_type_is_rejected() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"password": 12345}}),
    );
    assert_eq!(fields(&errors), ["extra_data.password"]);
}

// extra_data: top-level shallow merge.

#[test]
fn nested_extra_data_objects_are_replaced_wholesale() {
    let (credential, secrets) = keystatic();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"content_paths": {"posts": "blog"}}}),
    );
    assert_eq!(
        outcome.credential.extra_data["content_paths"],
        json!({"posts": "blog"})
    );
    assert_eq!(outcome.credential.extra_data["repository"], "acme/site");
    assert_eq!(outcome.changed_fields, ["extra_data.content_paths"]);
}

#[test]
fn null_deletes_a_non_secret_key() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"database": null}}),
    );
    assert!(!outcome.credential.extra_data.contains_key("database"));
    assert!(
        outcome
            .changed_fields
            .contains(&"extra_data.database".to_owned())
    );
}

#[test]
fn null_on_a_required_key_is_a_validation_error() {
    let (credential, secrets) = create(json!({
        "provider": "sftp", "kind": "user_password", "name": "Drop",
        "extra_data": {"host": "sftp.example.com", "username": "etl", "password": "p"}
    }));
    let errors = errors_of(&credential, &secrets, json!({"extra_data": {"host": null}}));
    assert_eq!(fields(&errors), ["extra_data.host"]);
}

#[test]
fn omitted_keys_keep_their_values() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(&credential, &secrets, json!({"extra_data": {"port": 6432}}));
    for key in ["host", "database", "username"] {
        assert_eq!(
            outcome.credential.extra_data[key],
            credential.extra_data[key]
        );
    }
    assert_eq!(outcome.credential.name, credential.name);
    assert_eq!(outcome.credential.extra_data["port"], 6432);
}

#[test]
fn undeclared_secret_looking_key_is_rejected_with_nothing_changed() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"name": "ok", "extra_data": {"db_password": "oops", "note": "fine"}}),
    );
    assert_eq!(fields(&errors), ["extra_data.db_password"]);
    assert!(
        errors[0].1.contains("password"),
        "names the real secret fields"
    );
    assert!(!errors[0].1.contains("oops"), "never echoes the value");
}

#[test]
fn secret_looking_key_nested_in_extra_data_is_rejected() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"options": {"auth": {"apiKey": "x"}}}}),
    );
    assert_eq!(fields(&errors), ["extra_data.options.auth.apiKey"]);
}

#[test]
fn undeclared_plain_keys_are_allowed() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"application_name": "etl"}}),
    );
    assert_eq!(outcome.credential.extra_data["application_name"], "etl");
}

#[test]
fn port_and_types_are_validated_and_all_errors_are_reported() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({
            "name": "   ",
            "description": "x".repeat(501),
            "status": "sleeping",
            "extra_data": {"port": 0, "ssl_mode": "maybe", "host": "bad host!"}
        }),
    );
    let mut names = fields(&errors);
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "description",
            "extra_data.host",
            "extra_data.port",
            "extra_data.ssl_mode",
            "name",
            "status"
        ]
    );
}

#[test]
fn port_bounds() {
    let (credential, secrets) = stored_postgres_credential();
    for bad in [json!(0), json!(65536), json!(-1), json!("22"), json!(22.5)] {
        let errors = errors_of(&credential, &secrets, json!({"extra_data": {"port": bad}}));
        assert_eq!(fields(&errors), ["extra_data.port"], "{bad}");
    }
    for good in [1, 22, 65535] {
        apply(&credential, &secrets, json!({"extra_data": {"port": good}}));
    }
}

#[test]
fn pem_shape_is_checked() {
    let body = |key: &str| {
        json!({
            "provider": "sftp", "kind": "key_file", "name": "Key",
            "extra_data": {"host": "h.example.com", "username": "u", "private_key": key}
        })
    };
    let input = NewCredential::from_json(body("not a key")).unwrap();
    let errors = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        Utc::now(),
    )
    .unwrap_err();
    assert_eq!(errors.errors()[0].field, "extra_data.private_key");
    assert!(!errors.errors()[0].message.contains("not a key"));
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    let (credential, secrets) = create(body(pem));
    assert_eq!(credential.status, CredentialStatus::CredentialsSaved);
    assert_eq!(secrets.get("private_key").unwrap().expose(), pem);
}

// Scalars.

#[test]
fn name_is_trimmed_and_bounded() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(&credential, &secrets, json!({"name": "  Warehouse 2  "}));
    assert_eq!(outcome.credential.name, "Warehouse 2");
    let errors = errors_of(&credential, &secrets, json!({"name": "x".repeat(201)}));
    assert_eq!(fields(&errors), ["name"]);
    let errors = errors_of(&credential, &secrets, json!({"name": null}));
    assert_eq!(fields(&errors), ["name"]);
    apply(&credential, &secrets, json!({"name": "x".repeat(200)}));
}

#[test]
fn null_description_clears_and_null_status_keeps() {
    let (mut credential, secrets) = stored_postgres_credential();
    credential.description = Some("old".to_owned());
    let outcome = apply(
        &credential,
        &secrets,
        json!({"description": null, "status": null}),
    );
    assert_eq!(outcome.credential.description, None);
    assert_eq!(outcome.credential.status, credential.status);
    assert_eq!(outcome.changed_fields, ["description"]);
}

#[test]
fn account_name_is_bounded() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"account_name": "a".repeat(201)}),
    );
    assert_eq!(fields(&errors), ["account_name"]);
}

// Immutable fields.

#[test]
fn provider_and_kind_are_immutable() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"provider": "sftp", "kind": "key_file"}),
    );
    assert_eq!(fields(&errors), ["provider", "kind"]);
    assert!(errors[0].1.contains("create a new credential"));
    // Sending the stored values is harmless.
    let outcome = apply(
        &credential,
        &secrets,
        json!({"provider": "postgresql", "kind": "user_password"}),
    );
    assert!(!outcome.changed());
}

// clear_secrets.

#[test]
fn clearing_a_required_secret_is_rejected() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"clear_secrets": ["password"]}),
    );
    assert_eq!(fields(&errors), ["clear_secrets.password"]);
}

#[test]
fn clearing_an_optional_secret_removes_it() {
    let (credential, secrets) = create(json!({
        "provider": "google", "kind": "oauth2", "name": "Drive",
        "extra_data": {"client_id": "cid", "client_secret": "cs", "refresh_token": "rt"}
    }));
    let outcome = apply(
        &credential,
        &secrets,
        json!({"clear_secrets": ["refresh_token"]}),
    );
    let new_secrets = outcome.secrets.expect("secrets changed");
    assert!(!new_secrets.contains("refresh_token"));
    assert_eq!(new_secrets.get("client_secret").unwrap().expose(), "cs");
    assert_eq!(
        outcome.secret_effects["refresh_token"],
        SecretEffect::Cleared
    );
    assert_eq!(outcome.changed_fields, ["secrets.refresh_token"]);
    assert!(!outcome.credential.secret_fields.contains("refresh_token"));
}

#[test]
fn clearing_an_unknown_or_plain_field_is_rejected() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"clear_secrets": ["host", "nope"]}),
    );
    assert_eq!(
        fields(&errors),
        ["clear_secrets.host", "clear_secrets.nope"]
    );
}

#[test]
fn clearing_and_setting_the_same_secret_conflicts() {
    let (credential, secrets) = create(json!({
        "provider": "google", "kind": "oauth2", "name": "Drive",
        "extra_data": {"client_id": "cid", "client_secret": "cs", "refresh_token": "rt"}
    }));
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"refresh_token": "new"}, "clear_secrets": ["refresh_token"]}),
    );
    assert_eq!(fields(&errors), ["clear_secrets.refresh_token"]);
}

#[test]
fn clearing_the_alternative_of_a_required_secret_is_rejected() {
    // With a connection string, host, username and password are optional; clearing it would
    // leave a credential without host and username.
    let (credential, secrets) = create(json!({
        "provider": "postgresql", "kind": "user_password", "name": "DW",
        "extra_data": {"connection_string": "postgresql://u@h/db"}
    }));
    assert_eq!(credential.status, CredentialStatus::CredentialsSaved);
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"clear_secrets": ["connection_string"]}),
    );
    let mut names = fields(&errors);
    names.sort_unstable();
    assert_eq!(names, ["extra_data.host", "extra_data.username"]);
}

// Status and health.

#[test]
fn changing_a_connection_field_of_a_connected_credential_resets_status_and_health() {
    let (credential, secrets) = stored_postgres_credential();
    assert_eq!(credential.status, CredentialStatus::Connected);
    let outcome = apply(&credential, &secrets, json!({"extra_data": {"port": 6543}}));
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
    assert_eq!(outcome.credential.health.status, HealthStatus::Unknown);
    assert_eq!(
        outcome.changed_fields,
        ["extra_data.port", "status", "health"]
    );
}

#[test]
fn changing_a_secret_of_an_errored_credential_resets_status() {
    let (mut credential, secrets) = stored_postgres_credential();
    credential.status = CredentialStatus::Error;
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"password": "fixed"}}),
    );
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
}

#[test]
fn an_explicit_status_wins_over_the_automatic_one() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"password": "fixed"}, "status": "connected"}),
    );
    assert_eq!(outcome.credential.status, CredentialStatus::Connected);
    assert_eq!(outcome.credential.health.status, HealthStatus::Unknown);
}

#[test]
fn descriptive_changes_keep_status_and_health() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"name": "New name", "metadata": {"team": "data"}, "extra_data": {"note": "x"}}),
    );
    assert_eq!(outcome.credential.status, CredentialStatus::Connected);
    assert_eq!(outcome.credential.health.status, HealthStatus::Healthy);
}

#[test]
fn revoked_credential_keeps_its_status_on_secret_change() {
    let (mut credential, secrets) = stored_postgres_credential();
    credential.status = CredentialStatus::Revoked;
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"password": "p2"}}),
    );
    assert_eq!(outcome.credential.status, CredentialStatus::Revoked);
}

#[test]
fn pending_credential_becomes_saved_once_its_secrets_are_complete() {
    let (credential, secrets) = create(json!({
        "provider": "aws_ses", "kind": "api_key", "name": "Mail",
        "extra_data": {"access_key_id": "AKIA", "region": "eu-west-1"}
    }));
    assert_eq!(credential.status, CredentialStatus::Pending);
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"secret_access_key": "sk"}}),
    );
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
}

// No-op and metadata.

#[test]
fn an_empty_patch_changes_nothing() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(&credential, &secrets, json!({}));
    assert!(!outcome.changed());
    assert_eq!(outcome.credential, credential);
}

#[test]
fn setting_the_same_values_changes_nothing() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"name": "Warehouse", "extra_data": {"host": "db.internal", "port": 5432}}),
    );
    assert!(!outcome.changed(), "{:?}", outcome.changed_fields);
}

#[test]
fn metadata_is_merged_recursively_and_null_deletes() {
    let (mut credential, secrets) = stored_postgres_credential();
    credential.metadata = json!({"a": 1, "nested": {"x": 1, "y": 2}})
        .as_object()
        .cloned()
        .unwrap();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"metadata": {"a": null, "nested": {"y": null, "z": 3}, "custom_property": 42}}),
    );
    assert_eq!(
        Value::Object(outcome.credential.metadata),
        json!({"nested": {"x": 1, "z": 3}, "custom_property": 42})
    );
    let outcome = apply(&credential, &secrets, json!({"metadata": null}));
    assert!(outcome.credential.metadata.is_empty());
    let errors = errors_of(&credential, &secrets, json!({"metadata": [1]}));
    assert_eq!(fields(&errors), ["metadata"]);
}

#[test]
fn rfc7396_appendix_a_examples() {
    let vectors = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b":"c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ];
    for (target, patch, expected) in vectors {
        let mut result = target.clone();
        merge_patch(&mut result, &patch);
        assert_eq!(result, expected, "target {target} patch {patch}");
    }
}

// Parsing and limits.

#[test]
fn unknown_fields_and_type_errors_are_all_reported() {
    let errors = CredentialPatch::from_json(json!({
        "nmae": "x", "name": 1, "extra_data": [], "clear_secrets": "password", "metadata": {}
    }))
    .unwrap_err();
    let mut names: Vec<&str> = errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["clear_secrets", "extra_data", "name", "nmae"]);
}

#[test]
fn bodies_nested_deeper_than_32_levels_are_rejected() {
    let mut deep = json!("leaf");
    for _ in 0..32 {
        deep = json!({ "k": deep });
    }
    // The body object itself adds one level: 33 in all.
    let errors = CredentialPatch::from_json(json!({ "metadata": deep.clone() })).unwrap_err();
    assert_eq!(errors.errors()[0].field, "body");
    let shallower = deep["k"].clone();
    assert!(CredentialPatch::from_json(json!({ "metadata": shallower })).is_ok());
}

#[test]
fn extra_data_and_metadata_are_limited_to_16_kib_once_merged() {
    let (credential, secrets) = stored_postgres_credential();
    let half = "x".repeat(9 * 1024);
    let first = apply(&credential, &secrets, json!({"metadata": {"a": half}}));
    let errors = errors_of(
        &first.credential,
        &secrets,
        json!({"metadata": {"b": half}}),
    );
    assert_eq!(fields(&errors), ["metadata"]);
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"a": half, "b": half}}),
    );
    assert_eq!(fields(&errors), ["extra_data"]);
}

// Create.

#[test]
fn a_required_field_of_the_wrong_type_is_reported_once() {
    let input = NewCredential::from_json(json!({
        "provider": "sftp", "kind": "user_password", "name": "x",
        "extra_data": {"host": "h.example.com", "username": 5, "password": "p"}
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
    assert_eq!(errors.errors().len(), 1, "{errors:?}");
    assert_eq!(errors.errors()[0].field, "extra_data.username");
    assert_eq!(errors.errors()[0].message, "must be a string");
}

// Properties.

fn extra_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        "[a-z0-9.]{1,12}".prop_map(Value::from),
        (1u16..=65535).prop_map(Value::from),
        Just(json!({"nested": {"deep": 1}})),
        Just(json!("")),
        Just(json!(MASK)),
    ]
}

fn extra_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("host".to_owned()),
        Just("port".to_owned()),
        Just("database".to_owned()),
        Just("password".to_owned()),
        Just("connection_string".to_owned()),
        Just("note".to_owned()),
        Just("db_password".to_owned()),
        Just("api_token".to_owned()),
        "[a-z]{1,6}",
    ]
}

fn patch_body() -> impl Strategy<Value = Value> {
    (
        proptest::collection::btree_map(extra_key(), extra_value(), 0..6),
        proptest::option::of("[A-Za-z ]{0,20}"),
        proptest::option::of(proptest::collection::btree_map(
            "[a-c]",
            prop_oneof![Just(Value::Null), (0..5i32).prop_map(Value::from)],
            0..3,
        )),
    )
        .prop_map(|(extra, name, metadata)| {
            let mut body = serde_json::Map::new();
            body.insert("extra_data".into(), json!(extra));
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if let Some(metadata) = metadata {
                body.insert("metadata".into(), json!(metadata));
            }
            Value::Object(body)
        })
}

proptest! {
    #[test]
    fn applying_a_patch_twice_equals_applying_it_once(body in patch_body()) {
        let (credential, secrets) = stored_postgres_credential();
        let request = patch(body);
        if let Ok(once) = apply_patch(&credential, Some(&secrets), &request) {
            let once_secrets = once.secrets.clone().unwrap_or_else(|| secrets.clone());
            let twice = apply_patch(&once.credential, Some(&once_secrets), &request).expect("second application validates");
            prop_assert_eq!(&twice.credential, &once.credential);
            prop_assert!(!twice.changed(), "second application changed {:?}", twice.changed_fields);
            prop_assert!(twice.secrets.is_none());
        }
    }

    #[test]
    fn a_patch_never_moves_a_secret_into_extra_data(body in patch_body()) {
        let (credential, secrets) = stored_postgres_credential();
        if let Ok(outcome) = apply_patch(&credential, Some(&secrets), &patch(body)) {
            let schema = outcome.credential.schema().expect("schema");
            for key in outcome.credential.extra_data.keys() {
                prop_assert!(!schema.is_secret(key), "{} in extra_data", key);
                prop_assert!(!crate::schema::looks_secret(key) || schema.field(key).is_some(), "{} in extra_data", key);
            }
        }
    }

    #[test]
    fn keys_absent_from_the_patch_are_untouched(body in patch_body()) {
        let (credential, secrets) = stored_postgres_credential();
        let sent: Vec<String> = body["extra_data"].as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default();
        if let Ok(outcome) = apply_patch(&credential, Some(&secrets), &patch(body)) {
            for (key, value) in &credential.extra_data {
                if !sent.contains(key) {
                    prop_assert_eq!(outcome.credential.extra_data.get(key), Some(value));
                }
            }
        }
    }

    #[test]
    fn blank_null_or_mask_never_change_a_stored_secret(kept in prop_oneof![Just(json!("")), Just(Value::Null), Just(json!(MASK))], other in patch_body()) {
        let (credential, secrets) = stored_postgres_credential();
        let mut body = other;
        body["extra_data"]["password"] = kept;
        if let Ok(outcome) = apply_patch(&credential, Some(&secrets), &patch(body)) {
            let after = outcome.secrets.unwrap_or_else(|| secrets.clone());
            prop_assert_eq!(after.get("password").expect("kept").expose(), "s3cret");
        }
    }
}

// The secret-name guard (review M2 and look-alike names): every spelling of a declared secret
// name that is not the kind's own declared name is refused, never stored in plain extra_data.

/// One stored credential of each secret-holding kind, to patch.
fn stored_credentials() -> Vec<(Credential, SecretMap)> {
    vec![
        stored_postgres_credential(),
        create(json!({
            "provider": "sftp", "kind": "user_password", "name": "drop box",
            "extra_data": {"host": "sftp.example.com", "username": "etl", "password": "pw"}
        })),
        create(json!({
            "provider": "sftp", "kind": "key_file", "name": "drop box key",
            "extra_data": {"host": "sftp.example.com", "username": "etl",
                           "private_key": "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"}
        })),
        create(json!({
            "provider": "stripe", "kind": "api_key", "name": "billing",
            "extra_data": {"api_key": "sk_test_1"}
        })),
        create(json!({
            "provider": "microsoft", "kind": "oauth2", "name": "graph",
            "extra_data": {"client_id": "app", "client_secret": "cs"}
        })),
        keystatic(),
    ]
}

#[test]
fn other_kinds_secret_names_are_refused_as_plain_extra_data() {
    // Declared secret fields of key_file and postgresql, sent to sftp/user_password.
    let (credential, secrets) = stored_credentials().swap_remove(1);
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"passphrase": "my-key-passphrase",
                              "connection_string": "sftp://u:pw-1234@host"}}),
    );
    assert_eq!(
        fields(&errors),
        ["extra_data.connection_string", "extra_data.passphrase"]
    );
    assert!(
        errors[0].1.contains("looks like a secret"),
        "{}",
        errors[0].1
    );
}

#[test]
fn case_and_separator_variants_of_a_declared_name_are_refused_with_a_hint() {
    let (credential, secrets) = stored_postgres_credential();
    for (variant, declared) in [
        ("Connection_String", "connection_string"),
        ("connectionString", "connection_string"),
        ("PASSWORD", "password"),
        ("Host", "host"),
        ("ssl-mode", "ssl_mode"),
    ] {
        let errors = errors_of(
            &credential,
            &secrets,
            json!({"extra_data": {variant: "postgresql://etl:pw-9876@db/dw"}}),
        );
        assert_eq!(fields(&errors), [format!("extra_data.{variant}")]);
        assert!(
            errors[0].1.contains(&format!("did you mean `{declared}`?")),
            "{variant}: {}",
            errors[0].1
        );
    }
}

#[test]
fn clear_secrets_names_the_declared_field_of_a_variant() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"clear_secrets": ["Connection-String"]}),
    );
    assert_eq!(fields(&errors), ["clear_secrets.Connection-String"]);
    assert!(
        errors[0].1.contains("did you mean `connection_string`?"),
        "{}",
        errors[0].1
    );
}

#[test]
fn a_secret_looking_plain_field_of_another_kind_stays_refused() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"token_url": "https://login.example.com/token"}}),
    );
    assert_eq!(fields(&errors), ["extra_data.token_url"]);
}

#[test]
fn a_create_refuses_variants_too() {
    let input = NewCredential::from_json(json!({
        "provider": "sftp", "kind": "key_file", "name": "k",
        "extra_data": {"host": "h.example", "username": "u",
                       "private_key": "-----BEGIN KEY-----\nAAAA\n-----END KEY-----",
                       "Passphrase": "my-key-passphrase"}
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
    assert_eq!(errors.errors().len(), 1);
    assert_eq!(errors.errors()[0].field, "extra_data.Passphrase");
    assert!(errors.errors()[0].message.contains("`passphrase`"));
}

#[test]
fn look_alike_and_invisible_spellings_are_refused() {
    let (credential, secrets) = stored_postgres_credential();
    for key in [
        "\u{440}assword",          // Cyrillic er
        "\u{ff50}assword",         // fullwidth p
        "pass\u{200b}word",        // zero-width space
        "api\u{200d}_key",         // zero-width joiner
        "\u{1d41a}\u{1d429}i_key", // mathematical bold
    ] {
        let errors = errors_of(&credential, &secrets, json!({"extra_data": {key: "v4lue"}}));
        assert_eq!(fields(&errors), [format!("extra_data.{key}")], "{key:?}");
    }
    // Nested, as everywhere the guard applies.
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"options": {"pass\u{200b}phrase": "v4lue"}}}),
    );
    assert_eq!(fields(&errors), ["extra_data.options.pass\u{200b}phrase"]);
}

#[test]
fn keys_with_control_or_invisible_characters_are_refused() {
    let (credential, secrets) = stored_postgres_credential();
    for key in ["note\u{0}", "no\u{200b}te", "\u{202e}eton"] {
        let errors = errors_of(&credential, &secrets, json!({"extra_data": {key: "x"}}));
        assert_eq!(fields(&errors), [format!("extra_data.{key}")], "{key:?}");
    }
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"caf\u{e9}_n\u{f8}te": "x"}}),
    );
    assert_eq!(outcome.credential.extra_data["caf\u{e9}_n\u{f8}te"], "x");
}

#[test]
fn an_undeclared_key_stored_before_the_rules_can_still_be_deleted() {
    let (mut credential, secrets) = stored_postgres_credential();
    for legacy in ["Passphrase", "pass\u{200b}word", "Host"] {
        credential
            .extra_data
            .insert(legacy.to_owned(), json!("stored earlier"));
    }
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"Passphrase": null, "pass\u{200b}word": null, "Host": null}}),
    );
    assert_eq!(
        outcome.credential.extra_data,
        stored_postgres_credential().0.extra_data
    );
    // Setting them again is refused.
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"extra_data": {"Passphrase": "x"}}),
    );
    assert_eq!(fields(&errors), ["extra_data.Passphrase"]);
}

// Control characters in text fields (review L16).

#[test]
fn control_characters_in_text_fields_are_refused() {
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"name": "a\u{0}b", "description": "nul \u{0} inside",
               "account_name": "etl\u{1b}[2J"}),
    );
    assert_eq!(fields(&errors), ["name", "description", "account_name"]);
    let errors = errors_of(&credential, &secrets, json!({"account_name": "two\nlines"}));
    assert_eq!(fields(&errors), ["account_name"]);
}

#[test]
fn a_description_may_hold_tabs_and_line_breaks() {
    let (credential, secrets) = stored_postgres_credential();
    let outcome = apply(
        &credential,
        &secrets,
        json!({"description": "first line\r\n\tsecond line\n"}),
    );
    assert_eq!(
        outcome.credential.description.as_deref(),
        Some("first line\r\n\tsecond line\n")
    );
}

// Debug output of parsed bodies (review L5).

#[test]
fn debug_of_parsed_bodies_never_shows_a_secret() {
    let body = json!({
        "provider": "postgresql", "kind": "user_password", "name": "pg",
        "extra_data": {"host": "db", "password": "pw-Debug-0001",
                       "connection_string": "postgresql://u:pw-Debug-0002@db/x",
                       "Passphrase": "pw-Debug-0003", "api\u{200d}_key": "pw-Debug-0004",
                       "options": {"auth": {"token": "pw-Debug-0005"}},
                       "port": {"not": "a port"}},
        "metadata": {"note": "fine", "nested": {"client_secret": "pw-Debug-0006"}}
    });
    let printed = [
        format!("{:?}", CredentialPatch::from_json(body.clone()).unwrap()),
        format!("{:#?}", NewCredential::from_json(body).unwrap()),
    ];
    for printed in printed {
        assert!(!printed.contains("pw-Debug"), "{printed}");
        // The non-secret parts are still there to debug with.
        assert!(
            printed.contains("\"db\"") && printed.contains("Passphrase"),
            "{printed}"
        );
    }
}

/// Look-alikes of ASCII letters from other scripts (Cyrillic, Greek).
fn confusable(ch: char) -> Option<char> {
    Some(match ch {
        'a' => '\u{430}',
        'c' => '\u{441}',
        'e' => '\u{435}',
        'i' => '\u{456}',
        'o' => '\u{43e}',
        'p' => '\u{440}',
        's' => '\u{455}',
        'x' => '\u{445}',
        'y' => '\u{443}',
        'k' => '\u{3ba}',
        't' => '\u{3c4}',
        _ => return None,
    })
}

/// A spelling of `name` that a reader takes for the same word: each character is kept, changed in
/// case, swapped for a look-alike or its fullwidth form, or followed by an invisible character
/// or a separator; `_` may also vanish (camelCase).
fn spell(name: &str, choices: &[u8]) -> String {
    const INVISIBLE: [char; 6] = [
        '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}',
    ];
    const SEPARATORS: [char; 3] = ['_', '-', '.'];
    let mut out = String::new();
    for (index, ch) in name.chars().enumerate() {
        let choice = choices.get(index).copied().unwrap_or(0);
        match choice % 7 {
            1 => out.extend(ch.to_uppercase()),
            2 => out.push(confusable(ch).unwrap_or(ch)),
            3 if ch.is_ascii_graphic() => {
                out.push(char::from_u32(u32::from(ch) + 0xfee0).unwrap_or(ch));
            }
            4 => {
                out.push(ch);
                out.push(INVISIBLE[usize::from(choice / 7) % INVISIBLE.len()]);
            }
            5 => {
                out.push(ch);
                out.push(SEPARATORS[usize::from(choice / 7) % SEPARATORS.len()]);
            }
            6 if ch == '_' => {}
            _ => out.push(ch),
        }
    }
    out
}

fn declared_secret_names() -> Vec<&'static str> {
    let names: BTreeSet<&str> = crate::schema::all_schemas()
        .iter()
        .flat_map(crate::schema::Schema::secret_fields)
        .map(|field| field.name)
        .collect();
    names.into_iter().collect()
}

proptest! {
    #[test]
    fn no_spelling_of_a_secret_name_is_stored_in_plain_extra_data(
        name_index in any::<prop::sample::Index>(),
        base_index in any::<prop::sample::Index>(),
        choices in proptest::collection::vec(any::<u8>(), 0..24),
        nested in any::<bool>(),
    ) {
        let names = declared_secret_names();
        let name = names[name_index.index(names.len())];
        let key = spell(name, &choices);
        let mut bases = stored_credentials();
        let (credential, secrets) = bases.swap_remove(base_index.index(bases.len()));
        let schema = credential.schema().expect("schema");
        // A value of the right shape for the declared field, so that only the name decides.
        let value = match schema.field(&key).map(|field| field.ty) {
            Some(crate::schema::FieldType::Pem) => "-----BEGIN KEY-----\npl41n\n-----END KEY-----",
            Some(crate::schema::FieldType::ConnectionString) => "host=db password=pl41n",
            _ => "pl41n-v4lue",
        };
        let (extra_data, path) = if nested {
            (json!({"options": {key.clone(): value}}), format!("extra_data.options.{key}"))
        } else {
            (json!({key.clone(): value}), format!("extra_data.{key}"))
        };
        let result = apply_patch(&credential, Some(&secrets), &patch(json!({"extra_data": extra_data})));
        if !nested && schema.is_secret(&key) {
            // The exact declared name of this kind: stored as a secret, not in extra_data.
            let outcome = result.expect("a declared secret applies");
            prop_assert!(!outcome.credential.extra_data.contains_key(&key));
            let stored = outcome.secrets.expect("set");
            prop_assert_eq!(stored.get(&key).expect("stored").expose(), value);
        } else {
            let errors = match result {
                Err(PatchError::Invalid(errors)) => errors,
                other => return Err(TestCaseError::fail(format!("{key:?} was accepted: {other:?}"))),
            };
            prop_assert!(errors.errors().iter().any(|error| error.field == path), "{:?}", errors);
        }
    }
}

// The account name: derived from non-secret fields when not given, and kept current.

fn postgres_body(extra: Value) -> Value {
    json!({"provider": "postgresql", "kind": "user_password", "name": "Warehouse", "extra_data": extra})
}

#[test]
fn create_without_account_name_derives_user_at_host() {
    for body in [
        postgres_body(json!({"host": "db.internal", "username": "etl", "password": "pw"})),
        {
            let mut body =
                postgres_body(json!({"host": "db.internal", "username": "etl", "password": "pw"}));
            body["account_name"] = Value::Null;
            body
        },
    ] {
        let (credential, _) = create(body);
        assert_eq!(credential.account_name, "etl@db.internal");
    }
    let (sftp, _) = create(json!({
        "provider": "sftp", "kind": "user_password", "name": "Drop",
        "extra_data": {"host": "sftp.example.com", "username": "drop", "password": "pw"}
    }));
    assert_eq!(sftp.account_name, "drop@sftp.example.com");
}

#[test]
fn create_with_an_explicit_account_name_keeps_it() {
    let mut body =
        postgres_body(json!({"host": "db.internal", "username": "etl", "password": "pw"}));
    body["account_name"] = json!("warehouse loader");
    let (credential, _) = create(body);
    assert_eq!(credential.account_name, "warehouse loader");
}

#[test]
fn a_connection_string_is_never_parsed_for_the_account_name() {
    let (credential, secrets) = create(postgres_body(
        json!({"connection_string": "postgresql://hidden_user:pw@hidden.host/dw"}),
    ));
    assert_eq!(credential.account_name, "postgresql");
    assert!(secrets.get("connection_string").is_some());
}

#[test]
fn other_kinds_derive_from_their_non_secret_identifiers() {
    let cases = [
        (
            json!({"provider": "aws_ses", "kind": "api_key", "name": "Mail", "extra_data":
                {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1", "secret_access_key": "s"}}),
            "AKIAEXAMPLE",
        ),
        (
            json!({"provider": "microsoft", "kind": "oauth2", "name": "M365", "extra_data":
                {"client_id": "app-123", "tenant_id": "contoso", "client_secret": "s"}}),
            "app-123",
        ),
        (
            json!({"provider": "stripe", "kind": "api_key", "name": "Billing", "extra_data":
                {"api_key": "sk_live_x"}}),
            "stripe",
        ),
        (
            json!({"provider": "wordpress", "kind": "user_password", "name": "Blog", "extra_data":
                {"site_url": "https://blog.example.com", "username": "editor", "password": "p"}}),
            "editor",
        ),
    ];
    for (body, expected) in cases {
        let (credential, _) = create(body);
        assert_eq!(credential.account_name, expected);
    }
}

#[test]
fn a_derived_account_name_follows_the_fields_it_came_from() {
    let (credential, secrets) = create(postgres_body(
        json!({"host": "db.internal", "username": "etl", "password": "pw"}),
    ));
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"username": "loader"}}),
    );
    assert_eq!(outcome.credential.account_name, "loader@db.internal");
    assert!(outcome.changed_fields.contains(&"account_name".to_owned()));
    // A change of an unrelated field leaves it alone.
    let outcome = apply(&credential, &secrets, json!({"description": "nightly"}));
    assert_eq!(outcome.credential.account_name, "etl@db.internal");
    assert_eq!(outcome.changed_fields, ["description"]);
}

#[test]
fn an_explicit_account_name_survives_a_change_of_the_fields() {
    let (credential, secrets) = stored_postgres_credential();
    assert_eq!(credential.account_name, "etl@warehouse");
    let outcome = apply(
        &credential,
        &secrets,
        json!({"extra_data": {"username": "loader", "host": "db2.internal"}}),
    );
    assert_eq!(outcome.credential.account_name, "etl@warehouse");
    assert!(!outcome.changed_fields.contains(&"account_name".to_owned()));
}

#[test]
fn null_or_blank_account_name_derives_it_again() {
    let (credential, secrets) = stored_postgres_credential();
    for sent in [Value::Null, json!("")] {
        let outcome = apply(&credential, &secrets, json!({"account_name": sent}));
        assert_eq!(outcome.credential.account_name, "etl@db.internal", "{sent}");
        assert_eq!(outcome.changed_fields, ["account_name"]);
    }
    // Deriving again and changing the username in one request gives the new derivation.
    let outcome = apply(
        &credential,
        &secrets,
        json!({"account_name": null, "extra_data": {"username": "loader"}}),
    );
    assert_eq!(outcome.credential.account_name, "loader@db.internal");
}

#[test]
fn a_derived_account_name_is_bounded_and_single_line() {
    let extra = json!({"username": format!("é{}", "u".repeat(250)), "host": "h"});
    let derived = derived_account_name(Provider::Sftp, extra.as_object().unwrap());
    assert_eq!(derived.chars().count(), 200);
    assert!(derived.starts_with('é'));
    let extra = json!({"username": "etl\n\u{1b}[2J", "host": "db\t.internal"});
    let derived = derived_account_name(Provider::Sftp, extra.as_object().unwrap());
    assert_eq!(derived, "etl[2J@db.internal");
    assert!(check_account_name(&derived).is_ok());
    // Control characters alone count as absent.
    let extra = json!({"username": "\u{7}", "host": "h"});
    assert_eq!(
        derived_account_name(Provider::Sftp, extra.as_object().unwrap()),
        "sftp"
    );
}

fn plain_text() -> impl Strategy<Value = String> {
    // Lower case, digits, punctuation and control characters: never the secrets' upper case.
    "[a-z0-9.\\-@ \\n\\t\u{1b}]{0,260}"
}

proptest! {
    #[test]
    fn a_derived_account_name_is_never_empty_long_or_secret(
        schema_index in 0..all_schemas().len(),
        plain in proptest::collection::vec(plain_text(), 16),
        present in proptest::collection::vec(any::<bool>(), 16),
        secret in "[A-Z]{12}",
    ) {
        let schema = &all_schemas()[schema_index];
        let mut extra = serde_json::Map::new();
        for (index, field) in schema.fields.iter().enumerate() {
            if !present[index % present.len()] {
                continue;
            }
            // Secrets never sit in extra_data; put them there anyway to show they are not read.
            let value = if field.secret {
                format!("SECRET{secret}")
            } else {
                plain[index % plain.len()].clone()
            };
            extra.insert(field.name.to_owned(), Value::String(value));
        }
        let derived = derived_account_name(schema.provider, &extra);
        prop_assert!(!derived.is_empty());
        prop_assert!(derived.chars().count() <= MAX_ACCOUNT_NAME_CHARS);
        prop_assert!(!derived.contains("SECRET"), "{derived}");
        prop_assert!(check_account_name(&derived).is_ok(), "{derived:?}");
    }
}

// OAuth apps: `oauth_app_id` links an OAuth credential to an app, which supplies the client id
// and secret.

fn google_oauth(
    extra_data: Value,
    link: Option<crate::ids::OAuthAppId>,
) -> (Credential, SecretMap) {
    let mut body = json!({
        "provider": "google", "kind": "google_oauth", "name": "Drive", "extra_data": extra_data
    });
    if let Some(id) = link {
        body["oauth_app_id"] = json!(id.to_string());
    }
    create(body)
}

#[test]
fn a_linked_oauth_credential_needs_no_client_id_or_secret_of_its_own() {
    use crate::ids::OAuthAppId;
    let app = OAuthAppId::new();
    let (linked, secrets) = google_oauth(json!({"refresh_token": "r1"}), Some(app));
    assert_eq!(linked.oauth_app_id, Some(app));
    assert_eq!(linked.status, CredentialStatus::CredentialsSaved);
    assert!(secrets.get("client_secret").is_none());
    // Without the app the same body is refused: the client id is required.
    let input = NewCredential::from_json(json!({
        "provider": "google", "kind": "google_oauth", "name": "Drive",
        "extra_data": {"refresh_token": "r1"}
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
    let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["extra_data.client_id"]);
}

#[test]
fn an_unlinked_oauth_credential_without_client_secret_is_pending_and_linking_saves_it() {
    use crate::ids::OAuthAppId;
    let (pending, secrets) = google_oauth(json!({"client_id": "c1"}), None);
    assert_eq!(pending.status, CredentialStatus::Pending);
    let app = OAuthAppId::new();
    let outcome = apply(&pending, &secrets, json!({"oauth_app_id": app.to_string()}));
    assert_eq!(outcome.credential.oauth_app_id, Some(app));
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
    assert_eq!(outcome.changed_fields, ["oauth_app_id", "status"]);
}

#[test]
fn unlinking_requires_the_client_id_and_makes_a_credential_without_client_secret_pending() {
    use crate::ids::OAuthAppId;
    let (linked, secrets) = google_oauth(json!({}), Some(OAuthAppId::new()));
    assert_eq!(linked.status, CredentialStatus::CredentialsSaved);
    let errors = errors_of(&linked, &secrets, json!({"oauth_app_id": null}));
    assert_eq!(fields(&errors), ["extra_data.client_id"]);
    let outcome = apply(
        &linked,
        &secrets,
        json!({"oauth_app_id": null, "extra_data": {"client_id": "c1"}}),
    );
    assert_eq!(outcome.credential.oauth_app_id, None);
    assert_eq!(outcome.credential.status, CredentialStatus::Pending);
    assert_eq!(
        outcome.changed_fields,
        [
            "account_name",
            "oauth_app_id",
            "extra_data.client_id",
            "status"
        ]
    );
    // With a client secret of its own it stays saved.
    let outcome = apply(
        &linked,
        &secrets,
        json!({"oauth_app_id": null, "extra_data": {"client_id": "c1", "client_secret": "s1"}}),
    );
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
}

#[test]
fn relinking_a_connected_credential_falls_back_to_credentials_saved() {
    use crate::ids::OAuthAppId;
    let (mut linked, secrets) = google_oauth(json!({}), Some(OAuthAppId::new()));
    linked.status = CredentialStatus::Connected;
    linked.health.status = HealthStatus::Healthy;
    let outcome = apply(
        &linked,
        &secrets,
        json!({"oauth_app_id": OAuthAppId::new().to_string()}),
    );
    assert_eq!(
        outcome.credential.status,
        CredentialStatus::CredentialsSaved
    );
    assert_eq!(outcome.credential.health.status, HealthStatus::Unknown);
    assert_eq!(outcome.changed_fields, ["oauth_app_id", "status", "health"]);
    // The same app again is no change at all.
    let same = linked.oauth_app_id.unwrap().to_string();
    assert!(!apply(&linked, &secrets, json!({"oauth_app_id": same})).changed());
}

#[test]
fn a_non_oauth_kind_with_an_oauth_app_id_is_refused_by_field() {
    use crate::ids::OAuthAppId;
    let (credential, secrets) = stored_postgres_credential();
    let errors = errors_of(
        &credential,
        &secrets,
        json!({"oauth_app_id": OAuthAppId::new().to_string()}),
    );
    assert_eq!(fields(&errors), ["oauth_app_id"]);
    assert!(errors[0].1.contains("OAuth kinds"), "{}", errors[0].1);
    // Unlinking what is not linked is no change.
    assert!(!apply(&credential, &secrets, json!({"oauth_app_id": null})).changed());
    let input = NewCredential::from_json(json!({
        "provider": "stripe", "kind": "api_key", "name": "Payments",
        "extra_data": {"api_key": "sk_1"}, "oauth_app_id": OAuthAppId::new().to_string()
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
    assert_eq!(errors.errors()[0].field, "oauth_app_id");
}

#[test]
fn an_oauth_app_id_that_is_not_a_uuid_is_a_parse_error() {
    for value in [json!("not-a-uuid"), json!(7), json!({})] {
        let errors = CredentialPatch::from_json(json!({"oauth_app_id": value})).unwrap_err();
        assert_eq!(errors.errors()[0].field, "oauth_app_id");
    }
}

// Scheduled health checks: `health_check_interval_seconds`, connectable kinds only, 60..=604800.

#[test]
fn a_health_check_interval_is_set_changed_and_turned_off_without_touching_status_or_health() {
    let (credential, secrets) = stored_postgres_credential();
    assert_eq!(credential.status, CredentialStatus::Connected);
    let outcome = apply(
        &credential,
        &secrets,
        json!({"health_check_interval_seconds": 300}),
    );
    assert_eq!(outcome.credential.health_check_interval_seconds, Some(300));
    // Descriptive: the last test still says what the credential is.
    assert_eq!(outcome.credential.status, CredentialStatus::Connected);
    assert_eq!(outcome.credential.health, credential.health);
    assert_eq!(outcome.changed_fields, ["health_check_interval_seconds"]);
    let scheduled = outcome.credential;
    assert!(
        !apply(
            &scheduled,
            &secrets,
            json!({"health_check_interval_seconds": 300})
        )
        .changed()
    );
    let changed = apply(
        &scheduled,
        &secrets,
        json!({"health_check_interval_seconds": 604_800}),
    );
    assert_eq!(
        changed.credential.health_check_interval_seconds,
        Some(604_800)
    );
    // Absent keeps it; null turns it off.
    let renamed = apply(&scheduled, &secrets, json!({"name": "Other"}));
    assert_eq!(renamed.credential.health_check_interval_seconds, Some(300));
    let off = apply(
        &scheduled,
        &secrets,
        json!({"health_check_interval_seconds": null}),
    );
    assert_eq!(off.credential.health_check_interval_seconds, None);
    assert_eq!(off.changed_fields, ["health_check_interval_seconds"]);
}

#[test]
fn a_health_check_interval_out_of_range_is_refused_by_field() {
    let (credential, secrets) = stored_postgres_credential();
    for seconds in [0, 59, 604_801, 10_000_000_000_u64] {
        let errors = errors_of(
            &credential,
            &secrets,
            json!({"health_check_interval_seconds": seconds, "name": "Renamed"}),
        );
        assert_eq!(
            fields(&errors),
            ["health_check_interval_seconds"],
            "{seconds}"
        );
        assert!(errors[0].1.contains("60 to 604800"), "{}", errors[0].1);
    }
    for value in [json!(-60), json!(60.5), json!("60"), json!(true), json!({})] {
        let errors = CredentialPatch::from_json(json!({"health_check_interval_seconds": value}))
            .unwrap_err();
        assert_eq!(errors.errors()[0].field, "health_check_interval_seconds");
    }
}

#[test]
fn a_health_check_interval_is_refused_for_kinds_a_connection_test_cannot_reach() {
    let (oauth, secrets) = google_oauth(json!({"client_id": "c1", "client_secret": "s1"}), None);
    let errors = errors_of(
        &oauth,
        &secrets,
        json!({"health_check_interval_seconds": 300}),
    );
    assert_eq!(fields(&errors), ["health_check_interval_seconds"]);
    assert!(
        errors[0].1.contains("google/google_oauth"),
        "{}",
        errors[0].1
    );
    // Turning off what is not on is no change.
    assert!(
        !apply(
            &oauth,
            &secrets,
            json!({"health_check_interval_seconds": null})
        )
        .changed()
    );
    let input = NewCredential::from_json(json!({
        "provider": "stripe", "kind": "api_key", "name": "Payments",
        "extra_data": {"api_key": "sk_1"}, "health_check_interval_seconds": 300
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
    assert_eq!(errors.errors()[0].field, "health_check_interval_seconds");
}

#[test]
fn a_create_of_a_connectable_kind_may_schedule_health_checks() {
    for body in [
        json!({"provider": "sftp", "kind": "key_file", "name": "Drop",
            "extra_data": {"host": "sftp.internal", "username": "etl", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"},
            "health_check_interval_seconds": 60}),
        json!({"provider": "internal_postgresql", "kind": "user_password", "name": "Own",
            "extra_data": {"host": "db", "database": "dw", "username": "etl", "password": "p"},
            "health_check_interval_seconds": 60}),
    ] {
        let (created, _) = create(body);
        assert_eq!(created.health_check_interval_seconds, Some(60));
        assert_eq!(created.status, CredentialStatus::CredentialsSaved);
    }
}
