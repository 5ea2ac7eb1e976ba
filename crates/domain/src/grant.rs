//! Grants of *use*: the permission to receive a credential's plaintext secrets.
//!
//! Seeing that a credential exists and what it points at (the `member` role) is not permission
//! to get its secrets. That is a separate grant, held by nobody by default: an owner grants a
//! service account *use* of one named credential. Users never hold it: a person who needs a
//! password reads it where it is used, through a workload that holds a grant, so that every
//! release of a plaintext secret is a `used` event naming a machine identity and a request.
//!
//! A grant names one credential. A grant for "every credential of a provider" would quietly
//! extend to credentials created after it, and could not be audited on any one credential's
//! trail; owners name the credentials instead.

use chrono::{DateTime, Utc};

use crate::ids::{CredentialId, GrantId, PrincipalId, ServiceAccountId, TeamId};

/// A service account's grant of *use* of one credential of its team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The grant's id (UUID v7).
    pub id: GrantId,
    /// The team of the credential and of the service account.
    pub team_id: TeamId,
    /// The credential that may be used.
    pub credential_id: CredentialId,
    /// The service account that may use it.
    pub service_account_id: ServiceAccountId,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// The owner who granted it.
    pub created_by: PrincipalId,
}

impl Grant {
    /// A new grant by `created_by`, at `created_at`.
    pub fn new(
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
        created_by: PrincipalId,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: GrantId::new(),
            team_id,
            credential_id,
            service_account_id,
            created_at,
            created_by,
        }
    }
}
