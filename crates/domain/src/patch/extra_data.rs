//! The `extra_data` merge: top-level shallow merge with a side-channel for secret fields.
//!
//! - A non-secret key's new value replaces the old one wholesale (nested objects too);
//!   `null` deletes it.
//! - A declared secret key never lands in `extra_data`: `""`, `null` or [`MASK`] keep the stored
//!   value, any other string becomes a [`SecretOp::Set`].
//! - An undeclared key that looks secret (see [`looks_secret`]) is rejected, at any depth.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::schema::{Schema, looks_secret};
use crate::secret::{MASK, SecretValue};
use crate::validate::ValidationErrors;

/// What a patch asks for one secret field.
#[derive(Clone, Debug)]
pub enum SecretOp {
    /// Keep the stored value (the field was sent blank, `null` or masked).
    Keep,
    /// Store this value.
    Set(SecretValue),
    /// Remove the stored value (`clear_secrets`).
    Clear,
}

/// Whether a secret field's value in a patch means "keep what is stored".
pub fn keeps_stored_secret(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty() || text == MASK,
        _ => false,
    }
}

/// Merges `patch` into `extra_data` and collects the secret operations it asks for.
///
/// Type errors and secret-looking undeclared keys are pushed to `errors` with the path
/// `extra_data.<key>`; a failing key leaves `extra_data` untouched for that key.
pub fn merge_extra_data(
    schema: &Schema,
    extra_data: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    secret_ops: &mut BTreeMap<String, SecretOp>,
    errors: &mut ValidationErrors,
) {
    for (key, value) in patch {
        let path = format!("extra_data.{key}");
        match schema.field(key) {
            Some(field) if field.secret => {
                if keeps_stored_secret(value) {
                    secret_ops.insert(key.clone(), SecretOp::Keep);
                } else if let Value::String(text) = value {
                    match field.check_secret(text) {
                        Ok(()) => {
                            secret_ops.insert(
                                key.clone(),
                                SecretOp::Set(SecretValue::from(text.as_str())),
                            );
                        }
                        Err(message) => errors.push(path, message),
                    }
                } else {
                    errors.push(path, "must be a string");
                }
            }
            Some(field) => {
                if value.is_null() {
                    extra_data.remove(key);
                    continue;
                }
                match field.check_value(value) {
                    Ok(()) => {
                        if let Some(nested) = secret_looking_path(value, &path) {
                            errors.push(nested, secret_like_message(schema));
                        } else {
                            extra_data.insert(key.clone(), value.clone());
                        }
                    }
                    Err(message) => errors.push(path, message),
                }
            }
            None if looks_secret(key) => errors.push(path, secret_like_message(schema)),
            None if value.is_null() => {
                extra_data.remove(key);
            }
            None => match secret_looking_path(value, &path) {
                Some(nested) => errors.push(nested, secret_like_message(schema)),
                None => {
                    extra_data.insert(key.clone(), value.clone());
                }
            },
        }
    }
}

/// The path of the first nested key that looks secret, if any.
fn secret_looking_path(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, nested)| {
            let nested_path = format!("{path}.{key}");
            if looks_secret(key) {
                Some(nested_path)
            } else {
                secret_looking_path(nested, &nested_path)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| secret_looking_path(item, &format!("{path}[{index}]"))),
        _ => None,
    }
}

fn secret_like_message(schema: &Schema) -> String {
    let declared: Vec<&str> = schema.secret_fields().map(|field| field.name).collect();
    format!(
        "looks like a secret but is not a secret field of {}/{}, so it would be stored in plain text; \
         the secret fields are: {}",
        schema.provider,
        schema.kind,
        declared.join(", ")
    )
}
