//! The create and PATCH bodies of service accounts and their client credentials, parsed and
//! validated.
//!
//! Built like [`CredentialPatch::from_json`](crate::patch::CredentialPatch::from_json): every
//! unknown key and bad value is reported at once (the API answers one `422`), and an omitted
//! `description` stays apart from `null`. The name and description rules are the shared ones of
//! [`validate`](crate::validate) ([`check_name`], [`check_description`]).

use serde_json::{Map, Value};

use crate::patch::Patch;
use crate::principal::Role;
use crate::validate::{ValidationErrors, check_description, check_name};

/// A validated service account create body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewServiceAccount {
    /// Trimmed, 1–200 characters.
    pub name: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// `member` unless the body said otherwise.
    pub role: Role,
}

impl NewServiceAccount {
    /// The keys the body may hold.
    pub const FIELDS: [&'static str; 3] = ["name", "description", "role"];

    /// Parses and validates a create body.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = required_name(&mut body, &mut errors);
        let description = description(&mut body, &mut errors).value().cloned();
        let role = role(&mut body, &mut errors);
        errors.into_result(Self {
            name,
            description,
            role,
        })
    }
}

/// A validated client credential create body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClientCredential {
    /// Trimmed, 1–200 characters.
    pub name: String,
    /// At most 500 characters.
    pub description: Option<String>,
}

impl NewClientCredential {
    /// The keys the body may hold.
    pub const FIELDS: [&'static str; 2] = ["name", "description"];

    /// Parses and validates a create body.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = required_name(&mut body, &mut errors);
        let description = description(&mut body, &mut errors).value().cloned();
        errors.into_result(Self { name, description })
    }
}

/// A validated PATCH body of a service account or a client credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamePatch {
    /// A new name (trimmed), or `None` to keep it.
    pub name: Option<String>,
    /// A new description, `Null` to clear it, `Absent` to keep it.
    pub description: Patch<String>,
}

impl NamePatch {
    /// The keys the body may hold.
    pub const FIELDS: [&'static str; 2] = ["name", "description"];

    /// Parses and validates a PATCH body.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = match body.remove("name") {
            None => None,
            Some(Value::Null) => {
                errors.push("name", "must not be null");
                None
            }
            Some(value) => name_value(value, &mut errors),
        };
        let description = description(&mut body, &mut errors);
        errors.into_result(Self { name, description })
    }

    /// Whether the patch names no field at all (and so changes nothing).
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && !self.description.is_present()
    }
}

/// The body as an object whose keys are all in `fields`; a non-object body fails at once.
pub(crate) fn object(
    body: Value,
    fields: &[&str],
    errors: &mut ValidationErrors,
) -> Result<Map<String, Value>, ValidationErrors> {
    let Value::Object(body) = body else {
        return Err(ValidationErrors::single("body", "must be a JSON object"));
    };
    for key in body.keys() {
        if !fields.contains(&key.as_str()) {
            errors.push(
                key.clone(),
                format!(
                    "is not a known field; known fields are: {}",
                    fields.join(", ")
                ),
            );
        }
    }
    Ok(body)
}

/// The required, trimmed `name`; empty when it is missing or refused (and an error recorded).
pub(crate) fn required_name(
    body: &mut Map<String, Value>,
    errors: &mut ValidationErrors,
) -> String {
    match body.remove("name") {
        None | Some(Value::Null) => {
            errors.push("name", "is required");
            String::new()
        }
        Some(value) => name_value(value, errors).unwrap_or_default(),
    }
}

fn name_value(value: Value, errors: &mut ValidationErrors) -> Option<String> {
    let Value::String(name) = value else {
        errors.push("name", "must be a string");
        return None;
    };
    match check_name(&name) {
        Ok(trimmed) => Some(trimmed),
        Err(message) => {
            errors.push("name", message);
            None
        }
    }
}

/// The optional `role`, `member` when omitted (or refused, with an error recorded).
pub(crate) fn role(body: &mut Map<String, Value>, errors: &mut ValidationErrors) -> Role {
    match body.remove("role") {
        None | Some(Value::Null) => Role::Member,
        Some(Value::String(role)) => role.parse().unwrap_or_else(|_| {
            errors.push("role", "must be `owner` or `member`");
            Role::Member
        }),
        Some(_) => {
            errors.push("role", "must be a string");
            Role::Member
        }
    }
}

fn description(body: &mut Map<String, Value>, errors: &mut ValidationErrors) -> Patch<String> {
    match body.remove("description") {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(Value::String(text)) => match check_description(&text) {
            Ok(()) => Patch::Value(text),
            Err(message) => {
                errors.push("description", message);
                Patch::Absent
            }
        },
        Some(_) => {
            errors.push("description", "must be a string");
            Patch::Absent
        }
    }
}

#[cfg(test)]
mod tests;
