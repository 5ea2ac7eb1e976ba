//! The integration credential: its stored, non-secret state.
//!
//! The secret values of a credential are not part of [`Credential`]; it records only which
//! secret fields are set ([`Credential::secret_fields`]). The values travel separately as a
//! [`crate::secret::SecretMap`] and are stored as one ciphertext.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{CredentialId, OAuthAppId, PrincipalId, TeamId};
use crate::schema::{Kind, Provider, Schema, schema_for};

/// Where a credential is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Created, but a required secret is still missing.
    Pending,
    /// Every required secret is stored; not yet tested.
    CredentialsSaved,
    /// The last connection test succeeded.
    Connected,
    /// Connected, but a page or site still has to be chosen (SharePoint).
    NeedsPageSelection,
    /// The provider says the credential expired.
    Expired,
    /// The credential was revoked.
    Revoked,
    /// The last connection test failed.
    Error,
}

impl CredentialStatus {
    /// Every status.
    pub const ALL: [CredentialStatus; 7] = [
        Self::Pending,
        Self::CredentialsSaved,
        Self::Connected,
        Self::NeedsPageSelection,
        Self::Expired,
        Self::Revoked,
        Self::Error,
    ];

    /// The wire name, e.g. `credentials_saved`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::CredentialsSaved => "credentials_saved",
            Self::Connected => "connected",
            Self::NeedsPageSelection => "needs_page_selection",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Error => "error",
        }
    }

    /// Whether a change of a secret or connection field invalidates this status, so that the
    /// credential falls back to `credentials_saved`.
    pub const fn reflects_a_connection(self) -> bool {
        matches!(self, Self::Connected | Self::Error | Self::Expired)
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

/// The text names no credential status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown credential status")]
pub struct UnknownStatus;

/// The outcome of the last connection test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Never tested since the last relevant change.
    Unknown,
    /// The last test connected.
    Healthy,
    /// Working, with a problem that may pass: the last refresh of an OAuth token failed for a
    /// reason worth retrying (network, timeout, the provider's 5xx), and the access token may
    /// still be valid. The notes say what happened and when credvault tries again.
    Degraded,
    /// The last test failed.
    Error,
}

impl HealthStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Error => "error",
        }
    }
}

impl FromStr for HealthStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unknown" => Ok(Self::Unknown),
            "healthy" => Ok(Self::Healthy),
            "degraded" => Ok(Self::Degraded),
            "error" => Ok(Self::Error),
            _ => Err(UnknownStatus),
        }
    }
}

/// The credential's health, as seen by the last connection test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The outcome.
    pub status: HealthStatus,
    /// Human-readable notes about the outcome (never containing a secret).
    pub notes: Vec<String>,
    /// When the test ran.
    pub checked_at: Option<DateTime<Utc>>,
}

impl Health {
    /// The health of a credential that has not been tested.
    pub fn unknown() -> Self {
        Self {
            status: HealthStatus::Unknown,
            notes: Vec::new(),
            checked_at: None,
        }
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::unknown()
    }
}

/// The last use of a credential's secrets by a principal holding a grant (the consumption path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastUse {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: PrincipalId,
}

/// A stored integration credential without its secret values.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    /// The credential's id (UUID v7).
    pub id: CredentialId,
    /// The team that owns it.
    pub team_id: TeamId,
    /// The system it reaches; immutable.
    pub provider: Provider,
    /// The shape of its fields; immutable.
    pub kind: Kind,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
    /// The account the credential signs in as, 1–200 characters: the caller's, or derived from
    /// the non-secret fields when none was given ([`crate::patch::derived_account_name`]).
    pub account_name: String,
    /// Life-cycle status.
    pub status: CredentialStatus,
    /// Non-secret connection settings; never holds a declared secret field.
    pub extra_data: Map<String, Value>,
    /// The names of the secret fields that are stored (values live in the ciphertext).
    pub secret_fields: BTreeSet<String>,
    /// Free-form data of the client's.
    pub metadata: Map<String, Value>,
    /// The OAuth app of the same team and provider this credential is issued through (OAuth
    /// kinds only); the app then supplies the client id and secret. See
    /// [`crate::oauth_app::check_link`].
    pub oauth_app_id: Option<OAuthAppId>,
    /// How often, in seconds, the upkeep worker runs the credential's connection test
    /// (connectable kinds only, see [`crate::health_check`]); `None` for no scheduled checks.
    pub health_check_interval_seconds: Option<u32>,
    /// Outcome of the last connection test.
    pub health: Health,
    /// Starts at 1 and rises by one on every change.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    pub updated_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: PrincipalId,
    /// Who changed it last.
    pub modified_by: PrincipalId,
    /// The last use of its secrets, server-owned state like `health`: a use is not a change, so
    /// it never moves `version`, `updated_at` or `modified_by`.
    pub last_used: Option<LastUse>,
}

impl Credential {
    /// The schema of this credential's provider/kind pair.
    ///
    /// Always `Some` for credentials built through this crate, which refuses unknown pairs.
    pub fn schema(&self) -> Option<&'static Schema> {
        schema_for(self.provider, self.kind)
    }

    /// Whether a field (secret or not) is present.
    pub fn has_field(&self, name: &str) -> bool {
        self.secret_fields.contains(name) || self.extra_data.contains_key(name)
    }

    /// The required secret fields that are not stored.
    pub fn missing_required_secrets(&self) -> Vec<&'static str> {
        let Some(schema) = self.schema() else {
            return Vec::new();
        };
        schema
            .secret_fields()
            .filter(|field| {
                field.is_required(|name| self.has_field(name), self.oauth_app_id.is_some())
            })
            .filter(|field| !self.secret_fields.contains(field.name))
            .map(|field| field.name)
            .collect()
    }
}
