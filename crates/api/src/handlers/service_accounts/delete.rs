//! `DELETE /api/v1/teams/{team}/service-accounts/{service_account_id}`: remove a service account
//! with its client credentials and tokens.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::handlers::service_accounts::service_account_id;
use crate::openapi::responses::{OwnerOnly, ServerErrors, ServiceAccountNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Delete a service account.
///
/// Its principal, membership, client credentials and every token issued to it go with it; the
/// tokens stop working at once. Audit events that name it as actor stay. Requires the `owner`
/// role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated, OwnerOnly, ServiceAccountNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/service-accounts/{service_account_id}")]
pub(crate) async fn delete_service_account(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::DeleteServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let store = state.store.clone();
    blocking(move || store.delete_service_account(team.id, account_id)).await?;
    state.token_cache.forget_service_account(account_id);
    Ok(HttpResponse::NoContent().finish())
}
