//! `PATCH /api/v1/teams/{team}/integrations/{credential_id}`: the partial update (SPEC §3).
//!
//! The merge runs inside `Store::update_credential`, on the latest row and in one transaction:
//! the closure opens the ciphertext only when the patch sets or clears a secret, applies the
//! domain's `apply_patch`, seals the new secrets and builds the audit event. A patch that changes
//! nothing writes nothing. `?dry_run=true` runs the same closure and stops it with
//! `Rejection::DryRun`, so the would-be credential is computed exactly as a real PATCH would
//! and nothing is written.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use chrono::{SubsecRound, Utc};
use credvault_domain::audit::{AuditAction, AuditEvent};
use credvault_domain::authz::Action;
use credvault_domain::credential::Credential;
use credvault_domain::ids::{EventId, RequestId};
use credvault_domain::patch::{CredentialPatch, PatchError, apply_patch};
use credvault_domain::principal::Principal;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::{CredentialChange, SecretsUpdate, StoredCredential, UpdateError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Authenticated;
use crate::body;
use crate::conditional::IfMatch;
use crate::dto::credential::{CredentialResponse, PatchCredentialRequest};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::credentials::{actor, credential_response, open, seal};
use crate::idempotency::{self, Begin};
use crate::openapi::responses::{
    BodyTooLarge, CredentialNotFound, IdempotencyKeyInProgress, InvalidFieldsOrReusedKey, NotJson,
    OwnerOnly, ServerErrors, Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};
use credvault_crypto::{CryptoError, KeyRing};

/// Query parameters of a PATCH.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatchQuery {
    /// `true`: validate and return the would-be credential without writing anything.
    #[param(value_type = Option<bool>, example = false)]
    pub dry_run: Option<String>,
}

/// Why the update closure stopped without a write.
#[derive(Debug)]
enum Rejection {
    /// The patch is invalid (or the stored secrets could not be used).
    Patch(PatchError),
    /// The ciphertext could not be opened or the new secrets sealed.
    Crypto(CryptoError),
    /// A dry run: the credential the patch would produce.
    DryRun(Box<Credential>),
    /// The response to store for the `Idempotency-Key` could not be rendered.
    Response(ApiError),
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
        let update_principal = principal.clone();
        let held = claim.as_ref().map(|claim| claim.claim().clone());
        let (outcome, first_response) = web::block(move || {
            let decide_on = |stored: &StoredCredential| {
                decide(
                    &key_ring,
                    &update_principal,
                    request_id,
                    &credential_patch,
                    dry_run,
                    stored,
                )
            };
            let Some(held) = held else {
                let outcome =
                    store.update_credential(team.id, credential_id, expected_version, decide_on);
                return (outcome, None);
            };
            // The response is rendered from the row as written and stored in the same transaction.
            let mut first_response = None;
            let outcome = store.update_credential_completing(
                team.id,
                credential_id,
                expected_version,
                &held,
                decide_on,
                |stored| {
                    let response = credential_response(StatusCode::OK, stored.credential.clone())
                        .map_err(Rejection::Response)?;
                    let stored_response = idempotency::to_stored(response);
                    first_response = Some(stored_response.clone());
                    Ok(stored_response)
                },
            );
            (outcome, first_response)
        })
        .await?;
        let credential = match outcome {
            Ok(stored) => match first_response {
                // Stored with the update: answer with exactly the bytes a replay will send.
                Some(first_response) => return idempotency::replay(&first_response),
                None => stored.credential,
            },
            Err(UpdateError::Rejected(Rejection::DryRun(credential))) => *credential,
            Err(UpdateError::Rejected(Rejection::Patch(PatchError::Invalid(errors)))) => {
                return Err(errors.into());
            }
            Err(UpdateError::Rejected(Rejection::Patch(error))) => {
                return Err(ApiError::internal(error));
            }
            Err(UpdateError::Rejected(Rejection::Crypto(error))) => {
                return Err(ApiError::internal(error));
            }
            Err(UpdateError::Rejected(Rejection::Response(error))) => return Err(error),
            Err(UpdateError::Store(error)) => return Err(idempotency::completion_error(error)),
        };
        credential_response(StatusCode::OK, credential)
    }
    .await;
    idempotency::finish(claim, outcome).await
}

/// The decision made on the latest stored row, inside the store's transaction.
fn decide(
    key_ring: &Arc<KeyRing>,
    principal: &Principal,
    request_id: RequestId,
    credential_patch: &CredentialPatch,
    dry_run: bool,
    stored: &StoredCredential,
) -> Result<CredentialChange, Rejection> {
    let current = &stored.credential;
    let stored_secrets = if credential_patch.touches_secrets(current) {
        Some(open(key_ring, stored).map_err(Rejection::Crypto)?)
    } else {
        None
    };
    let outcome = apply_patch(current, stored_secrets.as_ref(), credential_patch)
        .map_err(Rejection::Patch)?;
    if dry_run {
        return Err(Rejection::DryRun(Box::new(outcome.credential)));
    }
    if !outcome.changed() {
        return Ok(CredentialChange::Unchanged);
    }
    let secrets = match &outcome.secrets {
        None => SecretsUpdate::Keep,
        Some(new_secrets) => {
            match seal(key_ring, new_secrets, current.team_id, current.id)
                .map_err(Rejection::Crypto)?
            {
                Some(ciphertext) => SecretsUpdate::Replace(ciphertext),
                None => SecretsUpdate::Remove,
            }
        }
    };
    let mut credential = outcome.credential;
    credential.modified_by = principal.id;
    let event = AuditEvent {
        id: EventId::new(),
        team_id: current.team_id,
        credential_id: current.id,
        action: AuditAction::Updated,
        actor: actor(principal),
        changed_fields: outcome.changed_fields,
        secrets: outcome.secret_effects,
        request_id,
        at: Utc::now().trunc_subsecs(6),
    };
    Ok(CredentialChange::Update {
        credential,
        secrets,
        event,
    })
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
