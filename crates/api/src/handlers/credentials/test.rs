//! Connection tests: `POST /api/v1/teams/{team}/integrations/{credential_id}/test` tests a stored
//! credential, `POST /api/v1/teams/{team}/integrations/test` tests candidate values (SPEC §4).
//!
//! The stored credential's secrets are opened only in memory, for the test. Every test of a
//! stored credential appends a `tested` audit event with the actor and request id, whatever it
//! found. Its outcome is server-owned state: `health`, and `status` `connected`/`error` (a
//! `revoked` credential keeps its status), written by `Store::record_test` without a new
//! version, so a member's tests never change the `ETag` that an owner's `If-Match` holds. The
//! outcome is written only if the credential is still the version that was tested.
//!
//! With a body, the stored-credential endpoint applies it as a PATCH in memory (SPEC §3
//! `dry_run`) and tests the would-be credential; that saves nothing on the credential, and its
//! event names the body's changed fields (`body.extra_data.host`), never a value. A body that
//! would make the test use a stored secret somewhere else (`domain::connection_test`) needs the
//! `owner` role: otherwise a member could send a stored password to a server of its own.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{SubsecRound, Utc};
use credvault_domain::audit::{AuditAction, AuditEvent};
use credvault_domain::authz::{Action, authorize};
use credvault_domain::connection_test::redirecting_fields;
use credvault_domain::credential::{Credential, CredentialStatus, Health, HealthStatus};
use credvault_domain::ids::{CredentialId, EventId, RequestId, TeamId};
use credvault_domain::patch::{
    CredentialPatch, NewCredential, PatchError, PatchOutcome, apply_patch, new_credential,
};
use credvault_domain::principal::Principal;
use credvault_persistence::{StoredCredential, TestRecord};
use credvault_probe::{self as probe, Target, TestOutcome};

use crate::auth::Authenticated;
use crate::body;
use crate::dto::connection_test::ConnectionTestResponse;
use crate::dto::credential::{CreateCredentialRequest, PatchCredentialRequest};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::handlers::credentials::{actor, open};
use crate::openapi::responses::{
    BodyTooLarge, CredentialNotFound, MalformedRequest, NotJson, ServerErrors, TeamNotFound,
    Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{blocking, credential_id, team_and_role_for, team_for};

/// Test a stored credential's connection.
///
/// PostgreSQL (`postgresql`, `internal_postgresql`) credentials connect, authenticate and run
/// `SELECT 1`; SFTP credentials complete the SSH handshake, log in, open the SFTP subsystem and
/// list the home directory. A test that ran answers `200` with `ok` and a machine-readable
/// `code`, whatever it found; it is bounded by the server's test timeout (10 s by default).
/// The outcome is recorded as the credential's `health`, its `status` becomes `connected` or
/// `error` (a `revoked` credential keeps its status), and a `tested` audit event is appended;
/// the version and `ETag` stay, since the outcome is server-owned state.
///
/// An optional body (absent, empty or `null` for none) is a PATCH (as for
/// `PATCH …/{credential_id}`) applied in memory to the stored credential before the test, so
/// that a change can be tested before it is saved; then only the `tested` event is written,
/// naming the fields the body changed (`body.extra_data.host`). A body that changes a connection
/// field (`host`, `port`, `username`, `database`, `ssl_mode`, a secret such as
/// `connection_string`, or any undeclared `extra_data` key such as `host_key_sha256`) while a
/// stored secret would be used requires the `owner` role (`403` for a member); a body that
/// replaces every stored secret, or changes only descriptive fields, may be tested by a member.
/// An SFTP server's host key can be pinned with the non-secret
/// `extra_data.host_key_sha256` (`SHA256:…` as `ssh-keygen -lf` prints it); without it the
/// message names the key seen. Connections to this server's own address and to networks the
/// outbound policy does not allow answer `refused_by_policy`. Credentials that cannot be tested
/// by connecting (OAuth, API keys, WordPress) are a `422`. Requires the `member` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    request_body(
        description = "Optional: a PATCH to apply in memory before testing (nothing is saved); connection changes need the `owner` role",
        content(
            (Option<PatchCredentialRequest> = "application/json"),
            (Option<PatchCredentialRequest> = "application/merge-patch+json"),
        )
    ),
    responses(
        (status = 200, description = "The test ran; `ok` and `code` say what it found", body = ConnectionTestResponse),
        MalformedRequest, Unauthenticated,
        (status = 403, description = "A member sent a body that would use a stored secret at another place or as another user; that needs the `owner` role", body = Problem, content_type = "application/problem+json"),
        CredentialNotFound, BodyTooLarge,
        (status = 415, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The credential cannot be tested (its provider, or a missing field listed in `errors`), or the PATCH body is invalid", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations/{credential_id}/test")]
pub(crate) async fn test_credential(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::TestIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let credential_patch = match optional_body(&req, payload).await? {
        None => None,
        Some(raw_body) => match body::parse_json(&raw_body)? {
            serde_json::Value::Null => None,
            value => Some(CredentialPatch::from_json(value)?),
        },
    };

    let store = state.store.clone();
    let stored = blocking(move || store.find_credential(team.id, credential_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let secrets = open(&state.key_ring, &stored).map_err(ApiError::internal)?;
    let StoredCredential { credential, .. } = stored;
    let patched = match &credential_patch {
        None => None,
        Some(credential_patch) => Some(
            apply_patch(&credential, Some(&secrets), credential_patch).map_err(
                |error| match error {
                    PatchError::Invalid(errors) => ApiError::Validation(errors),
                    other => ApiError::internal(other),
                },
            )?,
        ),
    };
    let with_body = patched.is_some();
    let Some(patched) = patched.filter(PatchOutcome::changed) else {
        // No body, or one that changes nothing: the stored credential as it is.
        let target = probe::target_for(&credential, &secrets)?;
        drop(secrets);
        let outcome = run(&state, team.id, &principal, target).await?;
        let mut event = tested_event(&credential, &principal, request_id);
        if with_body {
            event.changed_fields.push("body".to_owned());
        }
        let record = test_record(&credential, &outcome);
        record_test(&state, &credential, Some(record), event).await?;
        log_outcome(&credential, &outcome, "stored");
        return Ok(respond(outcome));
    };

    // A body that would send a stored secret elsewhere needs the role that may change the
    // credential (SPEC §1: members test, never write; §2: they never learn a secret).
    let redirecting = redirecting_fields(
        credential.schema(),
        &credential.secret_fields,
        &patched.changed_fields,
        &patched.secret_effects,
    );
    if !redirecting.is_empty() {
        authorize(Some(role), Action::UpdateIntegration)?;
    }
    let candidate_secrets = patched.secrets.unwrap_or(secrets);
    let target = probe::target_for(&patched.credential, &candidate_secrets)?;
    drop(candidate_secrets);
    let outcome = run(&state, team.id, &principal, target).await?;
    let mut event = tested_event(&credential, &principal, request_id);
    event.changed_fields.push("body".to_owned());
    event.changed_fields.extend(
        patched
            .changed_fields
            .iter()
            .map(|field| format!("body.{field}")),
    );
    event.secrets = patched.secret_effects;
    record_test(&state, &credential, None, event).await?;
    log_outcome(&patched.credential, &outcome, "patched");
    Ok(respond(outcome))
}

/// Test candidate credential values before saving them.
///
/// The body is the same as for creating a credential (`provider`, `kind`, `name`, `extra_data`
/// with the secrets, …) and is validated the same way (`422` listing every failing field).
/// Nothing is stored and no event is written. The test and its answer are those of
/// `POST …/integrations/{credential_id}/test`. Requires the `member` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
    ),
    request_body(content = CreateCredentialRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The test ran; `ok` and `code` say what it found", body = ConnectionTestResponse),
        MalformedRequest, Unauthenticated,
        (status = 403, description = "Not used: members and owners may both test", body = Problem, content_type = "application/problem+json"),
        TeamNotFound, BodyTooLarge, NotJson,
        (status = 422, description = "Invalid fields, or values that cannot be tested (provider, missing secret), listed in `errors`", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations/test")]
pub(crate) async fn test_candidate_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::TestIntegration).await?;
    let raw_body = body::read_raw(&req, payload).await?;
    let input = NewCredential::from_json(body::parse_json(&raw_body)?)?;
    let now = Utc::now().trunc_subsecs(6);
    let candidate = new_credential(&input, CredentialId::new(), team.id, principal.id, now)?;
    let target = probe::target_for(&candidate.credential, &candidate.secrets)?;
    drop(candidate.secrets);
    let outcome = run(&state, team.id, &principal, target).await?;
    log_outcome(&candidate.credential, &outcome, "candidate");
    Ok(respond(outcome))
}

/// The body of a stored-credential test, if it has one: `None` when it is empty or only
/// whitespace. A body without `Content-Type` is a `415`, as everywhere.
async fn optional_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<web::Bytes>, ApiError> {
    let raw_body = if req.headers().contains_key(header::CONTENT_TYPE) {
        body::read_raw(req, payload).await?
    } else {
        let bytes = payload
            .to_bytes_limited(body::MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge {
                limit: body::MAX_BODY_BYTES,
            })?
            .map_err(|error| {
                ApiError::BadRequest(format!("the request body could not be read: {error}"))
            })?;
        if !bytes.is_empty() {
            return Err(ApiError::UnsupportedMediaType);
        }
        bytes
    };
    Ok(Some(raw_body).filter(|bytes| !bytes.trim_ascii().is_empty()))
}

/// Runs the test on a thread of its own, within the limits of connection tests.
async fn run(
    state: &AppState,
    team_id: TeamId,
    principal: &Principal,
    target: Target,
) -> Result<TestOutcome, ApiError> {
    state.throttle.check_probe_principal(principal.id)?;
    let outcome = state
        .probes
        .run(team_id, target, state.probe_policy())
        .await?;
    Ok(outcome)
}

/// Appends the `tested` event and, with a `record`, writes the outcome on the stored credential
/// (without a new version; only if it is still the version that was tested).
async fn record_test(
    state: &AppState,
    tested: &Credential,
    record: Option<TestRecord>,
    event: AuditEvent,
) -> Result<(), ApiError> {
    let store = state.store.clone();
    let (team_id, credential_id) = (tested.team_id, tested.id);
    match blocking(move || store.record_test(team_id, credential_id, record.as_ref(), &event)).await
    {
        Ok(_) => Ok(()),
        // Deleted while it was being tested: the answer is still the test's.
        Err(ApiError::NotFound) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The `tested` event of a test of `tested`, naming no field yet.
fn tested_event(tested: &Credential, principal: &Principal, request_id: RequestId) -> AuditEvent {
    AuditEvent {
        id: EventId::new(),
        team_id: tested.team_id,
        credential_id: tested.id,
        action: AuditAction::Tested,
        actor: actor(principal),
        changed_fields: Vec::new(),
        secrets: Default::default(),
        request_id,
        at: Utc::now().trunc_subsecs(6),
    }
}

/// The outcome to write on the tested credential: `health`, and `status` `connected`/`error`
/// unless it is `revoked`.
fn test_record(tested: &Credential, outcome: &TestOutcome) -> TestRecord {
    let health = Health {
        status: if outcome.ok() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Error
        },
        notes: vec![outcome.message.clone()],
        checked_at: Some(Utc::now().trunc_subsecs(6)),
    };
    let status = match tested.status {
        CredentialStatus::Revoked => CredentialStatus::Revoked,
        _ if outcome.ok() => CredentialStatus::Connected,
        _ => CredentialStatus::Error,
    };
    let mut recorded_fields = Vec::new();
    if status != tested.status {
        recorded_fields.push("status".to_owned());
    }
    recorded_fields.push("health".to_owned());
    TestRecord {
        version: tested.version,
        status,
        health,
        recorded_fields,
    }
}

fn respond(outcome: TestOutcome) -> HttpResponse {
    HttpResponse::Ok().json(ConnectionTestResponse::from(outcome))
}

/// One line per test: what was tested and how it went; never a host, user or message.
fn log_outcome(credential: &Credential, outcome: &TestOutcome, what: &str) {
    let id = match what {
        "candidate" => String::new(),
        _ => format!(" credential_id={}", credential.id),
    };
    log::info!(
        "connection test finished of={what} provider={}{id} code={} ms={}",
        credential.provider,
        outcome.code.as_str(),
        outcome.latency.as_millis()
    );
}
