//! `GET /api/v1/teams/{team}/service-accounts`: a page of the team's service accounts.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::validate::ValidationErrors;

use crate::auth::Authenticated;
use crate::dto::page::{PageQuery, encode_cursor, page_request};
use crate::dto::service_account::{ExpandQuery, ServiceAccountPage, ServiceAccountResponse};
use crate::error::ApiError;
use crate::handlers::service_accounts::{Expand, json_response};
use crate::openapi::responses::{BadQuery, ServerErrors, TeamNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// List service accounts.
///
/// Oldest first, in pages of `limit` (at most 100); follow `next_cursor` until it is `null`.
/// Requires the `member` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        PageQuery,
        ExpandQuery,
    ),
    responses(
        (status = 200, description = "A page of service accounts", body = ServiceAccountPage),
        BadQuery, Unauthenticated, TeamNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/service-accounts")]
pub(crate) async fn list_service_accounts(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    query: web::Query<PageQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadServiceAccount).await?;
    let expand = Expand::from_query(req.query_string())?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    let found = blocking(move || store.list_service_accounts(team.id, page)).await?;
    let permissions = expand.permissions(role);
    json_response(
        StatusCode::OK,
        &ServiceAccountPage {
            items: found
                .items
                .into_iter()
                .map(|account| ServiceAccountResponse::new(account, permissions.clone()))
                .collect(),
            next_cursor: found.next_after.map(encode_cursor),
        },
    )
}
