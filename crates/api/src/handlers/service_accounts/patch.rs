//! `PATCH /api/v1/teams/{team}/service-accounts/{service_account_id}`: rename or describe a
//! service account. Its role is fixed at creation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use credvault_domain::authz::Action;
use credvault_persistence::StoreError;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::service_account::{
    ExpandQuery, PatchServiceAccountRequest, ServiceAccountResponse,
};
use crate::error::ApiError;
use crate::handlers::service_accounts::input::NamePatch;
use crate::handlers::service_accounts::{Expand, json_response, service_account_id};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequestOrExpand, NotJson, OwnerOnly, ServerErrors,
    ServiceAccountNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// Update a service account (partial update).
///
/// `name` and `description` only; an omitted field keeps its value and `description: null`
/// clears it. A body naming no field changes nothing. Unknown fields (`role` among them: it is
/// fixed at creation) are a `422`. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ExpandQuery,
    ),
    request_body(
        description = "The fields to change",
        content(
            (PatchServiceAccountRequest = "application/json"),
            (PatchServiceAccountRequest = "application/merge-patch+json"),
        )
    ),
    responses(
        (status = 200, description = "The updated service account", body = ServiceAccountResponse),
        MalformedRequestOrExpand, Unauthenticated, OwnerOnly, ServiceAccountNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[patch("/teams/{team}/service-accounts/{service_account_id}")]
pub(crate) async fn update_service_account(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::UpdateServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let raw_body = body::read_raw(&req, payload).await?;
    let name_patch = NamePatch::from_json(body::parse_json(&raw_body)?)?;
    let store = state.store.clone();
    let account = blocking(move || {
        if name_patch.is_empty() {
            // Nothing to change: do not bump `updated_at`.
            return store
                .find_service_account(team.id, account_id)?
                .ok_or(StoreError::NotFound);
        }
        store.update_service_account(
            team.id,
            account_id,
            name_patch.name.as_deref(),
            &name_patch.description,
        )
    })
    .await?;
    json_response(
        StatusCode::OK,
        &ServiceAccountResponse::new(account, expand.permissions(role)),
    )
}
