//! `GET /api/v1/teams/{team}/integrations`: a page of the team's credentials.

use actix_web::{HttpResponse, get, web};
use credvault_domain::authz::Action;
use credvault_domain::credential::CredentialStatus;
use credvault_domain::ids::OAuthAppId;
use credvault_domain::schema::Provider;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::{CredentialFilter, StoreError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Authenticated;
use crate::dto::credential::CredentialResponse;
use crate::dto::enums::{CredentialStatusDto, ProviderDto};
use crate::dto::page::{CredentialPage, encode_cursor, page_request};
use crate::error::ApiError;
use crate::openapi::responses::{BadQuery, ServerErrors, TeamNotFound, Unauthenticated};
use crate::state::AppState;
use crate::tenancy::{blocking, team_for};

/// Query parameters of the credential list. Values are checked by hand so that every bad one is
/// reported at once in a `400`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCredentialsQuery {
    /// How many items to return, 1 to 100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 50)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page; opaque.
    pub cursor: Option<String>,
    /// Only credentials of this provider.
    #[param(value_type = Option<ProviderDto>)]
    pub provider: Option<String>,
    /// Only credentials in this status.
    #[param(value_type = Option<CredentialStatusDto>)]
    pub status: Option<String>,
}

/// List credentials.
///
/// Oldest first, in pages of `limit` (at most 100); follow `next_cursor` until it is `null`.
/// Requires the `member` role.
#[utoipa::path(
    tag = "credentials",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ListCredentialsQuery,
    ),
    responses(
        (status = 200, description = "A page of credentials", body = CredentialPage),
        BadQuery, Unauthenticated, TeamNotFound, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[get("/teams/{team}/integrations")]
pub(crate) async fn list_credentials(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    team: web::Path<String>,
    query: web::Query<ListCredentialsQuery>,
) -> Result<HttpResponse, ApiError> {
    let team = team_for(&state, &principal, &team, Action::ReadIntegration).await?;
    let mut errors = ValidationErrors::new();
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &mut errors);
    let filter = CredentialFilter {
        provider: parse_filter::<Provider>(query.provider.as_deref(), "provider", &mut errors),
        status: parse_filter::<CredentialStatus>(query.status.as_deref(), "status", &mut errors),
    };
    let page = errors.into_result(page).map_err(ApiError::InvalidQuery)?;
    let store = state.store.clone();
    // The page, then the apps it links to in one query.
    let (found, apps) = blocking(move || {
        let found = store.list_credentials(team.id, &filter, page)?;
        let mut app_ids: Vec<OAuthAppId> = found
            .items
            .iter()
            .filter_map(|credential| credential.oauth_app_id)
            .collect();
        app_ids.sort_unstable_by_key(|id| *id.as_uuid());
        app_ids.dedup();
        let apps = store.oauth_apps_among(team.id, &app_ids)?;
        Ok::<_, StoreError>((found, apps))
    })
    .await?;
    let items = found
        .items
        .into_iter()
        .map(|credential| {
            let app = credential
                .oauth_app_id
                .and_then(|id| apps.iter().find(|app| app.id == id))
                .cloned();
            CredentialResponse::new(credential, app)
        })
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(CredentialPage {
        items,
        next_cursor: found.next_after.map(encode_cursor),
    }))
}

fn parse_filter<T: std::str::FromStr>(
    value: Option<&str>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<T> {
    let value = value.filter(|value| !value.is_empty())?;
    match value.parse() {
        Ok(parsed) => Some(parsed),
        Err(_) => {
            errors.push(
                field,
                "is not a known value; see the OpenAPI document for the list",
            );
            None
        }
    }
}
