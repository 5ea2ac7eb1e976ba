//! `GET /api/v1/teams/{team}/tokens`: a page of the team's user tokens (metadata only).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::validate::ValidationErrors;

use crate::auth::Authenticated;
use crate::dto::page::{PageQuery, encode_cursor, page_request};
use crate::dto::user_token::UserTokenPage;
use crate::error::ApiError;
use crate::handlers::service_accounts::json_response;
use crate::openapi::responses::{BadQuery, OwnerOnly, ServerErrors, TeamNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// List user tokens.
///
/// Oldest first, in pages of `limit` (at most 100); follow `next_cursor` until it is `null`.
/// Expired tokens are listed until they are revoked. Never shows a token. Requires the `owner`
/// role.
#[utoipa::path(
    tag = "tokens",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of user tokens", body = UserTokenPage),
        BadQuery, Unauthenticated, OwnerOnly, TeamNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/tokens")]
pub(crate) async fn list_user_tokens(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::ReadUserToken).await?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    let found = blocking(move || store.list_user_tokens(team.id, page)).await?;
    json_response(
        StatusCode::OK,
        &UserTokenPage {
            items: found.items.into_iter().map(Into::into).collect(),
            next_cursor: found.next_after.map(encode_cursor),
        },
    )
}
