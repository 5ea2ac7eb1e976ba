//! `DELETE /api/v1/teams/{team}/integrations/{credential_id}`: remove a credential and its
//! ciphertext; its audit trail stays.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;
use credvault_usecases::credentials::{self, Caller};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::responses::{CredentialNotFound, OwnerOnly, ServerErrors, Unauthenticated};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// Delete a credential.
///
/// The ciphertext is removed with the row; the audit trail, including a `deleted` event, stays
/// readable through the events endpoint. Requires the `owner` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated, OwnerOnly, CredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/integrations/{credential_id}")]
pub(crate) async fn delete_credential(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::DeleteIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let caller = Caller::new(&principal, request_id);
    let store = state.store.clone();
    web::block(move || credentials::delete(&store, team.id, credential_id, caller)).await??;
    Ok(HttpResponse::NoContent().finish())
}
