//! Audit events on the wire. They name fields, never values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credvault_domain::audit::{Actor, AuditEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::enums::{AuditActionDto, PrincipalKindDto, SecretEffectDto};

/// One entry of a credential's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Event)]
pub struct EventResponse {
    /// The event's id (UUID v7).
    #[schema(example = "0192f3a4-1b2c-7d3e-8f40-0000000000e1")]
    pub id: Uuid,
    /// The credential; it may since have been deleted.
    #[schema(example = "0192f3a4-1b2c-7d3e-8f40-123456789abc")]
    pub credential_id: Uuid,
    /// What happened.
    pub action: AuditActionDto,
    /// Who did it.
    pub actor: ActorResponse,
    /// The names of the changed fields.
    #[schema(example = json!(["extra_data.host", "secrets.password", "status"]))]
    pub changed_fields: Vec<String>,
    /// For each secret field the request named: `set`, `kept` or `cleared`; on a `used` event,
    /// each secret released to the actor: `released`.
    #[schema(example = json!({"password": "set"}))]
    pub secrets: BTreeMap<String, SecretEffectDto>,
    /// The request that caused it (`X-Request-ID`).
    #[schema(example = "0192f3a4-1b2c-7d3e-8f40-0000000000f1")]
    pub request_id: Uuid,
    /// When it happened.
    #[schema(example = "2026-11-23T11:00:00Z")]
    pub at: DateTime<Utc>,
}

/// The principal behind an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Actor)]
pub struct ActorResponse {
    /// The principal's id.
    #[schema(example = "0192f3a4-0000-7000-8000-0000000000aa")]
    pub id: Uuid,
    /// User or service account.
    #[serde(rename = "type")]
    pub kind: PrincipalKindDto,
}

impl From<AuditEvent> for EventResponse {
    fn from(event: AuditEvent) -> Self {
        let AuditEvent {
            id,
            team_id: _,
            credential_id,
            action,
            actor,
            changed_fields,
            secrets,
            request_id,
            at,
        } = event;
        let Actor { id: actor_id, kind } = actor;
        Self {
            id: id.into(),
            credential_id: credential_id.into(),
            action: action.into(),
            actor: ActorResponse {
                id: actor_id.into(),
                kind: kind.into(),
            },
            changed_fields,
            secrets: secrets
                .into_iter()
                .map(|(field, effect)| (field, effect.into()))
                .collect(),
            request_id: request_id.into(),
            at,
        }
    }
}
