//! `GET /api/v1/teams/{team}/service-accounts/{service_account_id}/credentials`: a page of a
//! service account's credentials, without secrets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::StoreError;

use crate::auth::Authenticated;
use crate::dto::page::{PageQuery, encode_cursor, page_request};
use crate::dto::service_account::{
    ExpandQuery, ServiceAccountCredentialPage, ServiceAccountCredentialResponse,
};
use crate::error::ApiError;
use crate::handlers::service_accounts::{Expand, json_response, service_account_id};
use crate::openapi::responses::{BadQuery, ServerErrors, ServiceAccountNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// List service account credentials.
///
/// Oldest first, in pages of `limit` (at most 100); follow `next_cursor` until it is `null`.
/// Secrets are never listed. Requires the `member` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        PageQuery,
        ExpandQuery,
    ),
    responses(
        (status = 200, description = "A page of credentials", body = ServiceAccountCredentialPage),
        BadQuery, Unauthenticated, ServiceAccountNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/service-accounts/{service_account_id}/credentials")]
pub(crate) async fn list_service_account_credentials(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::ReadServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    let found = blocking(move || {
        // The store lists nothing for an account outside the team; that must be a 404, not an
        // empty page, so that other teams' account ids cannot be told from missing ones.
        store
            .find_service_account(team.id, account_id)?
            .ok_or(StoreError::NotFound)?;
        store.list_client_credentials(team.id, account_id, page)
    })
    .await?;
    let permissions = expand.permissions(role);
    json_response(
        StatusCode::OK,
        &ServiceAccountCredentialPage {
            items: found
                .items
                .into_iter()
                .map(|credential| {
                    ServiceAccountCredentialResponse::new(credential, permissions.clone())
                })
                .collect(),
            next_cursor: found.next_after.map(encode_cursor),
        },
    )
}
