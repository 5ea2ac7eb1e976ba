//! `POST /api/v1/teams/{team}/service-accounts/{service_account_id}/credentials`: a new client id
//! and secret for a service account.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use credvault_domain::authz::Action;

use crate::auth::Authenticated;
use crate::body;
use crate::dto::service_account::{
    CreateServiceAccountCredentialRequest, CreatedServiceAccountCredentialResponse, ExpandQuery,
    ServiceAccountCredentialResponse,
};
use crate::error::ApiError;
use crate::handlers::service_accounts::credentials::{
    CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX, client_credential_location,
};
use crate::handlers::service_accounts::input::NewClientCredential;
use crate::handlers::service_accounts::{Expand, created_response, service_account_id};
use crate::openapi::responses::{
    BodyTooLarge, InvalidFields, MalformedRequestOrExpand, NotJson, OwnerOnly, ServerErrors,
    ServiceAccountNotFound, Unauthenticated,
};
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};
use credvault_crypto::{TokenHash, generate_token};

/// Create a service account credential.
///
/// Returns `client_id` and `client_secret`. The secret is shown in this response only: it is
/// stored as a hash and can never be read again. Exchange the pair for an access token at
/// `POST /api/v1/auth/token`. `Idempotency-Key` is not supported here, because replaying the
/// response would mean storing the secret. Requires the `owner` role.
#[utoipa::path(
    tag = "service-accounts",
    params(
        ("team" = String, Path, description = "The team's id or label", example = "demo"),
        ("service_account_id" = uuid::Uuid, Path, description = "The service account's id"),
        ExpandQuery,
    ),
    request_body(content = CreateServiceAccountCredentialRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the only response that shows `client_secret`", body = CreatedServiceAccountCredentialResponse, headers(
            ("Location" = String, description = "The new credential's URL"),
            ("Cache-Control" = String, description = "`no-store`: the body holds a secret"),
        )),
        MalformedRequestOrExpand, Unauthenticated, OwnerOnly, ServiceAccountNotFound, BodyTooLarge, NotJson, InvalidFields, ServerErrors,
    ),
    security(("bearer" = []))
)]
#[post("/teams/{team}/service-accounts/{service_account_id}/credentials")]
pub(crate) async fn create_service_account_credential(
    Authenticated(principal): Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (team, account_segment) = path.into_inner();
    let (team, role) =
        team_and_role_for(&state, &principal, &team, Action::CreateServiceAccount).await?;
    let account_id = service_account_id(&account_segment)?;
    let expand = Expand::from_query(req.query_string())?;
    let raw_body = body::read_raw(&req, payload).await?;
    let input = NewClientCredential::from_json(body::parse_json(&raw_body)?)?;

    let client_id = generate_token(CLIENT_ID_PREFIX).expose().to_owned();
    let client_secret = generate_token(CLIENT_SECRET_PREFIX);
    let secret_hash = TokenHash::of(client_secret.expose()).to_hex();
    let store = state.store.clone();
    let credential = blocking(move || {
        store.create_client_credential(
            team.id,
            account_id,
            &input.name,
            input.description.as_deref(),
            &client_id,
            &secret_hash,
        )
    })
    .await?;

    let location = client_credential_location(team.id, account_id, credential.id);
    let created = CreatedServiceAccountCredentialResponse {
        credential: ServiceAccountCredentialResponse::new(credential, expand.permissions(role)),
        client_secret,
    };
    let mut response = created_response(&location, &created)?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
