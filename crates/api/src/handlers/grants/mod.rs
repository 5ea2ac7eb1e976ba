//! Grants of *use* (SPEC §10): `…/integrations/{credential_id}/grants` lists, creates and revokes
//! who may use a credential; `…/service-accounts/{service_account_id}/grants` lists what a service
//! account may use. Owners only: seeing who may get a secret is part of granting it.

pub mod create;
pub mod delete;
pub mod list;

use credvault_domain::ids::GrantId;

use crate::error::ApiError;

/// Parses a `{grant_id}` path segment; a malformed id is simply not found.
pub fn grant_id(segment: &str) -> Result<GrantId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}
