//! `GET /api/v1/teams/{team}/integrations/{credential_id}/events`: the audit trail.

use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::validate::ValidationErrors;

use crate::auth::Authenticated;
use crate::dto::event::EventResponse;
use crate::dto::page::{EventPage, PageQuery, encode_cursor, page_request};
use crate::error::ApiError;
use crate::openapi::responses::{BadQuery, CredentialNotFound, ServerErrors, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, credential_id, team_for};

/// List a credential's audit events.
///
/// Oldest first; the trail outlives the credential, so it stays readable after a delete. Events
/// name the changed fields and what happened to each secret, never a value. A credential that
/// never existed in the team (or exists in another one) is a `404`. Requires the `member` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("credential_id" = uuid::Uuid, Path, description = "The credential's id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        BadQuery, Unauthenticated, CredentialNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/integrations/{credential_id}/events")]
pub(crate) async fn list_credential_events(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (team, credential_id_segment) = path.into_inner();
    let team = team_for(&state, &principal, &team, Action::ReadIntegration).await?;
    let credential_id = credential_id(&credential_id_segment)?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    // Every credential has at least its `created` event, so the store answers `NotFound` when
    // the team holds none, cursor or not: the same 404 as any other missing resource.
    let found = blocking(move || store.list_events(team.id, credential_id, page)).await?;
    Ok(HttpResponse::Ok().json(EventPage {
        items: found.items.into_iter().map(EventResponse::from).collect(),
        next_cursor: found.next_after.map(encode_cursor),
    }))
}
