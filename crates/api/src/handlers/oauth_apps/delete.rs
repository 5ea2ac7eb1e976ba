//! `DELETE /api/v1/teams/{team}/oauth-apps/{oauth_app_id}`: remove an OAuth app.

use actix_web::{HttpResponse, delete, web};
use credvault_domain::authz::Action;
use credvault_usecases::oauth_apps;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::handlers::oauth_apps::oauth_app_id;
use crate::openapi::responses::{OAuthAppNotFound, OwnerOnly, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::team_for;

/// Delete an OAuth app.
///
/// Its sealed client secret goes with it. Requires the `owner` role.
#[utoipa::path(
    tag = "oauth-apps",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("oauth_app_id" = uuid::Uuid, Path, description = "The app's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated, OwnerOnly, OAuthAppNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[delete("/teams/{team}/oauth-apps/{oauth_app_id}")]
pub(crate) async fn delete_oauth_app(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, app_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::DeleteOAuthApp).await?;
    let app_id = oauth_app_id(&app_segment)?;
    let store = state.store.clone();
    web::block(move || oauth_apps::delete(&store, team.id, app_id)).await??;
    log::info!(
        "oauth app {app_id} deleted in team {} by {} {}",
        team.id,
        principal.kind.as_str(),
        principal.id,
    );
    Ok(HttpResponse::NoContent().finish())
}
