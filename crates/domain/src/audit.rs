//! Audit events: who changed what, without any value.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CredentialId, EventId, PrincipalId, RequestId, TeamId};
use crate::principal::{Principal, PrincipalKind};

/// What happened to a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The credential was created.
    Created,
    /// The credential was changed by a PATCH.
    Updated,
    /// The credential was deleted.
    Deleted,
    /// The credential was tested.
    Tested,
    /// A principal holding a grant received the credential's secrets (the consumption path).
    Used,
    /// An owner granted a service account *use* of the credential.
    UseGranted,
    /// An owner revoked a service account's grant of *use* of the credential.
    UseRevoked,
    /// credvault redeemed the credential's OAuth refresh token for a new access token.
    Refreshed,
    /// credvault tried to refresh the credential's OAuth access token and failed.
    RefreshFailed,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 9] = [
        Self::Created,
        Self::Updated,
        Self::Deleted,
        Self::Tested,
        Self::Used,
        Self::UseGranted,
        Self::UseRevoked,
        Self::Refreshed,
        Self::RefreshFailed,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Tested => "tested",
            Self::Used => "used",
            Self::UseGranted => "use_granted",
            Self::UseRevoked => "use_revoked",
            Self::Refreshed => "refreshed",
            Self::RefreshFailed => "refresh_failed",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or(UnknownAuditAction)
    }
}

/// The text names no audit action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action")]
pub struct UnknownAuditAction;

/// What a request did to one secret field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretEffect {
    /// A new value was stored.
    Set,
    /// The request named the field with a blank, `null` or the mask; the stored value stays.
    Kept,
    /// The stored value was removed.
    Cleared,
    /// The value was released in plaintext to the event's actor (a `used` event).
    Released,
}

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The principal's id.
    pub id: PrincipalId,
    /// User or service account.
    #[serde(rename = "type")]
    pub kind: PrincipalKind,
}

impl Actor {
    /// The id of credvault's own actor ([`PrincipalKind::System`]): the nil UUID, which no
    /// principal has (theirs are UUID v7).
    pub const SYSTEM_ID: PrincipalId = PrincipalId::from_uuid(uuid::Uuid::nil());

    /// credvault itself, the actor of work no caller asked for.
    pub const fn system() -> Self {
        Self {
            id: Self::SYSTEM_ID,
            kind: PrincipalKind::System,
        }
    }
}

impl From<&Principal> for Actor {
    /// The actor of a principal's calls.
    fn from(principal: &Principal) -> Self {
        Self {
            id: principal.id,
            kind: principal.kind,
        }
    }
}

/// One entry of a credential's audit trail. It never holds a value or hash of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// The event's id (UUID v7, so events sort by time).
    pub id: EventId,
    /// The team of the credential.
    pub team_id: TeamId,
    /// The credential; it may since have been deleted.
    pub credential_id: CredentialId,
    /// What happened.
    pub action: AuditAction,
    /// Who did it.
    pub actor: Actor,
    /// The names of the changed fields, e.g. `extra_data.host`, `secrets.password`, `status`.
    pub changed_fields: Vec<String>,
    /// For each secret field the request named, whether it was set, kept or cleared.
    pub secrets: BTreeMap<String, SecretEffect>,
    /// The request that caused it.
    pub request_id: RequestId,
    /// When it happened.
    pub at: DateTime<Utc>,
}
