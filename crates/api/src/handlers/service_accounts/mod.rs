//! `/api/v1/teams/{team}/service-accounts`: service accounts and their client credentials
//! (SPEC §6). Owners manage them, members read them; another team's account or credential
//! answers exactly like a missing one.
//!
//! Shared here: id parsing (a malformed id is simply not found), the `expand` query parameter
//! and the JSON response helpers.

pub mod create;
pub mod credentials;
pub mod delete;
pub mod get;
pub mod list;
pub mod patch;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use credvault_domain::ids::{ClientCredentialId, ServiceAccountId, TeamId};
use credvault_domain::principal::Role;
use credvault_domain::validate::ValidationErrors;
use serde::Serialize;

use crate::dto::service_account::{Permissions, permissions_of};
use crate::error::ApiError;
use crate::form::decode_component;

/// Parses a `{service_account_id}` path segment; a malformed id is simply not found.
pub fn service_account_id(segment: &str) -> Result<ServiceAccountId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}

/// Parses a `{credential_id}` path segment of a client credential; a malformed id is not found.
pub fn client_credential_id(segment: &str) -> Result<ClientCredentialId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}

/// The optional parts a response should include, from `expand[]=…` (or `expand=…`) in the
/// query string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expand {
    /// `expand[]=permissions`: add the caller's permissions.
    pub permissions: bool,
}

impl Expand {
    /// Reads every `expand` and `expand[]` parameter of a raw query string; an unknown value is a
    /// `400` naming the parameter (not the value). Empty values and other parameters are ignored.
    pub fn from_query(query: &str) -> Result<Self, ApiError> {
        let mut expand = Self::default();
        let mut errors = ValidationErrors::new();
        for segment in query.split('&') {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            let Ok(name) = decode_component(name) else {
                continue;
            };
            if name != "expand" && name != "expand[]" {
                continue;
            }
            match decode_component(value).as_deref() {
                Ok("") => {}
                Ok("permissions") => expand.permissions = true,
                _ => errors.push(
                    name,
                    "is not a known value; the only expandable part is `permissions`",
                ),
            }
        }
        errors.into_result(expand).map_err(ApiError::InvalidQuery)
    }

    /// The permissions view of a caller with `role`, when it was asked for.
    pub fn permissions(self, role: Role) -> Option<Permissions> {
        self.permissions.then(|| permissions_of(role))
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(bytes))
}

/// A `201 Created` JSON response with the new resource's `Location`.
pub fn created_response(location: &str, body: &impl Serialize) -> Result<HttpResponse, ApiError> {
    let mut response = json_response(StatusCode::CREATED, body)?;
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// `/api/v1/teams/{team}/service-accounts/{id}`.
pub fn service_account_location(team_id: TeamId, id: ServiceAccountId) -> String {
    format!("/api/v1/teams/{team_id}/service-accounts/{id}")
}

#[cfg(test)]
mod tests;
