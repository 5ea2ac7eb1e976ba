//! `GET …/integrations/{credential_id}/grants` and `GET …/service-accounts/{id}/grants`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_usecases::grants;

use crate::auth::Authenticated;
use crate::dto::grant::{GrantList, GrantResponse};
use crate::error::ApiError;
use crate::handlers::service_accounts::{json_response, service_account_id};
use crate::openapi::responses::{
    CredentialNotFound, OwnerOnly, ServerErrors, ServiceAccountNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{credential_id, team_for};

/// List who may use a credential.
///
/// Every grant of use of the credential, oldest first. Requires the `owner` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
    ),
    responses(
        (status = 200, description = "The grants", body = GrantList),
        Unauthenticated, OwnerOnly, CredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/integrations/{credential_id}/grants")]
pub(crate) async fn list_credential_grants(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadGrant).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let store = state.store.clone();
    let grants =
        web::block(move || grants::list_for_credential(&store, team.id, credential_id)).await??;
    respond(grants)
}

/// List what a service account may use.
///
/// Every grant of use the service account holds, oldest first. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
    ),
    responses(
        (status = 200, description = "The grants", body = GrantList),
        Unauthenticated, OwnerOnly, ServiceAccountNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/service-accounts/{service_account_id}/grants")]
pub(crate) async fn list_service_account_grants(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadGrant).await?;
    let account_id = service_account_id(&account_segment)?;
    let store = state.store.clone();
    let grants =
        web::block(move || grants::list_for_service_account(&store, team.id, account_id)).await??;
    respond(grants)
}

fn respond(grants: Vec<credvault_domain::grant::Grant>) -> Result<HttpResponse, ApiError> {
    json_response(
        StatusCode::OK,
        &GrantList {
            items: grants.into_iter().map(GrantResponse::from).collect(),
        },
    )
}
