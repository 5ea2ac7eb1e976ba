//! `DELETE /api/v1/teams/{team}/tokens/{token_id}`: revoke a user token.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::handlers::tokens::token_id;
use crate::openapi::responses::{OwnerOnly, ServerErrors, Unauthenticated, UserTokenNotFound};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Revoke a user token.
///
/// The token stops working at once on this server, and on every other instance over the same
/// database within the token cache's few seconds. Its principal goes with it; audit events that
/// name it as actor stay. An owner may revoke its own token. Requires the `owner` role.
#[utoipa::path(
    tag = "tokens",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("token_id" = uuid::Uuid, Path, description = "The token's id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        Unauthenticated, OwnerOnly, UserTokenNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/tokens/{token_id}")]
pub(crate) async fn delete_user_token(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, token_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::RevokeUserToken).await?;
    let id = token_id(&token_segment)?;
    let store = state.store.clone();
    blocking(move || store.revoke_user_token(team.id, id)).await?;
    // The store has deleted the token; this process must not keep accepting a cached copy.
    state.token_cache.forget_principal(id);
    log::info!(
        "user token {id} revoked in team {} by {} {}",
        team.id,
        principal.kind.as_str(),
        principal.id,
    );
    Ok(HttpResponse::NoContent().finish())
}
