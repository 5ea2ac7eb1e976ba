//! `GET /api/v1/teams/{team}/oauth-apps`: a page of the team's OAuth apps.

use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::validate::ValidationErrors;

use crate::auth::Authenticated;
use crate::dto::oauth_app::{OAuthAppPage, OAuthAppResponse};
use crate::dto::page::{PageQuery, encode_cursor, page_request};
use crate::error::ApiError;
use crate::openapi::responses::{BadQuery, ServerErrors, TeamNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// List OAuth apps.
///
/// Oldest first, in pages of `limit` (at most 100); follow `next_cursor` until it is `null`.
/// Client secrets are masked. Requires the `member` role.
#[utoipa::path(
    tag = "oauth-apps",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of OAuth apps", body = OAuthAppPage),
        BadQuery, Unauthenticated, TeamNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/oauth-apps")]
pub(crate) async fn list_oauth_apps(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::ReadOAuthApp).await?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    let found = blocking(move || store.list_oauth_apps(team.id, page)).await?;
    let items = found
        .items
        .into_iter()
        .map(|stored| OAuthAppResponse::new(stored.app))
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(OAuthAppPage {
        items,
        next_cursor: found.next_after.map(encode_cursor),
    }))
}
