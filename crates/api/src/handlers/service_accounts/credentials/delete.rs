//! `DELETE /api/v1/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}`:
//! remove a client credential and revoke the tokens issued through it.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::handlers::service_accounts::{client_credential_id, service_account_id};
use crate::openapi::responses::{
    OwnerOnly, ServerErrors, ServiceAccountCredentialNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Delete a service account credential.
///
/// The client id and secret stop working, and so does every access token issued through them,
/// at once. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 204, description = "Deleted; its tokens are revoked"),
        Unauthenticated, OwnerOnly, ServiceAccountCredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}")]
pub(crate) async fn delete_service_account_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment, credential_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::DeleteServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let credential_id = client_credential_id(&credential_segment)?;
    let store = state.store.clone();
    blocking(move || store.delete_client_credential(team.id, account_id, credential_id)).await?;
    // The store has deleted the tokens; this process must not keep accepting cached ones.
    state.token_cache.forget_service_account(account_id);
    Ok(HttpResponse::NoContent().finish())
}
