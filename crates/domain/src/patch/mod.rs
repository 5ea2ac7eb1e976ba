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
//! # use credvault_domain::testing::stored_postgres_credential;
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

//!
//! The engine is three files: this module parses a body into a [`CredentialPatch`] (and holds
//! [`Patch`], the tri-state of one field), `apply` merges a patch into a stored credential
//! ([`apply_patch`]), and `create` builds a new credential from a create body
//! ([`new_credential`]), applying it like a PATCH to an empty credential.

mod apply;
mod create;
pub mod extra_data;
pub mod merge_patch;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::credential::Credential;
use crate::health_check::HEALTH_CHECK_INTERVAL_SECONDS;
use crate::ids::OAuthAppId;
use crate::oauth_app::OAUTH_APP_ID;
use crate::schema::looks_secret;
use crate::secret::MASK;
use crate::validate::{ValidationErrors, json_depth};

pub use self::apply::{PatchError, PatchOutcome, apply_patch, derived_account_name};
pub use self::create::{CreatedCredential, NewCredential, new_credential};

use self::extra_data::ExtraDataPatch;

/// The deepest nesting accepted in a request body.
pub const MAX_DEPTH: usize = 32;
/// The largest `extra_data` or `metadata`, in bytes of compact JSON, once merged.
pub const MAX_JSON_BYTES: usize = 16 * 1024;

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

    /// The field's new value given its `current` one: absent keeps it, `null` clears it, a value
    /// replaces it.
    ///
    /// ```
    /// use credvault_domain::patch::Patch;
    ///
    /// let stored = Some("old".to_owned());
    /// assert_eq!(Patch::Absent.apply_to(stored.clone()), stored);
    /// assert_eq!(Patch::<String>::Null.apply_to(stored.clone()), None);
    /// assert_eq!(Patch::Value("new".to_owned()).apply_to(stored), Some("new".to_owned()));
    /// ```
    pub fn apply_to(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Null => None,
            Self::Value(value) => Some(value),
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
    /// Link the credential to an OAuth app of its team (OAuth kinds only); `null` unlinks it.
    pub oauth_app_id: Patch<OAuthAppId>,
    /// Schedule health checks every so many seconds (connectable kinds only, in range; checked
    /// when applied); `null` turns them off.
    pub health_check_interval_seconds: Patch<u64>,
}

impl CredentialPatch {
    /// The keys a PATCH body may hold.
    pub const FIELDS: [&'static str; 11] = [
        "provider",
        "kind",
        "name",
        "description",
        "account_name",
        "status",
        "metadata",
        "extra_data",
        "clear_secrets",
        OAUTH_APP_ID,
        HEALTH_CHECK_INTERVAL_SECONDS,
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
        let Value::Object(mut body) = body else {
            return Err(ValidationErrors::single("body", "must be a JSON object"));
        };
        if 1 + body.values().map(json_depth).max().unwrap_or(0) > MAX_DEPTH {
            return Err(ValidationErrors::single(
                "body",
                format!("nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        let mut errors = ValidationErrors::new();
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
            oauth_app_id: match body.remove(OAUTH_APP_ID) {
                None => Patch::Absent,
                Some(Value::Null) => Patch::Null,
                Some(Value::String(text)) => match text.parse::<OAuthAppId>() {
                    Ok(id) => Patch::Value(id),
                    Err(_) => {
                        errors.push(OAUTH_APP_ID, "must be the id (a UUID) of an OAuth app");
                        Patch::Absent
                    }
                },
                Some(_) => {
                    errors.push(
                        OAUTH_APP_ID,
                        "must be the id (a UUID) of an OAuth app or null",
                    );
                    Patch::Absent
                }
            },
            health_check_interval_seconds: match body.remove(HEALTH_CHECK_INTERVAL_SECONDS) {
                None => Patch::Absent,
                Some(Value::Null) => Patch::Null,
                Some(value) => match value.as_u64() {
                    Some(seconds) => Patch::Value(seconds),
                    None => {
                        errors.push(
                            HEALTH_CHECK_INTERVAL_SECONDS,
                            "must be a whole number of seconds or null",
                        );
                        Patch::Absent
                    }
                },
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
            oauth_app_id,
            health_check_interval_seconds,
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
            .field("oauth_app_id", oauth_app_id)
            .field(
                "health_check_interval_seconds",
                health_check_interval_seconds,
            )
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
