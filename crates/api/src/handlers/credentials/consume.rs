//! `POST /api/v1/teams/{team}/integrations/{credential_id}/use`: a service account holding a
//! grant of use receives the credential's connection fields and plaintext secrets (SPEC §10).
//!
//! The use case (`credvault_usecases::credentials::use_credential`) reads the credential with the
//! grant, decides, opens the secrets and records the use (`last_used`, and a `used` event naming
//! the released fields) before anything is released; this handler adds how to connect
//! (`credvault_probe::connection`) and answers with `Cache-Control: no-store`. It is a POST
//! because every call has an effect (the event), and it never stores its answer: an
//! `Idempotency-Key` is ignored here, so no plaintext ever reaches an idempotency record.

use actix_web::http::header;
use actix_web::{HttpResponse, post, web};
use credvault_domain::authz::Action;
use credvault_probe::connection::connection_for;
use credvault_usecases::credentials::{self, Caller};

use crate::auth::Authenticated;
use crate::dto::problem::Problem;
use crate::dto::release::CredentialUseResponse;
use crate::error::ApiError;
use crate::openapi::responses::{CredentialNotFound, ServerErrors, Unauthenticated};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{credential_id, team_and_role_for};

/// Use a credential: get its connection fields and plaintext secrets.
///
/// For service accounts that hold a grant of use of this credential (`POST …/grants`, by an
/// owner). Answers the non-secret fields, the secrets in plaintext (for OAuth kinds only
/// `access_token`, with `expires_at`), and for PostgreSQL and SFTP how to connect: a libpq URI and
/// parameters, or host, port, user name and the pinned host key. Each call appends a `used`
/// event to the credential's trail (the service account, the request id and the names of the
/// released secrets) and sets `last_used_at`/`last_used_by`, without a new version. A user, or a
/// service account without a grant, gets `403`, whatever its role; another team's credential
/// answers exactly like a missing one. An OAuth credential whose access token is missing or
/// about to expire is refreshed first with its refresh token (once, however many uses ask at
/// the same time); when that fails and the stored token has expired, the answer is `409`
/// `reconnect-required` or `503` `token-refresh-unavailable` with `Retry-After`. The answer is `Cache-Control: no-store`; nothing of it is
/// kept by the server (an `Idempotency-Key` is ignored).
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 200, description = "The credential's fields and plaintext secrets", body = CredentialUseResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        Unauthenticated,
        (status = 403, description = "The caller holds no grant of use of this credential (users never do)", body = Problem, content_type = "application/problem+json"),
        CredentialNotFound,
        (status = 409, description = "Nothing to release yet (`not-usable`: an OAuth credential without an access token), or an expired OAuth token that cannot be refreshed (`reconnect-required`: the detail says why and what to do)", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/integrations/{credential_id}/use")]
pub(crate) async fn use_credential(
    Authenticated(principal): Authenticated,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let refresher = state.refresher.clone();
    let caller = Caller::new(&principal, request_id);
    let release = web::block(move || {
        credentials::use_credential(
            &store,
            &key_ring,
            team.id,
            credential_id,
            role,
            &principal,
            caller,
            refresher.as_deref(),
        )
    })
    .await??;
    let connection =
        connection_for(&release.credential, &release.secrets).unwrap_or_else(|errors| {
            // Stored fields that cannot make a connection (saved before a rule existed): the secrets
            // are still released; how to connect is left to the caller.
            log::warn!("credential {credential_id} released without connection settings: {errors}");
            None
        });
    let released: Vec<&str> = release.secrets.names().collect();
    log::info!(
        "released {} of credential {credential_id} to {}",
        released.join(", "),
        caller.actor.id
    );
    let body = serde_json::to_vec(&CredentialUseResponse::new(release, connection)?)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(body))
}
