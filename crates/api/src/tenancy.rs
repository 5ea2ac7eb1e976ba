//! Tenancy: resolving `{team}` and the caller's role in one store call, then authorizing.
//!
//! A caller without a role in the team, a team that does not exist and a malformed `{team}`
//! all become [`ApiError::NotFound`] here, the one place that decides it.
//!
//! A role found in the store is remembered for as long as the token cache remembers a token
//! ([`MembershipCache`]), so that a burst of requests to one team costs one membership query,
//! not one per request. Only roles that exist are cached: a refusal is asked again every time.
//! Roles change only when a principal is created or deleted, and a deleted principal's tokens
//! stop authenticating first, so the cache can never let through a request that the token
//! cache would not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web;
use credvault_domain::authz::{Action, Denied, authorize};
use credvault_domain::ids::{CredentialId, PrincipalId};
use credvault_domain::principal::{Principal, Role};
use credvault_domain::team::{Team, TeamRef};
use credvault_persistence::StoreError;

use crate::error::ApiError;
use crate::state::AppState;

/// Entries above this count trigger a sweep of the expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

/// A principal and the `{team}` path segment it named (an id or a label).
type MembershipKey = (PrincipalId, String);

/// Recently resolved memberships: (principal, `{team}` path segment) → the team and the role.
#[derive(Debug)]
pub struct MembershipCache {
    ttl: Duration,
    entries: Mutex<HashMap<MembershipKey, (Team, Role, Instant)>>,
}

impl MembershipCache {
    /// A cache whose entries live for `ttl` (`Duration::ZERO` disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The team and role cached for the principal and segment, if stored within the time to live.
    pub fn get(&self, principal_id: PrincipalId, team_segment: &str) -> Option<(Team, Role)> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(&(principal_id, team_segment.to_owned()))
            .filter(|(_, _, stored_at)| stored_at.elapsed() < self.ttl)
            .map(|(team, role, _)| (team.clone(), *role))
    }

    /// Remembers a membership the store confirmed.
    pub fn put(&self, principal_id: PrincipalId, team_segment: &str, team: &Team, role: Role) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= SWEEP_THRESHOLD {
            let ttl = self.ttl;
            entries.retain(|_, (_, _, stored_at)| stored_at.elapsed() < ttl);
        }
        entries.insert(
            (principal_id, team_segment.to_owned()),
            (team.clone(), role, Instant::now()),
        );
    }
}

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
    let principal_id = principal.id;
    let membership = match state.membership_cache.get(principal_id, team_segment) {
        Some(cached) => Some(cached),
        None => {
            let store = state.store.clone();
            let found = blocking(move || store.membership(&team_ref, principal_id)).await?;
            if let Some((team, role)) = &found {
                state
                    .membership_cache
                    .put(principal_id, team_segment, team, *role);
            }
            found
        }
    };
    authorize(membership.as_ref().map(|(_, role)| *role), action)?;
    Ok(membership.ok_or(Denied::NotFound)?)
}

/// Parses a `{credential_id}` path segment; a malformed id is simply not found.
pub fn credential_id(segment: &str) -> Result<CredentialId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}
