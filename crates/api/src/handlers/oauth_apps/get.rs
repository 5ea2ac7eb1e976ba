//! `GET /api/v1/teams/{team}/oauth-apps/{oauth_app_id}`: one OAuth app.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::dto::oauth_app::OAuthAppResponse;
use crate::error::ApiError;
use crate::handlers::oauth_apps::{oauth_app_id, oauth_app_response};
use crate::openapi::responses::{OAuthAppNotFound, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Get an OAuth app.
///
/// The client secret is masked. Requires the `member` role. Another team's app answers exactly
/// like a missing one.
#[utoipa::path(
    tag = "oauth-apps",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("oauth_app_id" = uuid::Uuid, Path, description = "The app's id"),
    ),
    responses(
        (status = 200, description = "The app", body = OAuthAppResponse, headers(
            ("ETag" = String, description = "The version, quoted: `\"3\"`"),
        )),
        Unauthenticated, OAuthAppNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/oauth-apps/{oauth_app_id}")]
pub(crate) async fn get_oauth_app(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, app_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadOAuthApp).await?;
    let app_id = oauth_app_id(&app_segment)?;
    let store = state.store.clone();
    let stored = blocking(move || store.find_oauth_app(team.id, app_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    oauth_app_response(StatusCode::OK, stored.app)
}
