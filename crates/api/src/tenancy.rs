//! Tenancy: resolving `{team}` and the caller's role in one store call, then authorizing.
//!
//! A caller without a role in the team, a team that does not exist and a malformed `{team}`
//! all become [`ApiError::NotFound`] here, the one place that decides it.

use actix_web::web;
use credvault_domain::authz::{Action, Denied, authorize};
use credvault_domain::ids::CredentialId;
use credvault_domain::principal::{Principal, Role};
use credvault_domain::team::{Team, TeamRef};
use credvault_persistence::StoreError;

use crate::error::ApiError;
use crate::state::AppState;

/// Runs a blocking store call on the blocking thread pool.
pub async fn blocking<T, F>(call: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(call).await??)
}

/// The team named by a `{team}` path segment (id or label), if the caller may do `action` in it.
pub async fn team_for(
    state: &AppState,
    principal: &Principal,
    team_segment: &str,
    action: Action,
) -> Result<Team, ApiError> {
    let (team, _) = team_and_role_for(state, principal, team_segment, action).await?;
    Ok(team)
}

/// Like [`team_for`], and also the caller's role in the team (for the `permissions` view).
pub async fn team_and_role_for(
    state: &AppState,
    principal: &Principal,
    team_segment: &str,
    action: Action,
) -> Result<(Team, Role), ApiError> {
    let team_ref: TeamRef = team_segment.parse().map_err(|_| Denied::NotFound)?;
    let store = state.store.clone();
    let principal_id = principal.id;
    let membership = blocking(move || store.membership(&team_ref, principal_id)).await?;
    authorize(membership.as_ref().map(|(_, role)| *role), action)?;
    Ok(membership.ok_or(Denied::NotFound)?)
}

/// Parses a `{credential_id}` path segment; a malformed id is simply not found.
pub fn credential_id(segment: &str) -> Result<CredentialId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}
