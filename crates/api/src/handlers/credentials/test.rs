//! Connection tests: `POST /api/v1/teams/{team}/integrations/{credential_id}/test` tests a stored
//! credential, `POST /api/v1/teams/{team}/integrations/test` tests candidate values (SPEC §4).
//!
//! A test of a stored credential runs in three steps: the use case
//! `credvault_usecases::credentials::prepare_test` reads it, opens its secrets (only in memory,
//! for the test), applies an optional PATCH body in memory (SPEC §3 `dry_run`) and authorises
//! it; this handler runs the probe on the bounded executor; `record_test` appends the `tested`
//! audit event with the actor and request id, whatever the test found. Its outcome is
//! server-owned state: `health`, and `status` `connected`/`error` (a `revoked` credential keeps
//! its status; the rules are `domain`'s `Credential::record_test`), written without a new
//! version, so a member's tests never change the `ETag` that an owner's `If-Match` holds. The
//! outcome is written only if the credential is still the version that was tested.
//!
//! A body's changes are tested on the would-be credential; that saves nothing on the credential,
//! and its event names the body's changed fields (`body.extra_data.host`), never a value. A body
//! that would make the test use a stored secret somewhere else (`domain::connection_test`) needs
//! the `owner` role: otherwise a member could send a stored password to a server of its own.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_domain::credential::Credential;
use credvault_domain::ids::TeamId;
use credvault_domain::patch::{CredentialPatch, NewCredential};
use credvault_domain::principal::Principal;
use credvault_probe::{self as probe, Target, TestOutcome};
use credvault_usecases::credentials::{self, Caller, PreparedTest, Subject};

use crate::auth::Authenticated;
use crate::body;
use crate::dto::connection_test::ConnectionTestResponse;
use crate::dto::credential::{CreateCredentialRequest, PatchCredentialRequest};
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::openapi::responses::{
    BodyTooLarge, CredentialNotFound, MalformedRequest, NotJson, ServerErrors, TeamNotFound,
    Unauthenticated,
};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_and_role_for, team_for};

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
    let key_ring = state.key_ring.clone();
    let caller = Caller::new(&principal, request_id);
    let PreparedTest { subject, pending } = web::block(move || {
        credentials::prepare_test(
            &store,
            &key_ring,
            team.id,
            credential_id,
            role,
            caller,
            credential_patch.as_ref(),
        )
    })
    .await??;
    let Subject {
        credential: tested,
        secrets,
    } = subject;
    let target = probe::target_for(&tested, &secrets)?;
    drop(secrets);
    let outcome = run(&state, team.id, &principal, target).await?;
    let what = if pending.tests_changes() {
        "patched"
    } else {
        "stored"
    };
    let store = state.store.clone();
    let (ok, message) = (outcome.ok(), outcome.message.clone());
    web::block(move || credentials::record_test(&store, pending, ok, message)).await??;
    log_outcome(&tested, &outcome, what);
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
    let Subject {
        credential: candidate,
        secrets,
    } = credentials::candidate(team.id, principal.id, &input)?;
    let target = probe::target_for(&candidate, &secrets)?;
    drop(secrets);
    let outcome = run(&state, team.id, &principal, target).await?;
    log_outcome(&candidate, &outcome, "candidate");
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
pub(crate) async fn run(
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

fn respond(outcome: TestOutcome) -> HttpResponse {
    HttpResponse::Ok().json(ConnectionTestResponse::from(outcome))
}

/// One line per test: what was tested and how it went; never a host, user or message.
pub(crate) fn log_outcome(credential: &Credential, outcome: &TestOutcome, what: &str) {
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
