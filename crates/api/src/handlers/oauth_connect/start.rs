//! `POST /api/v1/teams/{team}/integrations/{credential_id}/oauth/connect`: start an OAuth connect.

use actix_web::http::header;
use actix_web::{HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_persistence::ConnectReturn;
use credvault_usecases::credentials::{self, StartRequest};

use crate::auth::Authenticated;
use crate::dto::oauth_connect::ConnectStartResponse;
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::openapi::responses::{CredentialNotFound, OwnerOnly, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// Start an OAuth connect of a credential (authorization code with PKCE).
///
/// For an OAuth credential (`oauth2`, `google_oauth`, `sharepoint_oauth`) linked to an OAuth app
/// of the team. Answers the provider's authorize URL, which carries a single-use `state` bound
/// to the team, the credential and the caller, and the PKCE `S256` challenge; send the browser
/// there within 10 minutes. The provider redirects back to `GET /api/v1/oauth/callback`, which
/// exchanges the code at the app's token URL and stores the tokens as an update by the caller.
/// For Google the URL asks for `access_type=offline` and `prompt=consent`, for Microsoft and
/// SharePoint the `offline_access` scope, so that a refresh token is issued. Nothing about the
/// credential changes until the callback. Requires the role that may update the credential
/// (`owner`).
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 200, description = "The connect is started; send the browser to `authorize_url`", body = ConnectStartResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        Unauthenticated, OwnerOnly, CredentialNotFound,
        (status = 409, description = "The credential cannot be connected (`not-connectable`): not an OAuth kind, or not linked to an OAuth app; the detail says which", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations/{credential_id}/oauth/connect")]
pub(crate) async fn start_oauth_connect(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::UpdateIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let started = start(
        &state,
        team.id,
        credential_id,
        principal,
        ConnectReturn::Api,
    )
    .await?;
    let body = serde_json::to_vec(&started).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Starts a connect through the use case, for the API and the console alike.
pub(crate) async fn start(
    state: &AppState,
    team_id: credvault_domain::ids::TeamId,
    credential_id: credvault_domain::ids::CredentialId,
    principal: credvault_domain::principal::Principal,
    return_to: ConnectReturn,
) -> Result<ConnectStartResponse, ApiError> {
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let redirect_uri = state.oauth_redirect_uri();
    let started = web::block(move || {
        credentials::start(
            &store,
            &key_ring,
            &StartRequest {
                team_id,
                credential_id,
                principal: &principal,
                redirect_uri: &redirect_uri,
                return_to,
            },
        )
    })
    .await??;
    Ok(ConnectStartResponse {
        authorize_url: started.authorize_url,
        state: started.state,
        expires_at: started.expires_at,
    })
}
