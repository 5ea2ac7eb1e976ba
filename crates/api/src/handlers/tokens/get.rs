//! `GET /api/v1/teams/{team}/tokens/{token_id}`: one user token's metadata.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::dto::user_token::UserTokenResponse;
use crate::error::ApiError;
use crate::handlers::service_accounts::json_response;
use crate::handlers::tokens::token_id;
use crate::openapi::responses::{OwnerOnly, ServerErrors, Unauthenticated, UserTokenNotFound};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Get a user token.
///
/// Its metadata only; the token itself was shown once, when it was issued. Requires the `owner`
/// role. Another team's token answers exactly like a missing one.
#[utoipa::path(
    tag = "tokens",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("token_id" = uuid::Uuid, Path, description = "The token's id"),
    ),
    responses(
        (status = 200, description = "The user token", body = UserTokenResponse),
        Unauthenticated, OwnerOnly, UserTokenNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/tokens/{token_id}")]
pub(crate) async fn get_user_token(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, token_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadUserToken).await?;
    let id = token_id(&token_segment)?;
    let store = state.store.clone();
    let token = blocking(move || store.find_user_token(team.id, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    json_response(StatusCode::OK, &UserTokenResponse::from(token))
}
