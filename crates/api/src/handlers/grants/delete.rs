//! `DELETE /api/v1/teams/{team}/integrations/{credential_id}/grants/{grant_id}`: revoke a grant.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;
use credvault_usecases::credentials::Caller;
use credvault_usecases::grants;

use crate::auth::Authenticated;
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::grants::grant_id;
use crate::openapi::responses::{OwnerOnly, ServerErrors, Unauthenticated};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// Revoke a grant of use.
///
/// From the moment this answers, the service account's uses of the credential are refused with
/// `403`, on every instance (each use checks the grant in the database as it records the use).
/// Appends a `use_revoked` event to the credential's trail. Requires the `owner` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        ("grant_id" = uuid::Uuid, Path, description = "The grant's id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        Unauthenticated, OwnerOnly,
        (status = 404, description = "No such team, credential or grant, or the caller is not in the team", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/integrations/{credential_id}/grants/{grant_id}")]
pub(crate) async fn delete_grant(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment, grant_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::RevokeGrant).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let grant_id = grant_id(&grant_id_segment)?;
    let caller = Caller::new(&principal, request_id);
    let store = state.store.clone();
    web::block(move || grants::revoke(&store, team.id, credential_id, grant_id, caller)).await??;
    Ok(HttpResponse::NoContent().finish())
}
