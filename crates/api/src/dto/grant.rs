//! Grants of *use* of a credential (SPEC §10): what owners send and see.

use chrono::{DateTime, Utc};
use credvault_domain::grant::Grant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The body of `POST …/integrations/{credential_id}/grants`, for OpenAPI; the handler reads it
/// with `domain::grant::NewGrant`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateGrant, example = json!({"service_account_id": "0192f3a4-0000-7000-8000-0000000000cc"}))]
pub struct CreateGrantRequest {
    /// The service account of this team that may use the credential. Users cannot hold a grant.
    pub service_account_id: Uuid,
}

/// A service account's grant of use of one credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Grant, example = json!({
    "id": "0192f3a4-0000-7000-8000-0000000000dd",
    "credential_id": "0192f3a4-1b2c-7d3e-8f40-123456789abc",
    "service_account_id": "0192f3a4-0000-7000-8000-0000000000cc",
    "permission": "use",
    "created_at": "2026-12-02T10:00:00Z",
    "created_by": "0192f3a4-0000-7000-8000-0000000000aa"
}))]
pub struct GrantResponse {
    /// The grant's id.
    pub id: Uuid,
    /// The credential that may be used.
    pub credential_id: Uuid,
    /// The service account that may use it.
    pub service_account_id: Uuid,
    /// What the grant allows: always `use` (receive the plaintext secrets through
    /// `POST …/integrations/{credential_id}/use`).
    #[schema(example = "use")]
    pub permission: String,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// The owner who granted it.
    pub created_by: Uuid,
}

impl From<Grant> for GrantResponse {
    fn from(grant: Grant) -> Self {
        let Grant {
            id,
            team_id: _,
            credential_id,
            service_account_id,
            created_at,
            created_by,
        } = grant;
        Self {
            id: id.into(),
            credential_id: credential_id.into(),
            service_account_id: service_account_id.into(),
            permission: "use".to_owned(),
            created_at,
            created_by: created_by.into(),
        }
    }
}

/// Grants, oldest first (all of them: a credential has few).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = GrantList)]
pub struct GrantList {
    /// The grants.
    pub items: Vec<GrantResponse>,
}
