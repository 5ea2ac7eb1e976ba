//! `POST /api/v1/teams/{team}/integrations`: create a credential.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_domain::patch::NewCredential;
use credvault_usecases::credentials::{self, Caller, LinkedCredential};

use crate::auth::Authenticated;
use crate::body;
use crate::dto::credential::{CreateCredentialRequest, CredentialResponse};
use crate::error::ApiError;
use crate::handlers::credentials::{credential_response, to_record};
use crate::idempotency::{self, Begin};
use crate::openapi::responses::{
    BodyTooLarge, IdempotencyKeyInProgress, InvalidFieldsOrReusedKey, MalformedRequest, NotJson,
    OwnerOnly, ServerErrors, TeamNotFound, Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::team_for;

/// Create an integration credential.
///
/// Secrets are sent inside `extra_data` under their field names and stored encrypted. The status
/// defaults to `credentials_saved` when every required secret is present, else `pending`.
/// Requires the `owner` role. With `Idempotency-Key`, a retry with the same body within 24 hours
/// returns the first response, and one sent while the first is still running gets `409` with
/// `Retry-After`.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body within 24 h replay the first response, or answer `409` with `Retry-After` while the first request is still running; 1 to 255 printable ASCII characters", pattern = r"^[ \t]*[!-~]{1,255}[ \t]*$"),
    ),
    request_body(content = CreateCredentialRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = CredentialResponse, headers(
            ("Location" = String, description = "The new credential's URL"),
            ("ETag" = String, description = "The version, quoted: `\"1\"`"),
        )),
        MalformedRequest, Unauthenticated, OwnerOnly, TeamNotFound, IdempotencyKeyInProgress, BodyTooLarge, NotJson, InvalidFieldsOrReusedKey, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations")]
pub(crate) async fn create_credential(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    team: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::CreateIntegration).await?;
    let raw_body = body::read_raw(&req, payload).await?;
    let claim = match idempotency::begin(&state, &principal, &req, &raw_body).await? {
        Begin::Replay(replayed) => return Ok(replayed),
        Begin::Run(claim) => claim,
    };
    // A failure releases the key before the answer goes out, so a corrected retry may use it.
    let outcome: Result<HttpResponse, ApiError> = async {
        let input = NewCredential::from_json(body::parse_json(&raw_body)?)?;
        let store = state.store.clone();
        let key_ring = state.key_ring.clone();
        let caller = Caller::new(&principal, request_id);
        let Some(claim) = &claim else {
            let linked =
                web::block(move || credentials::create(&store, &key_ring, team.id, caller, &input))
                    .await??;
            return created_response(linked);
        };
        // The response is rendered before the write and stored in its transaction, so the answer
        // sent now and every replay are the same bytes, and a commit always has its record.
        let held = claim.claim().clone();
        let first_response = web::block(move || {
            credentials::create_completing(
                &store,
                &key_ring,
                team.id,
                caller,
                &input,
                &held,
                |linked| to_record(created_response(linked.clone())),
            )
        })
        .await??;
        idempotency::replay(&first_response)
    }
    .await;
    idempotency::finish(claim, outcome).await
}

/// `201` with the new credential, its `ETag` and its `Location`.
fn created_response(linked: LinkedCredential) -> Result<HttpResponse, ApiError> {
    let location = format!(
        "/api/v1/teams/{}/integrations/{}",
        linked.credential.team_id, linked.credential.id
    );
    let mut response = credential_response(StatusCode::CREATED, linked)?;
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&location).map_err(ApiError::internal)?,
    );
    Ok(response)
}
