//! Creating a credential: a create body is parsed into a [`NewCredential`] and applied like a
//! PATCH to an empty credential of its provider and kind ([`new_credential`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::audit::SecretEffect;
use crate::credential::{Credential, CredentialStatus, Health};
use crate::health_check::HEALTH_CHECK_INTERVAL_SECONDS;
use crate::ids::{CredentialId, PrincipalId, TeamId};
use crate::oauth_app::OAUTH_APP_ID;
use crate::patch::{CredentialPatch, Patch, PatchError, apply_patch, derived_account_name};
use crate::schema::{Kind, Provider, schema_for};
use crate::secret::SecretMap;
use crate::validate::ValidationErrors;

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
    pub const FIELDS: [&'static str; 10] = [
        "provider",
        "kind",
        "name",
        "description",
        "account_name",
        "status",
        "extra_data",
        "metadata",
        OAUTH_APP_ID,
        HEALTH_CHECK_INTERVAL_SECONDS,
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
            // Keys a PATCH accepts but a create does not (`clear_secrets`); every other unknown
            // key is reported by the PATCH parser below.
            for key in CredentialPatch::FIELDS {
                if !Self::FIELDS.contains(&key) && map.contains_key(key) {
                    errors.push(key, "is only accepted by PATCH");
                }
            }
        }
        let fields = match CredentialPatch::from_json(body) {
            Ok(fields) => fields,
            Err(parse_errors) => {
                errors.extend(parse_errors);
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
/// `pending`; the client secret of an OAuth kind is not required when the body links an OAuth
/// app (`oauth_app_id`), whose existence in the team the caller checks with
/// [`crate::oauth_app::check_link`].
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
        ValidationErrors::single("provider", format!("must be one of: {}", names.join(", ")))
    })?;
    let kind = match input.kind.parse::<Kind>() {
        Ok(kind) if schema_for(provider, kind).is_some() => kind,
        _ => {
            let names: Vec<&str> = provider.kinds().iter().map(|kind| kind.as_str()).collect();
            return Err(ValidationErrors::single(
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
        account_name: derived_account_name(provider, &Map::new()),
        status: CredentialStatus::Pending,
        extra_data: Map::new(),
        secret_fields: BTreeSet::new(),
        metadata: Map::new(),
        oauth_app_id: None,
        health_check_interval_seconds: None,
        health: Health::unknown(),
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: actor,
        modified_by: actor,
        last_used: None,
    };
    let empty_secrets = SecretMap::new();
    let outcome =
        apply_patch(&empty, Some(&empty_secrets), &input.fields).map_err(|error| match error {
            PatchError::Invalid(errors) => errors,
            // An empty credential has no stored secrets, so they are always "loaded" and in sync.
            PatchError::SecretsNotLoaded | PatchError::SecretsOutOfSync => {
                ValidationErrors::single("extra_data", "could not be applied".to_owned())
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

#[cfg(test)]
mod tests;
