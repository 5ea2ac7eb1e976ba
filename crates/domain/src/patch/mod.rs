//! The PATCH engine: pure functions from a stored credential and a parsed patch to the new state.
//!
//! [`apply_patch`] takes the stored [`Credential`], the stored secrets (only when the patch
//! touches secrets, see [`CredentialPatch::touches_secrets`]) and a [`CredentialPatch`], and
//! returns a [`PatchOutcome`]: the new non-secret state, the new secret map if it changed, the
//! names of the changed fields and what happened to each secret the patch named. Or it returns
//! every validation error at once. It never writes anything; the caller stores the outcome.
//!
//! The rules (SPEC §3):
//!
//! ```
//! use credvault_domain::patch::{CredentialPatch, apply_patch};
//! # use credvault_domain::patch::doc_support::stored_postgres_credential;
//! use serde_json::json;
//!
//! // A stored PostgreSQL credential with a password and host "db.internal".
//! let (credential, secrets) = stored_postgres_credential();
//!
//! // A blank or masked secret keeps the stored value; a new host replaces the old one.
//! let patch = CredentialPatch::from_json(json!({
//!     "extra_data": {"password": "••••", "host": "db2.internal"}
//! })).unwrap();
//! let outcome = apply_patch(&credential, Some(&secrets), &patch).unwrap();
//! assert_eq!(outcome.credential.extra_data["host"], "db2.internal");
//! assert!(outcome.secrets.is_none()); // secrets unchanged
//! // The credential was `connected`; a connection field changed, so it must be tested again.
//! assert_eq!(outcome.changed_fields, ["extra_data.host", "status", "health"]);
//!
//! // A new secret replaces the stored one and never lands in extra_data.
//! let patch = CredentialPatch::from_json(json!({"extra_data": {"password": "n3w"}})).unwrap();
//! let outcome = apply_patch(&credential, Some(&secrets), &patch).unwrap();
//! assert_eq!(outcome.secrets.unwrap().get("password").unwrap().expose(), "n3w");
//! assert!(!outcome.credential.extra_data.contains_key("password"));
//!
//! // Every failing field is reported at once, and nothing is returned to write.
//! let patch = CredentialPatch::from_json(json!({
//!     "name": "", "extra_data": {"port": 70000, "db_password": "x"}
//! })).unwrap();
//! let errors = apply_patch(&credential, Some(&secrets), &patch).unwrap_err();
//! assert_eq!(errors.validation().unwrap().errors().len(), 3);
//! ```

pub mod extra_data;
pub mod merge_patch;

#[doc(hidden)]
pub mod doc_support;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::audit::SecretEffect;
use crate::credential::{Credential, CredentialStatus, Health};
use crate::ids::{CredentialId, PrincipalId, TeamId};
use crate::schema::{Kind, Provider, Schema, looks_secret, schema_for};
use crate::secret::{MASK, SecretMap};
use crate::validate::{
    ValidationErrors, check_multi_line, check_single_line, json_depth, json_size,
};

use self::extra_data::{ExtraDataPatch, SecretOp, merge_extra_data};
use self::merge_patch::merge_patch;

/// The deepest nesting accepted in a request body.
pub const MAX_DEPTH: usize = 32;
/// The largest `extra_data` or `metadata`, in bytes of compact JSON, once merged.
pub const MAX_JSON_BYTES: usize = 16 * 1024;
/// The longest `name`, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest `description`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest `account_name`, in characters.
pub const MAX_ACCOUNT_NAME_CHARS: usize = 200;

/// One field of a partial update: absent, explicitly `null`, or a value.
///
/// With `#[serde(default)]` on the field, a missing key deserializes as `Absent`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// The key was not sent: keep the stored value.
    #[default]
    Absent,
    /// The key was sent as `null`.
    Null,
    /// The key was sent with a value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the key was sent at all.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value, if one was sent.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Self::Value(value),
            None => Self::Null,
        })
    }
}

/// A parsed PATCH body. Build it with [`CredentialPatch::from_json`] to get every error at once.
///
/// Secret values are held as [`SecretValue`](crate::secret::SecretValue)s from parse time on, and
/// `Debug` masks them (and every value under a secret-looking key of `metadata`).
#[derive(Clone, Default)]
pub struct CredentialPatch {
    /// Must equal the stored provider if sent (it is immutable).
    pub provider: Patch<String>,
    /// Must equal the stored kind if sent (it is immutable).
    pub kind: Patch<String>,
    /// New display name; `null` is refused.
    pub name: Patch<String>,
    /// New description; `null` clears it.
    pub description: Patch<String>,
    /// New account name; `null` clears it.
    pub account_name: Patch<String>,
    /// New status (a wire name); `null` keeps the stored one.
    pub status: Patch<String>,
    /// An RFC 7396 merge patch for `metadata`; `null` clears it.
    pub metadata: Patch<Value>,
    /// A shallow merge for `extra_data`, secrets included (already out of the JSON tree).
    pub extra_data: Patch<ExtraDataPatch>,
    /// Secret fields to remove.
    pub clear_secrets: Vec<String>,
}

impl CredentialPatch {
    /// The keys a PATCH body may hold.
    pub const FIELDS: [&'static str; 9] = [
        "provider",
        "kind",
        "name",
        "description",
        "account_name",
        "status",
        "metadata",
        "extra_data",
        "clear_secrets",
    ];

    /// Parses a PATCH body, reporting every unknown key and type error at once.
    ///
    /// ```
    /// use credvault_domain::patch::{CredentialPatch, Patch};
    /// use serde_json::json;
    ///
    /// let patch = CredentialPatch::from_json(json!({"description": null})).unwrap();
    /// assert_eq!(patch.description, Patch::Null);
    /// assert_eq!(patch.name, Patch::Absent);
    ///
    /// let errors = CredentialPatch::from_json(json!({"nmae": "x", "name": 5})).unwrap_err();
    /// assert_eq!(errors.errors().len(), 2);
    /// ```
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Value::Object(mut body) = body else {
            errors.push("body", "must be a JSON object");
            return Err(errors);
        };
        if 1 + body.values().map(json_depth).max().unwrap_or(0) > MAX_DEPTH {
            errors.push("body", format!("nests deeper than {MAX_DEPTH} levels"));
            return Err(errors);
        }
        for key in body.keys() {
            if !Self::FIELDS.contains(&key.as_str()) {
                errors.push(
                    key.clone(),
                    format!(
                        "is not a known field; known fields are: {}",
                        Self::FIELDS.join(", ")
                    ),
                );
            }
        }
        let patch = Self {
            provider: take_string(&mut body, "provider", &mut errors),
            kind: take_string(&mut body, "kind", &mut errors),
            name: take_string(&mut body, "name", &mut errors),
            description: take_string(&mut body, "description", &mut errors),
            account_name: take_string(&mut body, "account_name", &mut errors),
            status: take_string(&mut body, "status", &mut errors),
            metadata: match body.remove("metadata") {
                None => Patch::Absent,
                Some(Value::Null) => Patch::Null,
                Some(value) => Patch::Value(value),
            },
            extra_data: match body.remove("extra_data") {
                None => Patch::Absent,
                Some(Value::Null) => Patch::Null,
                Some(Value::Object(map)) => Patch::Value(ExtraDataPatch::from_map(map)),
                Some(_) => {
                    errors.push("extra_data", "must be an object");
                    Patch::Absent
                }
            },
            clear_secrets: match body.remove("clear_secrets") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => {
                    let mut names = Vec::with_capacity(items.len());
                    for (index, item) in items.into_iter().enumerate() {
                        match item {
                            Value::String(name) => names.push(name),
                            _ => errors.push(format!("clear_secrets[{index}]"), "must be a string"),
                        }
                    }
                    names
                }
                Some(_) => {
                    errors.push("clear_secrets", "must be a list of secret field names");
                    Vec::new()
                }
            },
        };
        errors.into_result(patch)
    }

    /// Whether applying the patch needs the stored secret values: it sets or clears a secret.
    ///
    /// When this is `false`, [`apply_patch`] may be given `None` for the stored secrets, and the
    /// ciphertext does not have to be opened.
    pub fn touches_secrets(&self, current: &Credential) -> bool {
        if !self.clear_secrets.is_empty() {
            return true;
        }
        let (Some(schema), Patch::Value(extra_data)) = (current.schema(), &self.extra_data) else {
            return false;
        };
        extra_data.sets_a_secret(schema)
    }
}

impl fmt::Debug for CredentialPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            provider,
            kind,
            name,
            description,
            account_name,
            status,
            metadata,
            extra_data,
            clear_secrets,
        } = self;
        let metadata = match metadata {
            Patch::Value(value) => Patch::Value(masked(value)),
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
        };
        f.debug_struct("CredentialPatch")
            .field("provider", provider)
            .field("kind", kind)
            .field("name", name)
            .field("description", description)
            .field("account_name", account_name)
            .field("status", status)
            .field("metadata", &metadata)
            .field("extra_data", extra_data)
            .field("clear_secrets", clear_secrets)
            .finish()
    }
}

/// A copy of `value` in which every value under a secret-looking key, at any depth, is the mask.
fn masked(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, nested)| {
                    let shown = if looks_secret(key) {
                        Value::String(MASK.to_owned())
                    } else {
                        masked(nested)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

fn take_string(
    body: &mut Map<String, Value>,
    key: &str,
    errors: &mut ValidationErrors,
) -> Patch<String> {
    match body.remove(key) {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(Value::String(text)) => Patch::Value(text),
        Some(_) => {
            errors.push(key, "must be a string");
            Patch::Absent
        }
    }
}

/// Why a patch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch or its result is invalid; nothing may be written.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The patch sets or clears a secret but the stored secrets were not passed.
    #[error("the stored secrets must be loaded to apply a patch that changes secrets")]
    SecretsNotLoaded,
    /// The passed secrets do not match the credential's stored secret fields.
    #[error("the loaded secrets do not match the credential's secret fields")]
    SecretsOutOfSync,
}

impl PatchError {
    /// The validation errors, if that is why the patch failed.
    pub fn validation(&self) -> Option<&ValidationErrors> {
        match self {
            Self::Invalid(errors) => Some(errors),
            Self::SecretsNotLoaded | Self::SecretsOutOfSync => None,
        }
    }
}

/// The result of applying a patch.
#[derive(Debug)]
pub struct PatchOutcome {
    /// The merged, validated state. `version`, `updated_at` and `modified_by` are unchanged: the
    /// store sets them when it writes a change.
    pub credential: Credential,
    /// The complete new secret map, when the secret values changed; `None` keeps the stored
    /// ciphertext as it is.
    pub secrets: Option<SecretMap>,
    /// Names of the changed fields in a stable order, e.g. `name`, `extra_data.host`,
    /// `secrets.password`, `status`, `health`.
    pub changed_fields: Vec<String>,
    /// For each secret field the patch named, whether it was set, kept or cleared.
    pub secret_effects: BTreeMap<String, SecretEffect>,
}

impl PatchOutcome {
    /// Whether anything changed; a PATCH that changes nothing writes nothing.
    pub fn changed(&self) -> bool {
        !self.changed_fields.is_empty()
    }
}

/// Applies `patch` to the stored `current` credential.
///
/// `stored_secrets` must hold the decrypted secrets when [`CredentialPatch::touches_secrets`]
/// is true; otherwise it may be `None`. A new secret equal to the stored one counts as kept.
pub fn apply_patch(
    current: &Credential,
    stored_secrets: Option<&SecretMap>,
    patch: &CredentialPatch,
) -> Result<PatchOutcome, PatchError> {
    let schema = current
        .schema()
        .ok_or_else(|| single_error("kind", "is not accepted by the provider"))?;
    let mut errors = ValidationErrors::new();
    check_immutable(
        &patch.provider,
        "provider",
        current.provider.as_str(),
        &mut errors,
    );
    check_immutable(&patch.kind, "kind", current.kind.as_str(), &mut errors);

    let mut next = current.clone();
    apply_scalars(&mut next, patch, &mut errors);

    let mut secret_ops = BTreeMap::new();
    match &patch.extra_data {
        Patch::Absent => {}
        Patch::Null => errors.push(
            "extra_data",
            "must be an object; send null for a key to delete it",
        ),
        Patch::Value(extra_patch) => {
            merge_extra_data(
                schema,
                &mut next.extra_data,
                extra_patch,
                &mut secret_ops,
                &mut errors,
            );
        }
    }
    collect_clears(schema, patch, &mut secret_ops, &mut errors);

    if secret_ops
        .values()
        .any(|op| matches!(op, SecretOp::Set(_) | SecretOp::Clear))
    {
        let stored = stored_secrets.ok_or(PatchError::SecretsNotLoaded)?;
        if !stored
            .names()
            .eq(current.secret_fields.iter().map(String::as_str))
        {
            return Err(PatchError::SecretsOutOfSync);
        }
    }
    let (new_secrets, secret_effects) = resolve_secrets(current, stored_secrets, secret_ops);
    if let Some(secrets) = &new_secrets {
        next.secret_fields = secrets.names().map(str::to_owned).collect();
    }

    check_result(schema, current, &next, &mut errors);
    if !errors.is_empty() {
        return Err(PatchError::Invalid(errors));
    }

    let explicit_status = patch.status.is_present() && !matches!(patch.status, Patch::Null);
    settle_status(
        current,
        &mut next,
        schema,
        explicit_status,
        new_secrets.is_some(),
    );
    let changed_fields = changed_fields(current, &next, &secret_effects);
    Ok(PatchOutcome {
        credential: next,
        secrets: new_secrets,
        changed_fields,
        secret_effects,
    })
}

fn single_error(field: &str, message: &str) -> PatchError {
    let mut errors = ValidationErrors::new();
    errors.push(field, message);
    PatchError::Invalid(errors)
}

fn check_immutable(sent: &Patch<String>, field: &str, stored: &str, errors: &mut ValidationErrors) {
    let unchanged = match sent {
        Patch::Absent => true,
        Patch::Null => false,
        Patch::Value(value) => value == stored,
    };
    if !unchanged {
        errors.push(
            field,
            format!("is immutable (stored value: {stored}); create a new credential to change it"),
        );
    }
}

fn apply_scalars(next: &mut Credential, patch: &CredentialPatch, errors: &mut ValidationErrors) {
    match &patch.name {
        Patch::Absent => {}
        Patch::Null => errors.push("name", "must not be null"),
        Patch::Value(name) => match check_name(name) {
            Ok(trimmed) => next.name = trimmed,
            Err(message) => errors.push("name", message),
        },
    }
    apply_optional_text(
        &mut next.description,
        &patch.description,
        ("description", MAX_DESCRIPTION_CHARS, check_multi_line),
        errors,
    );
    apply_optional_text(
        &mut next.account_name,
        &patch.account_name,
        ("account_name", MAX_ACCOUNT_NAME_CHARS, check_single_line),
        errors,
    );
    if let Patch::Value(status) = &patch.status {
        match status.parse::<CredentialStatus>() {
            Ok(status) => next.status = status,
            Err(_) => errors.push("status", status_message()),
        }
    }
    match &patch.metadata {
        Patch::Absent => {}
        Patch::Null => next.metadata = Map::new(),
        Patch::Value(metadata_patch) => {
            let mut merged = Value::Object(std::mem::take(&mut next.metadata));
            merge_patch(&mut merged, metadata_patch);
            match merged {
                Value::Object(map) => next.metadata = map,
                _ => errors.push("metadata", "must be an object"),
            }
        }
    }
}

/// Trims a name and checks its length; the error is the message.
pub fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    let length = trimmed.chars().count();
    if length == 0 {
        Err("must not be empty".to_owned())
    } else if length > MAX_NAME_CHARS {
        Err(format!("must be at most {MAX_NAME_CHARS} characters"))
    } else {
        check_single_line(trimmed).map(|()| trimmed.to_owned())
    }
}

/// A text field's path, its length limit in characters, and its character rule.
type TextRule = (&'static str, usize, fn(&str) -> Result<(), String>);

fn apply_optional_text(
    target: &mut Option<String>,
    sent: &Patch<String>,
    (field, max_chars, check_characters): TextRule,
    errors: &mut ValidationErrors,
) {
    match sent {
        Patch::Absent => {}
        Patch::Null => *target = None,
        Patch::Value(text) if text.chars().count() > max_chars => {
            errors.push(field, format!("must be at most {max_chars} characters"));
        }
        Patch::Value(text) => match check_characters(text) {
            Ok(()) => *target = Some(text.clone()),
            Err(message) => errors.push(field, message),
        },
    }
}

fn status_message() -> String {
    let names: Vec<&str> = CredentialStatus::ALL
        .iter()
        .map(|status| status.as_str())
        .collect();
    format!("must be one of: {}", names.join(", "))
}

fn collect_clears(
    schema: &Schema,
    patch: &CredentialPatch,
    secret_ops: &mut BTreeMap<String, SecretOp>,
    errors: &mut ValidationErrors,
) {
    for name in &patch.clear_secrets {
        let path = format!("clear_secrets.{name}");
        if !schema.is_secret(name) {
            let declared: Vec<&str> = schema.secret_fields().map(|field| field.name).collect();
            let hint = match schema.variant_of(name).filter(|field| field.secret) {
                Some(field) => format!("did you mean `{}`? ", field.name),
                None => String::new(),
            };
            errors.push(
                path,
                format!(
                    "is not a secret field of {}/{}; {hint}the secret fields are: {}",
                    schema.provider,
                    schema.kind,
                    declared.join(", ")
                ),
            );
        } else if matches!(secret_ops.get(name), Some(SecretOp::Set(_))) {
            errors.push(
                path,
                format!("conflicts with the new value in extra_data.{name}"),
            );
        } else {
            secret_ops.insert(name.clone(), SecretOp::Clear);
        }
    }
}

/// Turns the requested operations into the new secret map (if it changes) and the per-field effects.
fn resolve_secrets(
    current: &Credential,
    stored: Option<&SecretMap>,
    secret_ops: BTreeMap<String, SecretOp>,
) -> (Option<SecretMap>, BTreeMap<String, SecretEffect>) {
    let mut effects = BTreeMap::new();
    let mut next = stored.cloned();
    let mut changed = false;
    for (name, op) in secret_ops {
        let is_stored = current.secret_fields.contains(&name);
        match op {
            SecretOp::Keep if is_stored => {
                effects.insert(name, SecretEffect::Kept);
            }
            SecretOp::Keep | SecretOp::Clear if !is_stored => {}
            SecretOp::Keep => {}
            SecretOp::Clear => {
                if let Some(map) = next.as_mut() {
                    map.remove(&name);
                }
                changed = true;
                effects.insert(name, SecretEffect::Cleared);
            }
            SecretOp::Set(value) => {
                let unchanged = stored
                    .and_then(|map| map.get(&name))
                    .is_some_and(|old| old.constant_time_eq(&value));
                if unchanged {
                    effects.insert(name, SecretEffect::Kept);
                } else {
                    if let Some(map) = next.as_mut() {
                        map.insert(name.clone(), value);
                    }
                    changed = true;
                    effects.insert(name, SecretEffect::Set);
                }
            }
        }
    }
    (next.filter(|_| changed), effects)
}

/// Checks the merged credential as a whole: required fields, cleared required secrets, sizes.
fn check_result(
    schema: &Schema,
    current: &Credential,
    next: &Credential,
    errors: &mut ValidationErrors,
) {
    let present = |name: &str| next.has_field(name);
    for field in schema.fields {
        if !field.is_required(present) || present(field.name) {
            continue;
        }
        if !field.secret {
            let path = format!("extra_data.{}", field.name);
            // A value of the wrong type was already reported; "is required" would only repeat it.
            if !errors.errors().iter().any(|error| error.field == path) {
                errors.push(path, "is required");
            }
        } else if current.secret_fields.contains(field.name) {
            // A stored required secret may not disappear, whether cleared directly or because
            // the field that made it optional was removed.
            errors.push(
                format!("clear_secrets.{}", field.name),
                "is required and cannot be cleared; set a new value instead",
            );
        }
    }
    if json_size(&next.extra_data) > MAX_JSON_BYTES {
        errors.push(
            "extra_data",
            format!("must be at most {MAX_JSON_BYTES} bytes of JSON"),
        );
    }
    if json_size(&next.metadata) > MAX_JSON_BYTES {
        errors.push(
            "metadata",
            format!("must be at most {MAX_JSON_BYTES} bytes of JSON"),
        );
    }
}

/// Applies the automatic status rules after a successful merge.
///
/// A change of a secret or of a connection field makes the last test meaningless: health goes
/// back to `unknown`, and a `connected`/`error`/`expired` credential falls back to
/// `credentials_saved` unless the request set the status itself. A `pending` credential whose
/// required secrets are now all stored becomes `credentials_saved`.
fn settle_status(
    current: &Credential,
    next: &mut Credential,
    schema: &Schema,
    explicit_status: bool,
    secrets_changed: bool,
) {
    let connection_changed = secrets_changed
        || schema
            .fields
            .iter()
            .filter(|field| field.connection && !field.secret)
            .any(|field| current.extra_data.get(field.name) != next.extra_data.get(field.name));
    if connection_changed {
        if !explicit_status && current.status.reflects_a_connection() {
            next.status = CredentialStatus::CredentialsSaved;
        }
        next.health = Health::unknown();
    }
    if !explicit_status
        && next.status == CredentialStatus::Pending
        && next.missing_required_secrets().is_empty()
    {
        next.status = CredentialStatus::CredentialsSaved;
    }
}

fn changed_fields(
    current: &Credential,
    next: &Credential,
    secret_effects: &BTreeMap<String, SecretEffect>,
) -> Vec<String> {
    let mut changed = Vec::new();
    if current.name != next.name {
        changed.push("name".to_owned());
    }
    if current.description != next.description {
        changed.push("description".to_owned());
    }
    if current.account_name != next.account_name {
        changed.push("account_name".to_owned());
    }
    if current.metadata != next.metadata {
        changed.push("metadata".to_owned());
    }
    let keys: BTreeSet<&String> = current
        .extra_data
        .keys()
        .chain(next.extra_data.keys())
        .collect();
    for key in keys {
        if current.extra_data.get(key) != next.extra_data.get(key) {
            changed.push(format!("extra_data.{key}"));
        }
    }
    for (name, effect) in secret_effects {
        if *effect != SecretEffect::Kept {
            changed.push(format!("secrets.{name}"));
        }
    }
    if current.status != next.status {
        changed.push("status".to_owned());
    }
    if current.health != next.health {
        changed.push("health".to_owned());
    }
    changed
}

/// The input of a create: everything a POST body holds.
///
/// `Debug` masks secrets, as [`CredentialPatch`]'s does.
#[derive(Clone, Debug)]
pub struct NewCredential {
    /// The provider's wire name.
    pub provider: String,
    /// The kind's wire name.
    pub kind: String,
    /// The rest, applied like a PATCH to an empty credential.
    pub fields: CredentialPatch,
}

impl NewCredential {
    /// The keys a create body may hold.
    pub const FIELDS: [&'static str; 8] = [
        "provider",
        "kind",
        "name",
        "description",
        "account_name",
        "status",
        "extra_data",
        "metadata",
    ];

    /// Parses a create body, reporting every error at once.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Value::Object(map) = &body {
            for (key, message) in [
                ("provider", "is required"),
                ("kind", "is required"),
                ("name", "is required"),
            ] {
                if !map.contains_key(key) {
                    errors.push(key, message);
                }
            }
            if map.contains_key("clear_secrets") {
                errors.push("clear_secrets", "is only accepted by PATCH");
            }
        }
        let fields = match CredentialPatch::from_json(body) {
            Ok(fields) => fields,
            Err(parse_errors) => {
                errors.0.extend(parse_errors.0);
                return Err(errors);
            }
        };
        let provider = fields.provider.value().cloned().unwrap_or_default();
        let kind = fields.kind.value().cloned().unwrap_or_default();
        errors.into_result(Self {
            provider,
            kind,
            fields,
        })
    }
}

/// What a create produces: the credential to store and its secrets.
#[derive(Debug)]
pub struct CreatedCredential {
    /// The new credential, version 1.
    pub credential: Credential,
    /// Its secrets (possibly empty).
    pub secrets: SecretMap,
    /// The fields that were set, as for an update.
    pub changed_fields: Vec<String>,
    /// Each secret field the body named, and whether it was set.
    pub secret_effects: BTreeMap<String, SecretEffect>,
}

/// Builds a new credential from a create body.
///
/// The status defaults to `credentials_saved` when every required secret is present, else
/// `pending`.
pub fn new_credential(
    input: &NewCredential,
    id: CredentialId,
    team_id: TeamId,
    actor: PrincipalId,
    now: DateTime<Utc>,
) -> Result<CreatedCredential, ValidationErrors> {
    let provider = input.provider.parse::<Provider>().map_err(|_| {
        let names: Vec<&str> = Provider::ALL
            .iter()
            .map(|provider| provider.as_str())
            .collect();
        one_error("provider", format!("must be one of: {}", names.join(", ")))
    })?;
    let kind = match input.kind.parse::<Kind>() {
        Ok(kind) if schema_for(provider, kind).is_some() => kind,
        _ => {
            let names: Vec<&str> = provider.kinds().iter().map(|kind| kind.as_str()).collect();
            return Err(one_error(
                "kind",
                format!(
                    "must be one of the kinds of {provider}: {}",
                    names.join(", ")
                ),
            ));
        }
    };
    let empty = Credential {
        id,
        team_id,
        provider,
        kind,
        name: String::new(),
        description: None,
        account_name: None,
        status: CredentialStatus::Pending,
        extra_data: Map::new(),
        secret_fields: BTreeSet::new(),
        metadata: Map::new(),
        health: Health::unknown(),
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: actor,
        modified_by: actor,
    };
    let empty_secrets = SecretMap::new();
    let outcome =
        apply_patch(&empty, Some(&empty_secrets), &input.fields).map_err(|error| match error {
            PatchError::Invalid(errors) => errors,
            // An empty credential has no stored secrets, so they are always "loaded" and in sync.
            PatchError::SecretsNotLoaded | PatchError::SecretsOutOfSync => {
                one_error("extra_data", "could not be applied".to_owned())
            }
        })?;
    let mut credential = outcome.credential;
    if !input.fields.status.is_present() || matches!(input.fields.status, Patch::Null) {
        credential.status = if credential.missing_required_secrets().is_empty() {
            CredentialStatus::CredentialsSaved
        } else {
            CredentialStatus::Pending
        };
    }
    let secrets = outcome.secrets.unwrap_or_default();
    let mut changed_fields = outcome.changed_fields;
    changed_fields.retain(|field| field != "status" && field != "health");
    Ok(CreatedCredential {
        credential,
        secrets,
        changed_fields,
        secret_effects: outcome.secret_effects,
    })
}

fn one_error(field: &str, message: String) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    errors.push(field, message);
    errors
}
