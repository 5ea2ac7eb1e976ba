//! A credential's grants of use: who may use it, grant to a service account, revoke.
//!
//! Owners only (the API's `grants` permissions); every change goes through
//! `credvault_usecases::grants` (`grant`, `revoke`), which audit it on the credential's trail,
//! and the service account is parsed as the API's body is (`NewGrant`). Another team's
//! credential, service account or grant is the same not-found page as a missing one.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use credvault_domain::authz::Action;
use credvault_domain::grant::NewGrant;
use credvault_domain::ids::CredentialId;
use credvault_domain::validate::FieldError;
use credvault_persistence::{PageRequest, StoreError};
use credvault_usecases::Error as UseCaseError;
use credvault_usecases::credentials::Caller;
use credvault_usecases::grants;
use serde_json::json;

use crate::console::error::ConsoleError;
use crate::console::form::read_checked_form;
use crate::console::service_accounts::error_rows;
use crate::console::session::{SignedIn, see_other};
use crate::console::views::grants::{AccountChoice, GrantRow, GrantsPage};
use crate::console::views::{self, when};
use crate::handlers::grants::grant_id;
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::credential_id;

/// Service accounts offered by the grant form (the API's largest page).
const ACCOUNTS_SHOWN: u32 = 100;

/// `GET /console/credentials/{id}/grants`.
pub async fn list(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadGrant)?;
    let id = credential_id(&path)?;
    let page = grants_page(&state, &signed_in, id, &[]).await?;
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/credentials/{id}/grants` with `service_account_id`: grant use, through
/// `grants::grant` (granting again to a holder changes nothing).
pub async fn create(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::CreateGrant)?;
    let id = credential_id(&path)?;
    let body = json!({"service_account_id": form.get("service_account_id").unwrap_or_default()});
    let failed = async |errors: &[FieldError]| {
        let page = grants_page(&state, &signed_in, id, errors).await?;
        Ok::<_, ConsoleError>(views::render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let NewGrant { service_account_id } = match NewGrant::from_json(body) {
        Ok(input) => input,
        Err(errors) => return failed(errors.errors()).await,
    };
    let store = state.store.clone();
    let caller = Caller::new(&signed_in.principal, request_id);
    let team_id = signed_in.team.id;
    let granted =
        web::block(move || grants::grant(&store, team_id, id, service_account_id, caller)).await?;
    match granted {
        Ok(_) => Ok(see_other(&grants_url(id))),
        Err(UseCaseError::Invalid(errors)) => failed(errors.errors()).await,
        Err(error) => Err(error.into()),
    }
}

/// `POST /console/credentials/{id}/grants/{grant_id}/revoke`: revoke, through `grants::revoke`.
pub async fn revoke(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::RevokeGrant)?;
    let (credential_segment, grant_segment) = path.into_inner();
    let id = credential_id(&credential_segment)?;
    let grant = grant_id(&grant_segment)?;
    let store = state.store.clone();
    let caller = Caller::new(&signed_in.principal, request_id);
    let team_id = signed_in.team.id;
    web::block(move || grants::revoke(&store, team_id, id, grant, caller)).await??;
    Ok(see_other(&grants_url(id)))
}

async fn grants_page(
    state: &AppState,
    signed_in: &SignedIn,
    id: CredentialId,
    errors: &[FieldError],
) -> Result<GrantsPage, ConsoleError> {
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let (credential, held, accounts) = web::block(move || {
        let credential = store
            .find_credential(team_id, id)?
            .ok_or(StoreError::NotFound)?
            .credential;
        let held = grants::list_for_credential(&store, team_id, id)?;
        let accounts = store.list_service_accounts(
            team_id,
            PageRequest {
                after: None,
                limit: ACCOUNTS_SHOWN,
            },
        )?;
        Ok::<_, UseCaseError>((credential, held, accounts.items))
    })
    .await??;
    let names: BTreeMap<_, _> = accounts
        .iter()
        .map(|account| (account.id, account.name.clone()))
        .collect();
    Ok(GrantsPage {
        chrome: signed_in.chrome(),
        id: credential.id.to_string(),
        name: credential.name,
        rows: held
            .iter()
            .map(|grant| GrantRow {
                id: grant.id.to_string(),
                account_id: grant.service_account_id.to_string(),
                account_name: names
                    .get(&grant.service_account_id)
                    .cloned()
                    .unwrap_or_default(),
                created_at: when(grant.created_at),
                created_by: grant.created_by.to_string(),
            })
            .collect(),
        choices: accounts
            .iter()
            .filter(|account| {
                !held
                    .iter()
                    .any(|grant| grant.service_account_id == account.id)
            })
            .map(|account| AccountChoice {
                id: account.id.to_string(),
                name: account.name.clone(),
                role: account.role.as_str(),
            })
            .collect(),
        errors: error_rows(errors),
    })
}

fn grants_url(id: CredentialId) -> String {
    format!("/console/credentials/{id}/grants")
}
