//! `GET /api/v1/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}`:
//! one service account credential, without its secret.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::dto::service_account::{ExpandQuery, ServiceAccountCredentialResponse};
use crate::error::ApiError;
use crate::handlers::service_accounts::{
    Expand, client_credential_id, json_response, service_account_id,
};
use crate::openapi::responses::{
    BadExpand, ServerErrors, ServiceAccountCredentialNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// Get a service account credential.
///
/// The secret is never returned. Requires the `member` role. A credential of another team, or of
/// another account, answers exactly like a missing one.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        ExpandQuery,
    ),
    responses(
        (status = 200, description = "The credential, without secret", body = ServiceAccountCredentialResponse),
        BadExpand, Unauthenticated, ServiceAccountCredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}")]
pub(crate) async fn get_service_account_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment, credential_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let credential_id = client_credential_id(&credential_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let store = state.store.clone();
    let credential =
        blocking(move || store.find_client_credential(team.id, account_id, credential_id))
            .await?
            .ok_or(ApiError::NotFound)?;
    json_response(
        StatusCode::OK,
        &ServiceAccountCredentialResponse::new(credential, expand.permissions(role)),
    )
}
