//! The update contract: what a caller may change on a stored credential ([`CredentialEdit`]),
//! what its audit event says ([`AuditNote`]), and how the store turns both into the row and the
//! event it writes ([`Credential::edited`], [`AuditNote::into_event`]).
//!
//! The split says who decides what. The caller (a use case, after `patch::apply_patch`) decides
//! the fields below and the audit note; the store decides the identity (`id`, `team_id`,
//! `created_*`, which it read), the `version` (stored + 1), `modified_by` (the actor), the
//! event's id and one instant for both `updated_at` and the event's `at`.
//!
//! ```
//! use credvault_domain::audit::{Actor, AuditAction};
//! use credvault_domain::edit::{AuditNote, CredentialEdit};
//! use credvault_domain::ids::{EventId, PrincipalId, RequestId};
//! use credvault_domain::testing::stored_postgres_credential;
//! use credvault_domain::principal::PrincipalKind;
//!
//! let (stored, _) = stored_postgres_credential();
//! let mut edit = CredentialEdit::from(stored.clone());
//! edit.name = "Renamed".to_owned();
//! let actor = Actor { id: PrincipalId::new(), kind: PrincipalKind::User };
//! let at = credvault_domain::time::now();
//! let written = stored.edited(edit, actor.id, at);
//! assert_eq!((written.version, written.updated_at, written.modified_by), (stored.version + 1, at, actor.id));
//! assert_eq!((written.id, written.created_at), (stored.id, stored.created_at));
//!
//! let note = AuditNote::new(AuditAction::Updated, actor, RequestId::new());
//! let event = note.into_event(EventId::new(), written.team_id, written.id, at);
//! assert_eq!((event.credential_id, event.at), (written.id, written.updated_at));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::audit::{Actor, AuditAction, AuditEvent, SecretEffect};
use crate::credential::{Credential, CredentialStatus, Health};
use crate::ids::{CredentialId, EventId, OAuthAppId, PrincipalId, RequestId, TeamId};

/// The fields of a credential that a caller may change; everything else is the store's to set.
///
/// `provider` and `kind` are immutable, and the identity, version and timestamps are stamped by
/// the store when it writes ([`Credential::edited`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialEdit {
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The account the credential signs in as.
    pub account_name: String,
    /// Life-cycle status.
    pub status: CredentialStatus,
    /// Non-secret connection settings.
    pub extra_data: Map<String, Value>,
    /// The names of the stored secret fields (values live in the ciphertext).
    pub secret_fields: BTreeSet<String>,
    /// Free-form data of the client's.
    pub metadata: Map<String, Value>,
    /// The linked OAuth app, or none.
    pub oauth_app_id: Option<OAuthAppId>,
    /// The interval of scheduled health checks, or none.
    pub health_check_interval_seconds: Option<u32>,
    /// Outcome of the last connection test.
    pub health: Health,
}

impl From<Credential> for CredentialEdit {
    /// The caller-owned fields of `credential` (a would-be state, e.g. `PatchOutcome::credential`).
    fn from(credential: Credential) -> Self {
        let Credential {
            name,
            description,
            account_name,
            status,
            extra_data,
            secret_fields,
            metadata,
            oauth_app_id,
            health_check_interval_seconds,
            health,
            // The store's and the schema's, never the caller's.
            id: _,
            team_id: _,
            provider: _,
            kind: _,
            version: _,
            created_at: _,
            updated_at: _,
            created_by: _,
            modified_by: _,
            last_used: _,
        } = credential;
        Self {
            name,
            description,
            account_name,
            status,
            extra_data,
            secret_fields,
            metadata,
            oauth_app_id,
            health_check_interval_seconds,
            health,
        }
    }
}

impl Credential {
    /// This stored credential with `edit` applied, as the store writes it: the next version,
    /// changed by `modified_by` at `at`; identity, provider and kind stay.
    pub fn edited(
        &self,
        edit: CredentialEdit,
        modified_by: PrincipalId,
        at: DateTime<Utc>,
    ) -> Self {
        let CredentialEdit {
            name,
            description,
            account_name,
            status,
            extra_data,
            secret_fields,
            metadata,
            oauth_app_id,
            health_check_interval_seconds,
            health,
        } = edit;
        Credential {
            id: self.id,
            team_id: self.team_id,
            provider: self.provider,
            kind: self.kind,
            name,
            description,
            account_name,
            status,
            extra_data,
            secret_fields,
            metadata,
            oauth_app_id,
            health_check_interval_seconds,
            health,
            version: self.version + 1,
            created_at: self.created_at,
            updated_at: at,
            created_by: self.created_by,
            modified_by,
            last_used: self.last_used,
        }
    }
}

/// What an audit event says, as the caller decides it: the store adds the event's id, the
/// credential and team it is about, and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditNote {
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
}

impl AuditNote {
    /// A note naming no field yet.
    pub fn new(action: AuditAction, actor: Actor, request_id: RequestId) -> Self {
        Self {
            action,
            actor,
            changed_fields: Vec::new(),
            secrets: BTreeMap::new(),
            request_id,
        }
    }

    /// The event of this note about credential `credential_id` of team `team_id`, with its id
    /// and time.
    pub fn into_event(
        self,
        id: EventId,
        team_id: TeamId,
        credential_id: CredentialId,
        at: DateTime<Utc>,
    ) -> AuditEvent {
        AuditEvent {
            id,
            team_id,
            credential_id,
            action: self.action,
            actor: self.actor,
            changed_fields: self.changed_fields,
            secrets: self.secrets,
            request_id: self.request_id,
            at,
        }
    }
}
