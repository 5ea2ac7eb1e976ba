//! `POST /api/v1/teams/{team}/tokens`: issue a user token.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use credvault_domain::authz::Action;
use credvault_persistence::NewUserToken;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::user_token::{CreateUserTokenRequest, CreatedUserTokenResponse};
use crate::error::ApiError;
use crate::handlers::service_accounts::created_response;
use crate::handlers::tokens::input::NewUserTokenInput;
use crate::handlers::tokens::{USER_TOKEN_PREFIX, token_location};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequest, NotJson, OwnerOnly, ServerErrors, TeamNotFound,
    Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};
use credvault_crypto::{TokenHash, generate_token};

/// Issue a user token.
///
/// The token acts in the team with `role` (`member` unless the body says `owner`) until it
/// expires (`expires_in` seconds from now, or at `expires_at`; never with neither) or is revoked.
/// It is shown in this response only: it is stored as a hash and can never be read again.
/// Requires the `owner` role.
#[utoipa::path(
    tag = "tokens",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
    ),
    request_body(content = CreateUserTokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; the only response that shows `token`", body = CreatedUserTokenResponse, headers(
            ("Location" = String, description = "The new token's URL"),
            ("Cache-Control" = String, description = "`no-store`: the body holds a secret"),
        )),
        MalformedRequest, Unauthenticated, OwnerOnly, TeamNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/tokens")]
pub(crate) async fn create_user_token(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::CreateUserToken).await?;
    let raw_body = body::read_raw(&req, payload).await?;
    let input = NewUserTokenInput::from_json(body::parse_json(&raw_body)?, Utc::now())?;

    let token = generate_token(USER_TOKEN_PREFIX);
    let token_hash = TokenHash::of(token.expose()).to_hex();
    let store = state.store.clone();
    let issuer = principal.id;
    let issued = blocking(move || {
        store.issue_user_token(&NewUserToken {
            team_id: team.id,
            role: input.role,
            name: &input.name,
            token_hash: &token_hash,
            created_by: Some(issuer),
            expires_at: input.expires_at,
        })
    })
    .await?;
    log::info!(
        "user token {} issued in team {} with role {} (expires {}) by {} {}",
        issued.id,
        issued.team_id,
        issued.role,
        issued
            .expires_at
            .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339()),
        principal.kind.as_str(),
        principal.id,
    );

    let location = token_location(issued.team_id, issued.id);
    let created = CreatedUserTokenResponse {
        metadata: issued.into(),
        token,
    };
    let mut response = created_response(&location, &created)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
