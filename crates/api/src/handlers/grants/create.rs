//! `POST /api/v1/teams/{team}/integrations/{credential_id}/grants`: grant a service account use.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_domain::grant::NewGrant;
use credvault_usecases::credentials::Caller;
use credvault_usecases::grants;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::grant::{CreateGrantRequest, GrantResponse};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::service_accounts::{created_response, json_response};
use crate::openapi::responses::{
    BodyTooLarge, CredentialNotFound, MalformedRequest, NotJson, OwnerOnly, ServerErrors,
    Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// Grant a service account use of a credential.
///
/// The service account may then get the credential's plaintext secrets with
/// `POST …/integrations/{credential_id}/use`. Only service accounts of this team can hold a grant;
/// users never do. Granting again what a service account already holds answers `200` with the
/// existing grant and writes nothing. Appends a `use_granted` event to the credential's trail.
/// Requires the `owner` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    request_body(content = CreateGrantRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Granted", body = GrantResponse, headers(
            ("Location" = String, description = "The grants of the credential"),
        )),
        (status = 200, description = "The service account already held this grant", body = GrantResponse),
        MalformedRequest, Unauthenticated, OwnerOnly, CredentialNotFound, BodyTooLarge, NotJson,
        (status = 422, description = "No such service account in this team, or a bad body, listed in `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations/{credential_id}/grants")]
pub(crate) async fn create_grant(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::CreateGrant).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let raw_body = body::read_raw(&req, payload).await?;
    let NewGrant { service_account_id } = NewGrant::from_json(body::parse_json(&raw_body)?)?;
    let caller = Caller::new(&principal, request_id);
    let store = state.store.clone();
    let (grant, created) = web::block(move || {
        grants::grant(&store, team.id, credential_id, service_account_id, caller)
    })
    .await??;
    let body = GrantResponse::from(grant);
    if created {
        created_response(
            &format!(
                "/api/v1/teams/{}/integrations/{credential_id}/grants",
                team.id
            ),
            &body,
        )
    } else {
        json_response(StatusCode::OK, &body)
    }
}
