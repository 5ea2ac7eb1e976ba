//! The `extra_data` merge: top-level shallow merge with a side-channel for secret fields.
//!
//! - A non-secret key's new value replaces the old one wholesale (nested objects too);
//!   `null` deletes it.
//! - A declared secret key never lands in `extra_data`: `""`, `null` or [`MASK`] keep the stored
//!   value, any other string becomes a [`SecretOp::Set`].
//! - An undeclared key that looks secret (see [`looks_secret`]) is rejected, at any depth; so is
//!   a variant of a declared name (`Host`, `Pass_Phrase`, a look-alike letter or an invisible
//!   character), with a hint naming the declared field, and a key holding a control or
//!   invisible character.
//!
//! The request's values are sorted when they are parsed ([`ExtraDataPatch::from_map`]), before
//! the schema is known: a string under a secret-looking key moves into a [`SecretValue`] at once,
//! and a value that hides a secret-looking key deeper down is dropped, keeping only the path for
//! the error. No plaintext copy of a secret stays in the JSON tree, and `Debug` prints none.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroize;

use crate::schema::names::is_deceptive;
use crate::schema::{Schema, is_declared_plain, looks_secret};
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

/// The value sent under a secret-looking key, taken out of the JSON tree.
#[derive(Clone)]
pub enum SecretInput {
    /// `null`: keep the stored secret; for an undeclared key stored earlier, delete it.
    Null,
    /// `""` or the mask: keep the stored value.
    Keep,
    /// Any other string, already in a wiped-on-drop buffer.
    Text(SecretValue),
    /// Not a string (the value itself was dropped).
    NotAString,
}

impl SecretInput {
    fn from_value(value: Value) -> Self {
        match value {
            Value::Null => Self::Null,
            // The string moves into the secret buffer without a copy.
            Value::String(text) if text.is_empty() || text == MASK => Self::Keep,
            Value::String(text) => Self::Text(SecretValue::new(text)),
            other => {
                wipe(other);
                Self::NotAString
            }
        }
    }
}

/// Wipes every string of a value that is dropped because it may hold a secret.
fn wipe(value: Value) {
    match value {
        Value::String(mut text) => text.zeroize(),
        Value::Array(items) => items.into_iter().for_each(wipe),
        Value::Object(map) => map.into_iter().for_each(|(_, nested)| wipe(nested)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Keep => f.write_str("Keep"),
            Self::Text(_) => write!(f, "Text({MASK})"),
            Self::NotAString => f.write_str("NotAString"),
        }
    }
}

/// One key of an `extra_data` patch, sorted at parse time.
#[derive(Clone)]
pub enum ExtraValue {
    /// A value without any secret-looking key inside; the key itself does not look secret, or
    /// is a declared non-secret field such as `token_url`.
    Plain(Value),
    /// The key looks secret: its value is held as a secret.
    Secret(SecretInput),
    /// The value holds a secret-looking or deceptive key at this path (e.g.
    /// `extra_data.options.apiKey`); the value was dropped and the key is refused.
    SecretInside(String),
}

/// Whether a key's value must be held as a secret at parse time: the key looks secret, or it
/// could be a disguised secret name (mixed scripts, hidden characters). Such a key is refused
/// unless it is a declared secret field, so its value is never needed as plain JSON.
fn held_as_secret(key: &str) -> bool {
    (looks_secret(key) || is_deceptive(key)) && !is_declared_plain(key)
}

impl fmt::Debug for ExtraValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            Self::Secret(input) => f.debug_tuple("Secret").field(input).finish(),
            Self::SecretInside(path) => f.debug_tuple("SecretInside").field(path).finish(),
        }
    }
}

/// The `extra_data` of a PATCH or create body, keys in order, secrets already out of the tree.
#[derive(Clone, Default)]
pub struct ExtraDataPatch(BTreeMap<String, ExtraValue>);

impl ExtraDataPatch {
    /// Sorts the keys of a request's `extra_data` object, consuming it.
    pub fn from_map(map: Map<String, Value>) -> Self {
        let entries = map
            .into_iter()
            .map(|(key, value)| {
                let path = format!("extra_data.{key}");
                let sorted = if held_as_secret(&key) {
                    ExtraValue::Secret(SecretInput::from_value(value))
                } else {
                    match secret_looking_path(&value, &path) {
                        Some(nested) => {
                            wipe(value);
                            ExtraValue::SecretInside(nested)
                        }
                        None => ExtraValue::Plain(value),
                    }
                };
                (key, sorted)
            })
            .collect();
        Self(entries)
    }

    /// The keys and their sorted values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ExtraValue)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }

    /// Whether the patch names no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether applying the patch sets a new value for one of the schema's secret fields.
    pub fn sets_a_secret(&self, schema: &Schema) -> bool {
        self.iter().any(|(key, value)| {
            schema.is_secret(key) && matches!(value, ExtraValue::Secret(SecretInput::Text(_)))
        })
    }
}

impl fmt::Debug for ExtraDataPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

/// Merges `patch` into `extra_data` and collects the secret operations it asks for.
///
/// Type errors, variants of declared names and secret-looking undeclared keys are pushed to
/// `errors` with the path `extra_data.<key>`; a failing key leaves `extra_data` untouched for
/// that key.
pub fn merge_extra_data(
    schema: &Schema,
    extra_data: &mut Map<String, Value>,
    patch: &ExtraDataPatch,
    secret_ops: &mut BTreeMap<String, SecretOp>,
    errors: &mut ValidationErrors,
) {
    for (key, value) in patch.iter() {
        let path = format!("extra_data.{key}");
        match (schema.field(key), value) {
            (_, ExtraValue::SecretInside(nested)) => {
                let nested_key = nested.rsplit('.').next().unwrap_or_default();
                if looks_secret(nested_key) {
                    errors.push(nested.clone(), secret_like_message(schema));
                } else {
                    errors.push(nested.clone(), DECEPTIVE_KEY_MESSAGE);
                }
            }
            (Some(field), ExtraValue::Secret(input)) if field.secret => match input {
                SecretInput::Null | SecretInput::Keep => {
                    secret_ops.insert(key.to_owned(), SecretOp::Keep);
                }
                SecretInput::Text(text) => match field.check_secret(text.expose()) {
                    Ok(()) => {
                        secret_ops.insert(key.to_owned(), SecretOp::Set(text.clone()));
                    }
                    Err(message) => errors.push(path, message),
                },
                SecretInput::NotAString => errors.push(path, "must be a string"),
            },
            (Some(field), ExtraValue::Plain(value)) if field.secret => {
                // Unreachable by construction (declared secret names look secret), but a secret
                // in a plain value is still never stored in `extra_data`.
                match value {
                    Value::String(text) if !keeps_stored_secret(value) => {
                        match field.check_secret(text) {
                            Ok(()) => {
                                secret_ops.insert(
                                    key.to_owned(),
                                    SecretOp::Set(SecretValue::from(text.as_str())),
                                );
                            }
                            Err(message) => errors.push(path, message),
                        }
                    }
                    Value::Null | Value::String(_) => {
                        secret_ops.insert(key.to_owned(), SecretOp::Keep);
                    }
                    _ => errors.push(path, "must be a string"),
                }
            }
            (Some(_), ExtraValue::Secret(_)) => {
                // A declared plain field is never sorted as a secret (`is_declared_plain`).
                errors.push(path, secret_like_message(schema));
            }
            (Some(field), ExtraValue::Plain(value)) => {
                if value.is_null() {
                    extra_data.remove(key);
                    continue;
                }
                match field.check_value(value) {
                    Ok(()) => {
                        extra_data.insert(key.to_owned(), value.clone());
                    }
                    Err(message) => errors.push(path, message),
                }
            }
            // Deleting an undeclared key stored before today's rules is always allowed: it
            // writes nothing new.
            (None, ExtraValue::Plain(Value::Null) | ExtraValue::Secret(SecretInput::Null))
                if extra_data.contains_key(key) =>
            {
                extra_data.remove(key);
            }
            (None, _) if schema.variant_of(key).is_some() => {
                let declared = schema.variant_of(key).map_or("", |field| field.name);
                errors.push(
                    path,
                    format!(
                        "is not a field of {}/{}; did you mean `{declared}`?",
                        schema.provider, schema.kind
                    ),
                );
            }
            (None, _) if is_deceptive(key) => errors.push(path, DECEPTIVE_KEY_MESSAGE),
            (None, ExtraValue::Secret(_)) => errors.push(path, secret_like_message(schema)),
            // A plain field of other kinds whose name looks secret (`token_url` on SFTP).
            (None, ExtraValue::Plain(_)) if looks_secret(key) => {
                errors.push(path, secret_like_message(schema));
            }
            (None, ExtraValue::Plain(Value::Null)) => {
                extra_data.remove(key);
            }
            (None, ExtraValue::Plain(value)) => {
                extra_data.insert(key.to_owned(), value.clone());
            }
        }
    }
}

const DECEPTIVE_KEY_MESSAGE: &str = "must not contain control characters, invisible characters \
     such as zero-width spaces, or letters of several scripts mixed (such as Latin and Cyrillic)";

/// The path of the first nested key that looks secret or is deceptive, if any.
fn secret_looking_path(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, nested)| {
            let nested_path = format!("{path}.{key}");
            if looks_secret(key) || is_deceptive(key) {
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
