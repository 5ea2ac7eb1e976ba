//! The service account pages: the team's list, one account with its client credentials (and,
//! for owners, the credentials it may use), the create and edit forms, and delete with a
//! confirmation; creating and deleting client credentials.
//!
//! A form is turned into the body the JSON API takes and parsed by the same parsers
//! (`NewServiceAccount`, `NamePatch`, `NewClientCredential`), then written through the same
//! team-scoped store calls as `handlers::service_accounts`, with the same roles: a member sees
//! the accounts and their client credentials, only an owner changes them or sees grants.
//!
//! A client secret is made, hashed and shown in the one page that answers the POST that made
//! it (`Cache-Control: no-store`, like every console page); it is never in a URL, and no page
//! shows it again.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::authz::Action;
use credvault_domain::ids::ServiceAccountId;
use credvault_domain::principal::Role;
use credvault_domain::service_account::input::{NamePatch, NewClientCredential, NewServiceAccount};
use credvault_domain::service_account::{ClientCredential, ServiceAccount};
use credvault_domain::validate::FieldError;
use credvault_persistence::{GrantFilter, PageRequest, StoreError};
use serde_json::{Map, Value};

use crate::console::error::ConsoleError;
use crate::console::form::{FormFields, read_checked_form};
use crate::console::session::{SignedIn, see_other};
use crate::console::views::service_accounts::{
    ClientCredentialRow, ClientSecretPage, HeldGrantRow, ServiceAccountDeletePage,
    ServiceAccountFormPage, ServiceAccountPage, ServiceAccountRow, ServiceAccountsPage,
};
use crate::console::views::{self, ErrorRow, SelectOption, when};
use crate::error::ApiError;
use crate::handlers::service_accounts::credentials::{CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX};
use crate::handlers::service_accounts::{client_credential_id, service_account_id};
use crate::state::AppState;
use crate::tenancy::blocking;

/// Service accounts per page of the list.
const PAGE_SIZE: u32 = 50;

/// Client credentials shown on an account's page (the API's largest page).
const CREDENTIALS_SHOWN: u32 = 100;

/// `GET /console/service-accounts?after=`: the team's service accounts.
pub async fn list(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadServiceAccount)?;
    let query = FormFields::parse(req.query_string())?;
    let page = PageRequest {
        after: query.get("after").and_then(|after| after.parse().ok()),
        limit: PAGE_SIZE,
    };
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let found = blocking(move || store.list_service_accounts(team_id, page)).await?;
    let page = ServiceAccountsPage {
        chrome: signed_in.chrome(),
        rows: found
            .items
            .iter()
            .map(|account| ServiceAccountRow {
                id: account.id.to_string(),
                name: account.name.clone(),
                role: account.role.as_str(),
                description: account.description.clone().unwrap_or_default(),
                created_at: when(account.created_at),
            })
            .collect(),
        next: found
            .next_after
            .map(|after| format!("/console/service-accounts?after={after}")),
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `GET /console/service-accounts/new`: the create form.
pub async fn new(signed_in: SignedIn) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::CreateServiceAccount)?;
    let page = form_page(&signed_in, None, "", "", Role::Member.as_str(), &[]);
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/service-accounts`: create, as `POST …/service-accounts` does.
pub async fn create(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::CreateServiceAccount)?;
    let (name, description, role) = (
        form.get("name").unwrap_or_default(),
        form.get("description").unwrap_or_default(),
        form.get("role").unwrap_or_default(),
    );
    let mut body = Map::new();
    body.insert("name".to_owned(), name.into());
    if !description.is_empty() {
        body.insert("description".to_owned(), description.into());
    }
    body.insert("role".to_owned(), role.into());
    let input = match NewServiceAccount::from_json(Value::Object(body)) {
        Ok(input) => input,
        Err(errors) => {
            let page = form_page(&signed_in, None, name, description, role, errors.errors());
            return Ok(views::render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let account = blocking(move || {
        store.create_service_account(
            team_id,
            &input.name,
            input.description.as_deref(),
            input.role,
        )
    })
    .await?;
    log::info!(
        "service account {} created in team {team_id} from the console by principal {}",
        account.id,
        signed_in.principal.id
    );
    Ok(see_other(&account_url(account.id)))
}

/// `GET /console/service-accounts/{id}`: one account, its client credentials and, for owners,
/// its grants of use.
pub async fn show(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadServiceAccount)?;
    let account = find(&state, &signed_in, &path).await?;
    let page = show_page(&state, &signed_in, account, &[], "", "").await?;
    Ok(views::render(StatusCode::OK, &page))
}

/// `GET /console/service-accounts/{id}/edit`: the edit form (name and description).
pub async fn edit(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::UpdateServiceAccount)?;
    let account = find(&state, &signed_in, &path).await?;
    let description = account.description.clone().unwrap_or_default();
    let page = form_page(
        &signed_in,
        Some(&account),
        &account.name,
        &description,
        "",
        &[],
    );
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/service-accounts/{id}/edit`: the PATCH of name and description; an emptied
/// description is cleared (`null`).
pub async fn update(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::UpdateServiceAccount)?;
    let account = find(&state, &signed_in, &path).await?;
    let name = form.get("name").unwrap_or_default();
    let description = form.get("description").unwrap_or_default();
    let mut body = Map::new();
    body.insert("name".to_owned(), name.into());
    body.insert(
        "description".to_owned(),
        if description.is_empty() {
            Value::Null
        } else {
            description.into()
        },
    );
    let patch = match NamePatch::from_json(Value::Object(body)) {
        Ok(patch) => patch,
        Err(errors) => {
            let page = form_page(
                &signed_in,
                Some(&account),
                name,
                description,
                "",
                errors.errors(),
            );
            return Ok(views::render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let store = state.store.clone();
    let (team_id, account_id) = (signed_in.team.id, account.id);
    let unchanged = patch.name.as_deref() == Some(account.name.as_str())
        && patch.description.value() == account.description.as_ref();
    if !unchanged {
        blocking(move || {
            store.update_service_account(
                team_id,
                account_id,
                patch.name.as_deref(),
                &patch.description,
            )
        })
        .await?;
    }
    Ok(see_other(&account_url(account_id)))
}

/// `GET /console/service-accounts/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::DeleteServiceAccount)?;
    let account = find(&state, &signed_in, &path).await?;
    let page = ServiceAccountDeletePage {
        chrome: signed_in.chrome(),
        id: account.id.to_string(),
        name: account.name,
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/service-accounts/{id}/delete`: delete the account, its client credentials,
/// tokens and grants; this process stops accepting its cached tokens at once.
pub async fn delete(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::DeleteServiceAccount)?;
    let account_id = service_account_id(&path)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    blocking(move || store.delete_service_account(team_id, account_id)).await?;
    state.token_cache.forget_service_account(account_id);
    log::info!(
        "service account {account_id} deleted in team {team_id} from the console by principal {}",
        signed_in.principal.id
    );
    Ok(see_other("/console/service-accounts"))
}

/// `POST /console/service-accounts/{id}/credentials`: a new client credential, answered by the
/// one page that shows its secret.
pub async fn create_credential(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::CreateServiceAccount)?;
    let account = find(&state, &signed_in, &path).await?;
    let name = form.get("name").unwrap_or_default();
    let description = form.get("description").unwrap_or_default();
    let mut body = Map::new();
    body.insert("name".to_owned(), name.into());
    if !description.is_empty() {
        body.insert("description".to_owned(), description.into());
    }
    let input = match NewClientCredential::from_json(Value::Object(body)) {
        Ok(input) => input,
        Err(errors) => {
            let (name, description) = (name.to_owned(), description.to_owned());
            let page = show_page(
                &state,
                &signed_in,
                account,
                errors.errors(),
                &name,
                &description,
            )
            .await?;
            return Ok(views::render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let client_id = generate_token(CLIENT_ID_PREFIX).expose().to_owned();
    let client_secret = generate_token(CLIENT_SECRET_PREFIX);
    let secret_hash = TokenHash::of(client_secret.expose()).to_hex();
    let store = state.store.clone();
    let (team_id, account_id) = (signed_in.team.id, account.id);
    let credential = blocking(move || {
        store.create_client_credential(
            team_id,
            account_id,
            &input.name,
            input.description.as_deref(),
            &client_id,
            &secret_hash,
        )
    })
    .await?;
    log::info!(
        "client credential {} of service account {account_id} created from the console by principal {}",
        credential.id,
        signed_in.principal.id
    );
    let page = ClientSecretPage {
        chrome: signed_in.chrome(),
        account_id: account.id.to_string(),
        account_name: account.name,
        name: credential.name,
        client_id: credential.client_id,
        client_secret,
    };
    let mut response = views::render(StatusCode::CREATED, &page);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /console/service-accounts/{id}/credentials`: the account's page (a reload of the page
/// that showed a new secret lands here, without the secret).
pub async fn credentials(path: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let account_id = service_account_id(&path)?;
    Ok(see_other(&account_url(account_id)))
}

/// `POST /console/service-accounts/{id}/credentials/{credential_id}/delete`: delete a client
/// credential; its tokens stop working.
pub async fn delete_credential(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::DeleteServiceAccount)?;
    let (account_segment, credential_segment) = path.into_inner();
    let account_id = service_account_id(&account_segment)?;
    let credential_id = client_credential_id(&credential_segment)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    blocking(move || store.delete_client_credential(team_id, account_id, credential_id)).await?;
    state.token_cache.forget_service_account(account_id);
    Ok(see_other(&account_url(account_id)))
}

/// The team's service account named by the path segment; a malformed id, a missing account
/// and another team's all give the same not-found page.
async fn find(
    state: &AppState,
    signed_in: &SignedIn,
    segment: &str,
) -> Result<ServiceAccount, ConsoleError> {
    let account_id = service_account_id(segment)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    Ok(
        blocking(move || store.find_service_account(team_id, account_id))
            .await?
            .ok_or(ApiError::NotFound)?,
    )
}

async fn show_page(
    state: &AppState,
    signed_in: &SignedIn,
    account: ServiceAccount,
    errors: &[FieldError],
    new_name: &str,
    new_description: &str,
) -> Result<ServiceAccountPage, ConsoleError> {
    let store = state.store.clone();
    let (team_id, account_id) = (signed_in.team.id, account.id);
    let sees_grants = signed_in.authorize(Action::ReadGrant).is_ok();
    let (credentials, grants) = blocking(move || {
        let credentials = store.list_client_credentials(
            team_id,
            account_id,
            PageRequest {
                after: None,
                limit: CREDENTIALS_SHOWN,
            },
        )?;
        let grants = if sees_grants {
            let held = store.list_grants(
                team_id,
                GrantFilter {
                    credential_id: None,
                    service_account_id: Some(account_id),
                },
            )?;
            let mut rows = Vec::with_capacity(held.len());
            for grant in held {
                // A grant goes with its credential, so each is found; skip one deleted meanwhile.
                if let Some(stored) = store.find_credential(team_id, grant.credential_id)? {
                    rows.push(HeldGrantRow {
                        credential_id: grant.credential_id.to_string(),
                        credential_name: stored.credential.name,
                        created_at: when(grant.created_at),
                    });
                }
            }
            Some(rows)
        } else {
            None
        };
        Ok::<_, StoreError>((credentials, grants))
    })
    .await?;
    Ok(ServiceAccountPage {
        chrome: signed_in.chrome(),
        id: account.id.to_string(),
        name: account.name,
        role: account.role.as_str(),
        description: account.description,
        principal_id: account.principal_id.to_string(),
        created_at: when(account.created_at),
        updated_at: when(account.updated_at),
        credentials: credentials.items.iter().map(credential_row).collect(),
        grants,
        errors: error_rows(errors),
        new_name: new_name.to_owned(),
        new_description: new_description.to_owned(),
    })
}

fn credential_row(credential: &ClientCredential) -> ClientCredentialRow {
    ClientCredentialRow {
        id: credential.id.to_string(),
        name: credential.name.clone(),
        description: credential.description.clone().unwrap_or_default(),
        client_id: credential.client_id.clone(),
        created_at: when(credential.created_at),
        last_used_at: credential.last_used_at.map(when),
    }
}

/// The create form (`stored` is `None`, `role` the chosen role) or the edit form of `stored`.
fn form_page(
    signed_in: &SignedIn,
    stored: Option<&ServiceAccount>,
    name: &str,
    description: &str,
    role: &str,
    errors: &[FieldError],
) -> ServiceAccountFormPage {
    let (title, action, cancel_url, roles) = match stored {
        None => (
            "New service account".to_owned(),
            "/console/service-accounts".to_owned(),
            "/console/service-accounts".to_owned(),
            SelectOption::list([Role::Member.as_str(), Role::Owner.as_str()], role),
        ),
        Some(account) => (
            format!("Edit {}", account.name),
            format!("{}/edit", account_url(account.id)),
            account_url(account.id),
            Vec::new(),
        ),
    };
    ServiceAccountFormPage {
        chrome: signed_in.chrome(),
        title,
        action,
        cancel_url,
        name: name.to_owned(),
        description: description.to_owned(),
        roles,
        errors: error_rows(errors),
    }
}

/// A form's errors as rows.
pub(crate) fn error_rows(errors: &[FieldError]) -> Vec<ErrorRow> {
    errors
        .iter()
        .map(|error| ErrorRow {
            field: error.field.clone(),
            message: error.message.clone(),
        })
        .collect()
}

fn account_url(id: ServiceAccountId) -> String {
    format!("/console/service-accounts/{id}")
}
