//! `GET /api/v1/teams/{team}/integrations/{credential_id}`: one credential, secrets masked.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};
use credvault_domain::authz::{Action, credential_permissions};

use credvault_usecases::credentials::LinkedCredential;

use crate::auth::Authenticated;
use crate::dto::credential::CredentialResponse;
use crate::dto::service_account::{ExpandQuery, owned};
use crate::error::ApiError;
use crate::handlers::credentials::{credential_response, etag};
use crate::handlers::service_accounts::Expand;
use crate::openapi::responses::{BadExpand, CredentialNotFound, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, credential_id, team_and_role_for};

/// Get a credential.
///
/// Secret values are never returned: `secrets` lists the stored secret fields, masked.
/// `expand[]=permissions` adds the caller's `permissions`, among them `integrations.use`: whether
/// the caller holds a grant of use of this credential. Requires the `member` role. Another team's credential answers exactly like a missing one.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        ExpandQuery,
    ),
    responses(
        (status = 200, description = "The credential", body = CredentialResponse, headers(
            ("ETag" = String, description = "The version, quoted: `\"3\"`"),
        )),
        BadExpand, Unauthenticated, CredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/integrations/{credential_id}")]
pub(crate) async fn get_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let store = state.store.clone();
    if !expand.permissions {
        let stored = blocking(move || store.find_credential(team.id, credential_id))
            .await?
            .ok_or(ApiError::NotFound)?;
        let linked = LinkedCredential {
            credential: stored.credential,
            oauth_app: stored.oauth_app,
        };
        return credential_response(StatusCode::OK, linked);
    }
    let service_account = principal.service_account;
    let (stored, granted) =
        blocking(move || store.find_credential_for_use(team.id, credential_id, service_account))
            .await?
            .ok_or(ApiError::NotFound)?;
    let version = stored.credential.version;
    let mut body = CredentialResponse::new(stored.credential, stored.oauth_app)?;
    body.permissions = Some(owned(credential_permissions(
        Some(role),
        principal.kind,
        granted,
    )));
    let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag(version)))
        .body(bytes))
}
