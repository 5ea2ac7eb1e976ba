//! Service accounts and their client credentials (OAuth 2.0 client credentials grant), and
//! ([`input`]) their create and PATCH bodies.
//!
//! Names and descriptions follow the rules of [`validate`](crate::validate): a name is 1 to
//! [`MAX_NAME_CHARS`](crate::validate::MAX_NAME_CHARS) characters once trimmed, a description at
//! most [`MAX_DESCRIPTION_CHARS`](crate::validate::MAX_DESCRIPTION_CHARS).

pub mod input;

use chrono::{DateTime, Utc};

use crate::ids::{ClientCredentialId, PrincipalId, ServiceAccountId, TeamId};
use crate::principal::Role;

/// A non-human principal of a team, acting with its own role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// The account's id.
    pub id: ServiceAccountId,
    /// The team it belongs to.
    pub team_id: TeamId,
    /// The principal it acts as (its tokens authenticate as this principal).
    pub principal_id: PrincipalId,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The role it holds in its team.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    pub updated_at: DateTime<Utc>,
}

/// A client id and secret pair of a service account; the secret itself is stored only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredential {
    /// The credential's id.
    pub id: ClientCredentialId,
    /// The account it authenticates.
    pub service_account_id: ServiceAccountId,
    /// The public client id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was last exchanged for a token.
    pub last_used_at: Option<DateTime<Utc>>,
}
