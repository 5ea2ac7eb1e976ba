//! `/api/v1/teams/{team}/tokens`: the user tokens of a team (SPEC §1, "issued by an owner or by
//! the admin CLI"). Owners issue, list and revoke them; members get `403`, and another team's
//! token answers exactly like a missing one.
//!
//! A user token is a principal of the team with a fixed role and one bearer token: random
//! (256 bits), shown once in the issue response, stored only as its SHA-256, optionally expiring.
//! Its id is that principal's id, so an audit event's actor names the token that acted.
//! Revoking deletes the principal; this process forgets its cached token at once, and other
//! instances within the token cache's time to live.
//!
//! Issue and revoke are logged with the acting principal (never the token): credvault has no
//! audit table for anything but integration credentials.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;

use credvault_domain::ids::{PrincipalId, TeamId};

use crate::error::ApiError;

/// The prefix of user tokens (`cvu_…`), so that secret scanners can recognise them.
pub const USER_TOKEN_PREFIX: &str = "cvu";

/// Parses a `{token_id}` path segment; a malformed id is simply not found.
pub fn token_id(segment: &str) -> Result<PrincipalId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}

/// `/api/v1/teams/{team}/tokens/{id}`.
pub fn token_location(team_id: TeamId, id: PrincipalId) -> String {
    format!("/api/v1/teams/{team_id}/tokens/{id}")
}
