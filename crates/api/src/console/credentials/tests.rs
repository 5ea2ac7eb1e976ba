//! The form → request body translation of the credential pages.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use credvault_domain::schema::{Kind, Provider, schema_for};
use credvault_domain::testing::stored_postgres_credential;
use serde_json::{Value, json};

use super::extra_data_from_form;
use crate::console::form::FormFields;

fn sftp_key_file() -> &'static credvault_domain::schema::Schema {
    schema_for(Provider::Sftp, Kind::KeyFile).unwrap()
}

#[test]
fn a_typed_secret_is_sent_and_a_blank_one_is_not() {
    let mut form = FormFields::parse(
        "x.host=files.example.com&x.port=2222&x.username=deploy&s.private_key=KEY&s.passphrase=",
    )
    .unwrap();
    let extra = extra_data_from_form(&mut form, sftp_key_file(), None);
    assert!(extra.errors.is_empty());
    assert!(extra.typed_secret);
    assert_eq!(
        Value::Object(extra.extra_data),
        json!({"host": "files.example.com", "port": 2222, "username": "deploy", "private_key": "KEY"})
    );
    // The secret was moved out of the form, not copied.
    assert_eq!(form.get("s.private_key"), Some(""));
}

#[test]
fn a_create_without_typed_secrets_says_so() {
    let mut form = FormFields::parse("x.host=h&s.private_key=&s.passphrase=").unwrap();
    let extra = extra_data_from_form(&mut form, sftp_key_file(), None);
    assert!(!extra.typed_secret);
    assert_eq!(Value::Object(extra.extra_data), json!({"host": "h"}));
    // Clearing means nothing on a create.
    let mut form = FormFields::parse("clear.passphrase=on").unwrap();
    assert!(
        extra_data_from_form(&mut form, sftp_key_file(), None)
            .clear_secrets
            .is_empty()
    );
}

#[test]
fn an_edit_sends_null_for_an_emptied_field_and_clear_secrets_for_a_ticked_box() {
    let (stored, _) = stored_postgres_credential();
    let schema = stored.schema().unwrap();
    let declared: Vec<&str> = schema.fields.iter().map(|field| field.name).collect();
    let emptied = stored
        .extra_data
        .keys()
        .find(|key| declared.contains(&key.as_str()))
        .unwrap()
        .clone();
    let secret = schema.secret_fields().next().unwrap().name;
    let encoded = format!("x.{emptied}=&clear.{secret}=on");
    let mut form = FormFields::parse(&encoded).unwrap();
    let extra = extra_data_from_form(&mut form, schema, Some(&stored));
    assert_eq!(extra.extra_data.get(&emptied), Some(&Value::Null));
    assert_eq!(extra.clear_secrets, vec![secret.to_owned()]);
    // Inputs the form did not hold are left out: absent keeps.
    assert_eq!(extra.extra_data.len(), 1);
}

#[test]
fn an_object_field_must_be_json() {
    let schema = schema_for(Provider::Keystatic, Kind::ApiKey).unwrap();
    let object = schema
        .fields
        .iter()
        .find(|field| field.ty == credvault_domain::schema::FieldType::Object)
        .unwrap()
        .name;
    let mut form = FormFields::parse(&format!("x.{object}=%7B%22a%22%3A1%7D")).unwrap();
    let extra = extra_data_from_form(&mut form, schema, None);
    assert_eq!(extra.extra_data.get(object), Some(&json!({"a": 1})));
    let mut form = FormFields::parse(&format!("x.{object}=not+json")).unwrap();
    let extra = extra_data_from_form(&mut form, schema, None);
    assert_eq!(extra.errors.len(), 1);
    assert_eq!(extra.errors[0].field, format!("extra_data.{object}"));
    assert!(!extra.extra_data.contains_key(object));
}
