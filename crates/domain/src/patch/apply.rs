//! Applying a parsed [`CredentialPatch`] to a stored credential: the merge, the checks of the
//! result as a whole, the automatic status rules ([`settle_status`]), the derived account name
//! ([`derived_account_name`], kept current by [`settle_account_name`]) and the names of the
//! changed fields ([`changed_fields`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::audit::SecretEffect;
use crate::credential::{Credential, CredentialStatus, Health};
use crate::health_check::{HEALTH_CHECK_INTERVAL_SECONDS, check_interval};
use crate::ids::OAuthAppId;
use crate::oauth_app::{OAUTH_APP_ID, not_an_oauth_kind};
use crate::patch::extra_data::{SecretOp, merge_extra_data};
use crate::patch::merge_patch::merge_patch;
use crate::patch::{CredentialPatch, MAX_JSON_BYTES, Patch};
use crate::release::is_oauth;
use crate::schema::{Provider, Schema, fields};
use crate::secret::SecretMap;
use crate::validate::{
    MAX_ACCOUNT_NAME_CHARS, ValidationErrors, check_account_name, check_description, check_name,
    json_size,
};

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
        .ok_or_else(|| ValidationErrors::single("kind", "is not accepted by the provider"))?;
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
    apply_link(&mut next, &patch.oauth_app_id, &mut errors);
    apply_health_check(&mut next, &patch.health_check_interval_seconds, &mut errors);

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

    settle_account_name(current, &mut next, &patch.account_name);
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

/// Links or unlinks an OAuth app. Only the OAuth kinds have one; whether the id names an app of
/// the team, of the same provider, is [`check_link`](crate::oauth_app::check_link)'s question,
/// asked by the caller that can look the app up.
fn apply_link(next: &mut Credential, sent: &Patch<OAuthAppId>, errors: &mut ValidationErrors) {
    match sent {
        Patch::Absent => {}
        Patch::Null => next.oauth_app_id = None,
        Patch::Value(id) if is_oauth(next.kind) => next.oauth_app_id = Some(*id),
        Patch::Value(_) => errors.push(OAUTH_APP_ID, not_an_oauth_kind(next.kind)),
    }
}

/// Sets or clears the interval of scheduled health checks: connectable kinds only, in range
/// ([`check_interval`]). Descriptive: it changes nothing a test connects with.
fn apply_health_check(next: &mut Credential, sent: &Patch<u64>, errors: &mut ValidationErrors) {
    match sent {
        Patch::Absent => {}
        Patch::Null => next.health_check_interval_seconds = None,
        Patch::Value(seconds) => match check_interval(next.provider, next.kind, *seconds) {
            Ok(seconds) => next.health_check_interval_seconds = Some(seconds),
            Err(message) => errors.push(HEALTH_CHECK_INTERVAL_SECONDS, message),
        },
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
        ("description", check_description),
        errors,
    );
    if let Patch::Value(text) = &patch.account_name
        && let Err(message) = check_account_name(text)
    {
        errors.push("account_name", message);
    }
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

/// A text field's path and its rule.
type TextRule = (&'static str, fn(&str) -> Result<(), String>);

fn apply_optional_text(
    target: &mut Option<String>,
    sent: &Patch<String>,
    (field, check): TextRule,
    errors: &mut ValidationErrors,
) {
    match sent {
        Patch::Absent => {}
        Patch::Null => *target = None,
        Patch::Value(text) => match check(text) {
            Ok(()) => *target = Some(text.clone()),
            Err(message) => errors.push(field, message),
        },
    }
}

/// Sets the merged credential's `account_name`, which is never empty.
///
/// A non-empty string the caller sent is kept as it is (it was checked by `apply_scalars`).
/// `null` or `""` asks for the derived name of the merged credential. When the caller sent
/// nothing, a stored name equal to what [`derived_account_name`] gives for the stored credential
/// follows the merged credential's fields; any other stored name was set explicitly and stays.
fn settle_account_name(current: &Credential, next: &mut Credential, sent: &Patch<String>) {
    let derived = || derived_account_name(next.provider, &next.extra_data);
    next.account_name = match sent {
        Patch::Value(text) if !text.is_empty() => text.clone(),
        Patch::Value(_) | Patch::Null => derived(),
        Patch::Absent => {
            if current.account_name == derived_account_name(current.provider, &current.extra_data) {
                derived()
            } else {
                current.account_name.clone()
            }
        }
    };
}

/// The account name a credential gets when none was given: read from its non-secret fields only.
///
/// In order of preference: `username@host` (SFTP, PostgreSQL with separate fields; a PostgreSQL
/// connection string is a secret and is never parsed), the AWS access key id, the OAuth client
/// id, the tenant id, the Stripe account id, the GitHub organisation, the Keystatic repository,
/// the username alone (WordPress), and last the provider's wire name, so it is never empty.
/// Control characters are dropped and the result is cut to [`MAX_ACCOUNT_NAME_CHARS`]
/// characters, so it always passes [`check_account_name`].
///
/// ```
/// use credvault_domain::patch::derived_account_name;
/// use credvault_domain::schema::Provider;
/// use serde_json::json;
///
/// let extra = json!({"host": "db.internal", "username": "etl"});
/// let extra = extra.as_object().unwrap();
/// assert_eq!(derived_account_name(Provider::Postgresql, extra), "etl@db.internal");
/// assert_eq!(derived_account_name(Provider::Postgresql, &Default::default()), "postgresql");
/// ```
pub fn derived_account_name(provider: Provider, extra_data: &Map<String, Value>) -> String {
    let plain = |name: &str| {
        extra_data
            .get(name)
            .and_then(Value::as_str)
            .map(|text| text.chars().filter(|c| !c.is_control()).collect::<String>())
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let user_at_host = plain(fields::USERNAME)
        .zip(plain(fields::HOST))
        .map(|(user, host)| format!("{user}@{host}"));
    let name = user_at_host
        .or_else(|| {
            [
                fields::ACCESS_KEY_ID,
                fields::CLIENT_ID,
                fields::TENANT_ID,
                fields::ACCOUNT_ID,
                fields::ORGANIZATION,
                fields::REPOSITORY,
                fields::USERNAME,
            ]
            .into_iter()
            .find_map(plain)
        })
        .unwrap_or_else(|| provider.as_str().to_owned());
    name.chars().take(MAX_ACCOUNT_NAME_CHARS).collect()
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
        if !field.is_required(present, next.oauth_app_id.is_some()) || present(field.name) {
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
            // the field that made it optional was removed. (Unlinking an OAuth app makes the
            // client secret required again; when none is stored the credential is `pending`
            // again, see `settle_status`.)
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
/// `credentials_saved` unless the request set the status itself. Linking, unlinking or changing
/// the OAuth app counts as such a change: the app's client is what tokens are issued through.
/// A `pending` credential whose required secrets are now all stored (or supplied by a newly
/// linked app) becomes `credentials_saved`; a credential that lacked none before and lacks a
/// required secret now (an app unlinked from a credential without a client secret of its own)
/// becomes `pending`.
fn settle_status(
    current: &Credential,
    next: &mut Credential,
    schema: &Schema,
    explicit_status: bool,
    secrets_changed: bool,
) {
    let connection_changed = secrets_changed
        || current.oauth_app_id != next.oauth_app_id
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
    if explicit_status {
        return;
    }
    let missing_now = !next.missing_required_secrets().is_empty();
    if next.status == CredentialStatus::Pending && !missing_now {
        next.status = CredentialStatus::CredentialsSaved;
    } else if missing_now && current.missing_required_secrets().is_empty() {
        next.status = CredentialStatus::Pending;
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
    if current.oauth_app_id != next.oauth_app_id {
        changed.push(OAUTH_APP_ID.to_owned());
    }
    if current.health_check_interval_seconds != next.health_check_interval_seconds {
        changed.push(HEALTH_CHECK_INTERVAL_SECONDS.to_owned());
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
