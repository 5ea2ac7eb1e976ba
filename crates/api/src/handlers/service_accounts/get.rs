//! `GET /api/v1/teams/{team}/service-accounts/{service_account_id}`: one service account.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::dto::service_account::{ExpandQuery, ServiceAccountResponse};
use crate::error::ApiError;
use crate::handlers::service_accounts::{Expand, json_response, service_account_id};
use crate::openapi::responses::{BadExpand, ServerErrors, ServiceAccountNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// Get a service account.
///
/// Requires the `member` role. Another team's account answers exactly like a missing one.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ExpandQuery,
    ),
    responses(
        (status = 200, description = "The service account", body = ServiceAccountResponse),
        BadExpand, Unauthenticated, ServiceAccountNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/service-accounts/{service_account_id}")]
pub(crate) async fn get_service_account(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let store = state.store.clone();
    let account = blocking(move || store.find_service_account(team.id, account_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    json_response(
        StatusCode::OK,
        &ServiceAccountResponse::new(account, expand.permissions(role)),
    )
}
