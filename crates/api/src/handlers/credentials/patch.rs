//! `PATCH /api/v1/teams/{team}/integrations/{credential_id}`: the partial update (SPEC §3).
//!
//! The handler parses the path, `If-Match`, `?dry_run` and the body, and calls one use case of
//! `credvault_usecases::credentials`: `update` (or `update_completing` with an
//! `Idempotency-Key`), which plans the patch on the latest row inside the store's transaction
//! and writes its change (a patch that changes nothing writes nothing), or `dry_run`, which runs
//! the same plan on the row as read and writes nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use credvault_domain::authz::Action;
use credvault_domain::patch::CredentialPatch;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::StoredResponse;
use credvault_usecases::credentials::{self, Caller, LinkedCredential, PatchRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Authenticated;
use crate::body;
use crate::conditional::IfMatch;
use crate::dto::credential::{CredentialResponse, PatchCredentialRequest};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::credentials::{credential_response, to_record};
use crate::idempotency::{self, Begin};
use crate::openapi::responses::{
    BodyTooLarge, CredentialNotFound, IdempotencyKeyInProgress, InvalidFieldsOrReusedKey, NotJson,
    OwnerOnly, ServerErrors, Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// Query parameters of a PATCH.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatchQuery {
    /// `true`: validate and return the would-be credential without writing anything.
    #[param(value_type = Option<bool>, example = false)]
    pub dry_run: Option<String>,
}

/// Update a credential (partial update).
///
/// Omitted fields keep their stored value. Inside `extra_data`, a secret field sent as `""`,
/// `null` or `"••••"` keeps the stored secret and any other string replaces it; other keys are
/// merged at the top level (nested objects are replaced wholesale, `null` deletes). `metadata` is
/// an RFC 7396 merge patch. The merged result is validated against the kind's schema and every
/// failing field is listed in one `422`; nothing is written then. A patch that changes nothing
/// returns `200` with the same version. `If-Match: "<version>"` makes the update conditional
/// (`412` names the current version). Requires the `owner` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        ("If-Match" = Option<String>, Header, description = "Only update if the stored version is this one, quoted: `\"3\"`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body within 24 h replay the first response, or answer `409` with `Retry-After` while the first request is still running; 1 to 255 printable ASCII characters", pattern = r"^[ \t]*[!-~]{1,255}[ \t]*$"),
        PatchQuery,
    ),
    request_body(
        description = "The fields to change",
        content(
            (PatchCredentialRequest = "application/merge-patch+json"),
            (PatchCredentialRequest = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "The updated (or, with `dry_run`, the would-be) credential", body = CredentialResponse, headers(
            ("ETag" = String, description = "The version, quoted: `\"4\"`"),
        )),
        (status = 400, description = "Malformed JSON, If-Match or other header", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, OwnerOnly, CredentialNotFound, IdempotencyKeyInProgress,
        (status = 412, description = "If-Match does not match; `current_version` names the stored one", body = Problem, content_type = "application/problem+json"),
        BodyTooLarge, NotJson, InvalidFieldsOrReusedKey, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/teams/{team}/integrations/{credential_id}")]
pub(crate) async fn update_credential(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PatchQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::UpdateIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let if_match = IfMatch::from_headers(req.headers())?;
    let dry_run = dry_run(query.dry_run.as_deref())?;
    let raw_body = body::read_raw(&req, payload).await?;
    // A dry run stores no response, so it claims no key; it still answers a reused key.
    let claim = if dry_run {
        if let Some(replayed) = idempotency::check(&state, &principal, &req, &raw_body).await? {
            return Ok(replayed);
        }
        None
    } else {
        match idempotency::begin(&state, &principal, &req, &raw_body).await? {
            Begin::Replay(replayed) => return Ok(replayed),
            Begin::Run(claim) => claim,
        }
    };
    // A failure releases the key before the answer goes out, so a corrected retry may use it.
    let outcome: Result<HttpResponse, ApiError> = async {
        let credential_patch = CredentialPatch::from_json(body::parse_json(&raw_body)?)?;
        let expected_version = if_match
            .expected_version(&state, team.id, credential_id)
            .await?;

        let store = state.store.clone();
        let key_ring = state.key_ring.clone();
        let caller = Caller::new(&principal, request_id);
        let held = claim.as_ref().map(|claim| claim.claim().clone());
        let answer = web::block(move || {
            let request = PatchRequest {
                team_id: team.id,
                credential_id,
                expected_version,
                patch: &credential_patch,
                caller,
            };
            if dry_run {
                return credentials::dry_run(&store, &key_ring, &request).map(Answer::Credential);
            }
            let Some(held) = held else {
                return credentials::update(&store, &key_ring, &request).map(Answer::Credential);
            };
            // The response is rendered from the credential as written and stored with it.
            credentials::update_completing(&store, &key_ring, &request, &held, |linked| {
                to_record(credential_response(StatusCode::OK, linked.clone()))
            })
            .map(Answer::Recorded)
        })
        .await??;
        match answer {
            Answer::Credential(credential) => credential_response(StatusCode::OK, credential),
            // Stored with the update: answer with exactly the bytes a replay will send.
            Answer::Recorded(first_response) => idempotency::replay(&first_response),
        }
    }
    .await;
    idempotency::finish(claim, outcome).await
}

/// What the use case answered: a credential to render, or the response it stored.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per request, moved once; boxing would only add an allocation"
)]
enum Answer {
    Credential(LinkedCredential),
    Recorded(StoredResponse),
}

fn dry_run(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::InvalidQuery(ValidationErrors::single(
            "dry_run",
            "must be true or false",
        ))),
    }
}
