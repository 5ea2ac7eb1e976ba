//! `/api/v1/teams/{team}/integrations`: create, list, get, PATCH, delete, connection tests and
//! the audit trail.
//!
//! The handlers parse the request, call one use case of `credvault_usecases::credentials` on the
//! blocking pool and map its result. Shared here: the response shape with its `ETag`, and its
//! rendering for an `Idempotency-Key`'s record.

pub mod consume;
pub mod create;
pub mod delete;
pub mod events;
pub mod get;
pub mod list;
pub mod patch;
pub mod test;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use credvault_persistence::StoredResponse;
use credvault_usecases::Error as UseCaseError;
use credvault_usecases::credentials::LinkedCredential;

use crate::dto::credential::CredentialResponse;
use crate::error::ApiError;
use crate::idempotency;

/// The `ETag` of a credential version: `"<version>"`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A JSON response with a credential (secrets masked), its OAuth app, and its `ETag`.
pub fn credential_response(
    status: StatusCode,
    linked: LinkedCredential,
) -> Result<HttpResponse, ApiError> {
    let LinkedCredential {
        credential,
        oauth_app,
    } = linked;
    let version = credential.version;
    let body = serde_json::to_vec(&CredentialResponse::new(credential, oauth_app)?)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::ETAG, etag(version)))
        .body(body))
}

/// A response as an `Idempotency-Key` record stores it, for the renderer of a `*_completing`
/// use case.
fn to_record(response: Result<HttpResponse, ApiError>) -> Result<StoredResponse, UseCaseError> {
    response
        .map(idempotency::to_stored)
        .map_err(|error| UseCaseError::Render(error.to_string()))
}
