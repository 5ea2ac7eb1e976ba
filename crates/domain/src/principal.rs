//! Principals: who calls the API, and their role in a team.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{PrincipalId, ServiceAccountId, TeamId};

/// A principal's role in one team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads credentials and tests them.
    Member,
    /// Everything a member may do, plus create, PATCH and DELETE.
    Owner,
}

impl Role {
    /// The wire name: `member` or `owner`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "member" => Ok(Self::Member),
            "owner" => Ok(Self::Owner),
            _ => Err(UnknownRole),
        }
    }
}

/// The text is neither `owner` nor `member`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be 'owner' or 'member'")]
pub struct UnknownRole;

/// What kind of principal made a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A person's API token.
    User,
    /// A service account acting through a client-credentials token.
    ServiceAccount,
    /// credvault itself, for work no caller asked for (refreshing an OAuth token before it
    /// expires). Never authenticates: it appears only as the actor of audit events
    /// ([`crate::audit::Actor::system`]).
    System,
}

impl PrincipalKind {
    /// The wire name: `user`, `service_account` or `system`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceAccount => "service_account",
            Self::System => "system",
        }
    }
}

impl FromStr for PrincipalKind {
    type Err = UnknownPrincipalKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "service_account" => Ok(Self::ServiceAccount),
            "system" => Ok(Self::System),
            _ => Err(UnknownPrincipalKind),
        }
    }
}

/// The text names no principal kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("principal kind must be 'user', 'service_account' or 'system'")]
pub struct UnknownPrincipalKind;

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The principal's id; recorded as `created_by`/`modified_by` and on audit events.
    pub id: PrincipalId,
    /// User or service account.
    pub kind: PrincipalKind,
    /// For a service account, the account it acts as.
    pub service_account: Option<ServiceAccountId>,
}

/// A principal's role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The team.
    pub team_id: TeamId,
    /// The role held in it.
    pub role: Role,
}
