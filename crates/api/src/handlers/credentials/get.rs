//! `GET /api/v1/teams/{team}/integrations/{credential_id}`: one credential, secrets masked.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::dto::credential::CredentialResponse;
use crate::error::ApiError;
use crate::handlers::credentials::credential_response;
use crate::openapi::responses::{CredentialNotFound, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, credential_id, team_for};

/// Get a credential.
///
/// Secret values are never returned: `secrets` lists the stored secret fields, masked.
/// Requires the `member` role. Another team's credential answers exactly like a missing one.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 200, description = "The credential", body = CredentialResponse, headers(
            ("ETag" = String, description = "The version, quoted: `\"3\"`"),
        )),
        Unauthenticated, CredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/integrations/{credential_id}")]
pub(crate) async fn get_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let store = state.store.clone();
    let stored = blocking(move || store.find_credential(team.id, credential_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    credential_response(StatusCode::OK, stored.credential)
}
