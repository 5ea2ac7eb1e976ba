//! `PATCH /api/v1/teams/{team}/oauth-apps/{oauth_app_id}`: a partial update of an OAuth app.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use credvault_domain::authz::Action;
use credvault_domain::oauth_app::OAuthAppPatch;
use credvault_usecases::oauth_apps;

use crate::auth::Authenticated;
use crate::body;
use crate::conditional::IfMatch;
use crate::dto::oauth_app::{OAuthAppResponse, PatchOAuthAppRequest};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::oauth_apps::{oauth_app_id, oauth_app_response};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, NotJson, OAuthAppNotFound, OwnerOnly, ServerErrors,
    Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::team_for;

/// Update an OAuth app (partial update).
///
/// An omitted field keeps its value. `client_secret`: a new value replaces the stored one;
/// `""`, `null` or the mask `"••••"` keeps it. `token_url` / `authorize_url`: `null` is the
/// provider's default again. `scopes` replaces the list. `metadata` is an RFC 7396 merge patch.
/// The provider is fixed at creation (sending it is a `422`). A body that changes nothing
/// writes nothing (same version). `If-Match: "<version>"` makes the update conditional
/// (`412` naming `current_version` otherwise). Requires the `owner` role.
#[utoipa::path(
    tag = "oauth-apps",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("oauth_app_id" = uuid::Uuid, Path, description = "The app's id"),
        ("If-Match" = Option<String>, Header, description = "Only update if the stored version is this one, quoted: `\"3\"`"),
    ),
    request_body(
        description = "The fields to change",
        content(
            (PatchOAuthAppRequest = "application/json"),
            (PatchOAuthAppRequest = "application/merge-patch+json"),
        )
    ),
    responses(
        (status = 200, description = "The updated app", body = OAuthAppResponse, headers(
            ("ETag" = String, description = "The version, quoted: `\"3\"`"),
        )),
        (status = 400, description = "Malformed JSON or If-Match", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, OwnerOnly, OAuthAppNotFound,
        (status = 412, description = "If-Match does not match; `current_version` names the stored one", body = Problem, content_type = "application/problem+json"),
        BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/teams/{team}/oauth-apps/{oauth_app_id}")]
pub(crate) async fn update_oauth_app(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, app_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::UpdateOAuthApp).await?;
    let app_id = oauth_app_id(&app_segment)?;
    let if_match = IfMatch::from_headers(req.headers())?;
    let raw_body = body::read_raw(&req, payload).await?;
    let app_patch = OAuthAppPatch::from_json(body::parse_json(&raw_body)?)?;
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let updated = web::block(move || {
        let precondition = |version: i64| if_match.matches(version);
        let conditional = !matches!(if_match, IfMatch::Absent | IfMatch::Any);
        oauth_apps::update(
            &store,
            &key_ring,
            team.id,
            app_id,
            &app_patch,
            conditional.then_some(&precondition as oauth_apps::Precondition<'_>),
        )
    })
    .await??;
    if !updated.changed_fields.is_empty() {
        log::info!(
            "oauth app {app_id} updated in team {} (version {}, changed: {}) by {} {}",
            team.id,
            updated.app.version,
            updated.changed_fields.join(", "),
            principal.kind.as_str(),
            principal.id,
        );
    }
    oauth_app_response(StatusCode::OK, updated.app)
}
