//! `/api/v1/teams/{team}/oauth-apps`: a team's OAuth apps (SPEC §11). Owners manage them,
//! members read them; another team's app answers exactly like a missing one. The client secret
//! is write-only: every response shows the mask.
//!
//! Writes are logged with the acting principal (there is no per-app audit trail), like user
//! tokens; the log names the app, never its client id or secret.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod patch;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use credvault_domain::ids::{OAuthAppId, TeamId};
use credvault_domain::oauth_app::OAuthApp;

use crate::dto::oauth_app::OAuthAppResponse;
use crate::error::ApiError;
use crate::handlers::credentials::etag;

/// Parses an `{oauth_app_id}` path segment; a malformed id is simply not found.
pub fn oauth_app_id(segment: &str) -> Result<OAuthAppId, ApiError> {
    segment.parse().map_err(|_| ApiError::NotFound)
}

/// `/api/v1/teams/{team}/oauth-apps/{id}`.
pub fn oauth_app_location(team_id: TeamId, id: OAuthAppId) -> String {
    format!("/api/v1/teams/{team_id}/oauth-apps/{id}")
}

/// A JSON response with an app (client secret masked) and its `ETag`.
pub fn oauth_app_response(status: StatusCode, app: OAuthApp) -> Result<HttpResponse, ApiError> {
    let version = app.version;
    let body = serde_json::to_vec(&OAuthAppResponse::new(app)?).map_err(ApiError::internal)?;
    let mut response = HttpResponse::build(status)
        .content_type("application/json")
        .body(body);
    response.headers_mut().insert(
        header::ETAG,
        HeaderValue::from_str(&etag(version)).map_err(ApiError::internal)?,
    );
    Ok(response)
}
