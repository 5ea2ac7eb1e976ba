//! `POST /api/v1/teams/{team}/service-accounts`: create a service account.

use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::service_account::{
    CreateServiceAccountRequest, ExpandQuery, ServiceAccountResponse,
};
use crate::error::ApiError;
use crate::handlers::service_accounts::input::NewServiceAccount;
use crate::handlers::service_accounts::{Expand, created_response, service_account_location};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequestOrExpand, NotJson, OwnerOnly, ServerErrors,
    TeamNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// Create a service account.
///
/// The account is a principal of the team with its own role (`member` unless `role` says
/// `owner`). It signs in with client credentials created under it. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ExpandQuery,
    ),
    request_body(content = CreateServiceAccountRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ServiceAccountResponse, headers(
            ("Location" = String, description = "The new service account's URL"),
        )),
        MalformedRequestOrExpand, Unauthenticated, OwnerOnly, TeamNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/service-accounts")]
pub(crate) async fn create_service_account(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::CreateServiceAccount).await?;
    let expand = Expand::from_query(req.query_string())?;
    let raw_body = body::read_raw(&req, payload).await?;
    let input = NewServiceAccount::from_json(body::parse_json(&raw_body)?)?;
    let store = state.store.clone();
    let account = blocking(move || {
        store.create_service_account(
            team.id,
            &input.name,
            input.description.as_deref(),
            input.role,
        )
    })
    .await?;
    let location = service_account_location(team.id, account.id);
    created_response(
        &location,
        &ServiceAccountResponse::new(account, expand.permissions(role)),
    )
}
