//! `PATCH /api/v1/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}`:
//! rename or describe a service account credential (the public API page this product is built
//! from, seed 003).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use credvault_domain::authz::Action;
use credvault_persistence::StoreError;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::service_account::{
    ExpandQuery, PatchServiceAccountCredentialRequest, ServiceAccountCredentialResponse,
};
use crate::error::ApiError;
use crate::handlers::service_accounts::input::NamePatch;
use crate::handlers::service_accounts::{
    Expand, client_credential_id, json_response, service_account_id,
};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequestOrExpand, NotJson, OwnerOnly, ServerErrors,
    ServiceAccountCredentialNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// Update a service account credential.
///
/// `name` and `description` (at most 500 characters) only; an omitted field keeps its value and
/// `description: null` clears it. Returns the credential without secret; with
/// `expand[]=permissions`, also the caller's `permissions`. The client id and secret never
/// change: create a new credential to rotate them. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        ExpandQuery,
    ),
    request_body(
        description = "The fields to change",
        content(
            (PatchServiceAccountCredentialRequest = "application/json"),
            (PatchServiceAccountCredentialRequest = "application/merge-patch+json"),
        )
    ),
    responses(
        (status = 200, description = "The updated credential, without secret", body = ServiceAccountCredentialResponse),
        MalformedRequestOrExpand, Unauthenticated, OwnerOnly, ServiceAccountCredentialNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/teams/{team}/service-accounts/{service_account_id}/credentials/{credential_id}")]
pub(crate) async fn update_service_account_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment, credential_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::UpdateServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let credential_id = client_credential_id(&credential_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let raw_body = body::read_raw(&req, payload).await?;
    let name_patch = NamePatch::from_json(body::parse_json(&raw_body)?)?;
    let store = state.store.clone();
    let credential = blocking(move || {
        if name_patch.is_empty() {
            return store
                .find_client_credential(team.id, account_id, credential_id)?
                .ok_or(StoreError::NotFound);
        }
        store.update_client_credential(
            team.id,
            account_id,
            credential_id,
            name_patch.name.as_deref(),
            &name_patch.description,
        )
    })
    .await?;
    json_response(
        StatusCode::OK,
        &ServiceAccountCredentialResponse::new(credential, expand.permissions(role)),
    )
}
