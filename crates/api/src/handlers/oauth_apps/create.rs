//! `POST /api/v1/teams/{team}/oauth-apps`: create an OAuth app.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_domain::oauth_app::NewOAuthApp;
use credvault_usecases::oauth_apps;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::oauth_app::{CreateOAuthAppRequest, OAuthAppResponse};
use crate::error::ApiError;
use crate::handlers::oauth_apps::{oauth_app_location, oauth_app_response};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequest, NotJson, OwnerOnly, ServerErrors, TeamNotFound,
    Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::team_for;

/// Create an OAuth app.
///
/// The team's OAuth 2.0 client for a provider (`microsoft`, `sharepoint` or `google`): the
/// client id and secret the provider issued, its token and authorize URLs (the provider's when
/// omitted) and default scopes. The client secret is stored sealed and every response shows
/// `"••••"`. Requires the `owner` role.
#[utoipa::path(
    tag = "oauth-apps",
    params(("team" = String, Path, description = "The team's id or label", example = "demo")),
    request_body(content = CreateOAuthAppRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = OAuthAppResponse, headers(
            ("Location" = String, description = "The new app's URL"),
            ("ETag" = String, description = "The version, quoted: `\"1\"`"),
        )),
        MalformedRequest, Unauthenticated, OwnerOnly, TeamNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/oauth-apps")]
pub(crate) async fn create_oauth_app(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::CreateOAuthApp).await?;
    let raw_body = body::read_raw(&req, payload).await?;
    let input = NewOAuthApp::from_json(body::parse_json(&raw_body)?)?;
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let app = web::block(move || oauth_apps::create(&store, &key_ring, team.id, input)).await??;
    log::info!(
        "oauth app {} ({}) created in team {} by {} {}",
        app.id,
        app.provider,
        team.id,
        principal.kind.as_str(),
        principal.id,
    );
    let location = oauth_app_location(team.id, app.id);
    let mut response = oauth_app_response(StatusCode::CREATED, app)?;
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(ApiError::internal)?,
    );
    Ok(response)
}
