//! The OAuth app pages: the team's list, one app, the create and edit forms, and delete with a
//! confirmation.
//!
//! A form is turned into the body the JSON API takes, parsed by the same parsers
//! (`NewOAuthApp::from_json`, `OAuthAppPatch::from_json`) and handed to the same use cases
//! (`credvault_usecases::oauth_apps::{create, update, delete}`), with the API's roles (a member
//! reads, an owner writes):
//!
//! - the client secret is a password input, always rendered empty (`placeholder="••••"` on an
//!   edit); it is sent only when something was typed, so a blank one keeps the stored secret;
//! - an emptied URL is `null` (the provider's again); scopes are space-separated; `metadata` is
//!   JSON text posted whole, sent as the merge patch that turns the stored object into it;
//! - an edit sends the version it was opened at as its precondition (`If-Match`): an app changed
//!   meanwhile gets the form back with "changed since you opened it";
//! - deleting an app that credentials are linked to is refused (the API's `409
//!   oauth-app-in-use`) and says so in words.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use credvault_domain::authz::Action;
use credvault_domain::ids::OAuthAppId;
use credvault_domain::oauth_app::{NewOAuthApp, OAUTH_PROVIDERS, OAuthApp, OAuthAppPatch};
use credvault_domain::schema::fields::{CLIENT_ID, CLIENT_SECRET, SCOPES, TOKEN_URL};
use credvault_domain::validate::FieldError;
use credvault_persistence::{PageRequest, StoreError};
use credvault_usecases::Error as UseCaseError;
use credvault_usecases::oauth_apps;
use serde_json::{Map, Value};

use crate::console::error::ConsoleError;
use crate::console::form::{FormFields, read_checked_form};
use crate::console::service_accounts::error_rows;
use crate::console::session::{SignedIn, see_other};
use crate::console::views::oauth_apps::{
    OAuthAppDeletePage, OAuthAppFormPage, OAuthAppPage, OAuthAppRow, OAuthAppValues, OAuthAppsPage,
};
use crate::console::views::{self, SelectOption, when};
use crate::error::ApiError;
use crate::handlers::oauth_apps::oauth_app_id;
use crate::state::AppState;
use crate::tenancy::blocking;

/// Apps per page of the list.
const PAGE_SIZE: u32 = 50;

/// `GET /console/oauth-apps?after=`: the team's OAuth apps.
pub async fn list(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadOAuthApp)?;
    let query = FormFields::parse(req.query_string())?;
    let page = PageRequest {
        after: query.get("after").and_then(|after| after.parse().ok()),
        limit: PAGE_SIZE,
    };
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let found = blocking(move || store.list_oauth_apps(team_id, page)).await?;
    let page = OAuthAppsPage {
        chrome: signed_in.chrome(),
        rows: found
            .items
            .iter()
            .map(|stored| OAuthAppRow {
                id: stored.app.id.to_string(),
                name: stored.app.name.clone(),
                provider: stored.app.provider.as_str(),
                client_id: stored.app.client_id.clone(),
                updated_at: when(stored.app.updated_at),
            })
            .collect(),
        next: found
            .next_after
            .map(|after| format!("/console/oauth-apps?after={after}")),
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `GET /console/oauth-apps/{id}`: one app, its client secret masked.
pub async fn show(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadOAuthApp)?;
    let app = find(&state, &signed_in, &path).await?;
    let page = OAuthAppPage {
        chrome: signed_in.chrome(),
        id: app.id.to_string(),
        name: app.name.clone(),
        provider: app.provider.as_str(),
        client_id: app.client_id.clone(),
        token_url: app.token_url.clone(),
        authorize_url: app.authorize_url.clone(),
        scopes: app.scopes.join(" "),
        metadata: metadata_text(&app.metadata)?,
        version: app.version,
        created_at: when(app.created_at),
        updated_at: when(app.updated_at),
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `GET /console/oauth-apps/new`: the create form.
pub async fn new(signed_in: SignedIn) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::CreateOAuthApp)?;
    let page = form_page(
        &signed_in,
        &Target::Create(""),
        OAuthAppValues::default(),
        &[],
        false,
        false,
    );
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/oauth-apps`: create, through `oauth_apps::create`.
pub async fn create(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let mut form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::CreateOAuthApp)?;
    let values = typed(&form);
    let provider = form.get("provider").unwrap_or_default().to_owned();
    let client_secret = form.take(CLIENT_SECRET).unwrap_or_default();
    drop(form);
    let secret_dropped = !client_secret.is_empty();
    let target = Target::Create(&provider);
    let failed = |errors: &[FieldError]| {
        let page = form_page(
            &signed_in,
            &target,
            values.clone(),
            errors,
            secret_dropped,
            false,
        );
        Ok(views::render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let mut body = Map::new();
    for (key, value) in [
        ("name", &values.name),
        ("provider", &provider),
        (CLIENT_ID, &values.client_id),
    ] {
        body.insert(key.to_owned(), value.clone().into());
    }
    body.insert(CLIENT_SECRET.to_owned(), client_secret.into());
    for (key, value) in [
        (TOKEN_URL, &values.token_url),
        ("authorize_url", &values.authorize_url),
    ] {
        if !value.is_empty() {
            body.insert(key.to_owned(), value.clone().into());
        }
    }
    let scopes = scopes(&values.scopes);
    if !scopes.is_empty() {
        body.insert(SCOPES.to_owned(), scopes.into());
    }
    match metadata_object(&values.metadata) {
        Ok(Some(metadata)) => {
            body.insert("metadata".to_owned(), Value::Object(metadata));
        }
        Ok(None) => {}
        Err(error) => return failed(&[error]),
    }
    let input = match NewOAuthApp::from_json(Value::Object(body)) {
        Ok(input) => input,
        Err(errors) => return failed(errors.errors()),
    };
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let team_id = signed_in.team.id;
    let created = web::block(move || oauth_apps::create(&store, &key_ring, team_id, input)).await?;
    match created {
        Ok(app) => {
            log::info!(
                "oauth app {} ({}) created in team {team_id} from the console by principal {}",
                app.id,
                app.provider,
                signed_in.principal.id
            );
            Ok(see_other(&app_url(app.id)))
        }
        Err(UseCaseError::Invalid(errors)) => failed(errors.errors()),
        Err(error) => Err(error.into()),
    }
}

/// `GET /console/oauth-apps/{id}/edit`: the edit form, opened at the current version.
pub async fn edit(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::UpdateOAuthApp)?;
    let app = find(&state, &signed_in, &path).await?;
    let values = OAuthAppValues {
        name: app.name.clone(),
        client_id: app.client_id.clone(),
        token_url: app.token_url.clone(),
        authorize_url: app.authorize_url.clone(),
        scopes: app.scopes.join(" "),
        metadata: metadata_text(&app.metadata)?,
    };
    let page = form_page(
        &signed_in,
        &Target::Edit(&app, app.version),
        values,
        &[],
        false,
        false,
    );
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/oauth-apps/{id}/edit`: the PATCH, through `oauth_apps::update`, on the
/// condition that the app is still at the version the form was opened at.
pub async fn update(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let mut form = read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::UpdateOAuthApp)?;
    let app = find(&state, &signed_in, &path).await?;
    let opened_at: i64 = form
        .get("version")
        .and_then(|version| version.parse().ok())
        .ok_or_else(|| ApiError::BadRequest("the form has no version".to_owned()))?;
    let values = typed(&form);
    let client_secret = form.take(CLIENT_SECRET).unwrap_or_default();
    drop(form);
    let secret_dropped = !client_secret.is_empty();
    let target = Target::Edit(&app, opened_at);
    let failed = |errors: &[FieldError], status: StatusCode, conflict: bool| {
        let page = form_page(
            &signed_in,
            &target,
            values.clone(),
            errors,
            secret_dropped,
            conflict,
        );
        Ok(views::render(status, &page))
    };
    let mut body = Map::new();
    body.insert("name".to_owned(), values.name.clone().into());
    body.insert(CLIENT_ID.to_owned(), values.client_id.clone().into());
    if !client_secret.is_empty() {
        body.insert(CLIENT_SECRET.to_owned(), client_secret.into());
    }
    for (key, value) in [
        (TOKEN_URL, &values.token_url),
        ("authorize_url", &values.authorize_url),
    ] {
        let value = if value.is_empty() {
            Value::Null
        } else {
            value.clone().into()
        };
        body.insert(key.to_owned(), value);
    }
    body.insert(SCOPES.to_owned(), scopes(&values.scopes).into());
    match metadata_object(&values.metadata) {
        Ok(metadata) => {
            let wanted = metadata.unwrap_or_default();
            body.insert(
                "metadata".to_owned(),
                Value::Object(merge_patch_between(&app.metadata, &wanted)),
            );
        }
        Err(error) => return failed(&[error], StatusCode::UNPROCESSABLE_ENTITY, false),
    }
    let patch = match OAuthAppPatch::from_json(Value::Object(body)) {
        Ok(patch) => patch,
        Err(errors) => return failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY, false),
    };
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let (team_id, app_id) = (signed_in.team.id, app.id);
    let updated = web::block(move || {
        let precondition = |version: i64| version == opened_at;
        oauth_apps::update(
            &store,
            &key_ring,
            team_id,
            app_id,
            &patch,
            Some(&precondition),
        )
    })
    .await?;
    match updated {
        Ok(updated) => {
            if !updated.changed_fields.is_empty() {
                log::info!(
                    "oauth app {app_id} updated in team {team_id} from the console (version {}, changed: {}) by principal {}",
                    updated.app.version,
                    updated.changed_fields.join(", "),
                    signed_in.principal.id
                );
            }
            Ok(see_other(&app_url(app_id)))
        }
        Err(UseCaseError::Invalid(errors)) => {
            failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY, false)
        }
        Err(UseCaseError::Store(StoreError::VersionMismatch { .. })) => {
            failed(&[], StatusCode::CONFLICT, true)
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /console/oauth-apps/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::DeleteOAuthApp)?;
    let app = find(&state, &signed_in, &path).await?;
    let page = OAuthAppDeletePage {
        chrome: signed_in.chrome(),
        id: app.id.to_string(),
        name: app.name,
        in_use: None,
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/oauth-apps/{id}/delete`: delete, through `oauth_apps::delete`; an app that
/// credentials are linked to stays, and the page says why (`409`).
pub async fn delete(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::DeleteOAuthApp)?;
    let app = find(&state, &signed_in, &path).await?;
    let store = state.store.clone();
    let (team_id, app_id) = (signed_in.team.id, app.id);
    match web::block(move || oauth_apps::delete(&store, team_id, app_id)).await? {
        Ok(()) => {
            log::info!(
                "oauth app {app_id} deleted in team {team_id} from the console by principal {}",
                signed_in.principal.id
            );
            Ok(see_other("/console/oauth-apps"))
        }
        Err(UseCaseError::OAuthAppInUse { credentials }) => {
            let page = OAuthAppDeletePage {
                chrome: signed_in.chrome(),
                id: app.id.to_string(),
                name: app.name,
                in_use: Some(in_use_words(credentials)),
            };
            Ok(views::render(StatusCode::CONFLICT, &page))
        }
        Err(error) => Err(error.into()),
    }
}

/// Why an app in use cannot be deleted, for people.
fn in_use_words(credentials: u64) -> String {
    if credentials == 1 {
        "It was not deleted: one credential of this team is linked to this OAuth app. Link it \
         to another app or unlink it, then delete the app."
            .to_owned()
    } else {
        format!(
            "It was not deleted: {credentials} credentials of this team are linked to this \
             OAuth app. Link them to another app or unlink them, then delete the app."
        )
    }
}

/// The team's app named by the path segment; a malformed id, a missing app and another team's
/// all give the same not-found page.
async fn find(
    state: &AppState,
    signed_in: &SignedIn,
    segment: &str,
) -> Result<OAuthApp, ConsoleError> {
    let app_id = oauth_app_id(segment)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let stored = blocking(move || store.find_oauth_app(team_id, app_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(stored.app)
}

/// What was typed into the plain inputs.
fn typed(form: &FormFields) -> OAuthAppValues {
    let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
    OAuthAppValues {
        name: text("name"),
        client_id: text(CLIENT_ID),
        token_url: text(TOKEN_URL),
        authorize_url: text("authorize_url"),
        scopes: text(SCOPES),
        metadata: text("metadata"),
    }
}

fn scopes(text: &str) -> Vec<Value> {
    text.split_whitespace().map(Value::from).collect()
}

/// The metadata input as an object; `None` when blank.
fn metadata_object(text: &str) -> Result<Option<Map<String, Value>>, FieldError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(Some(object)),
        _ => Err(FieldError::new("metadata", "must be a JSON object")),
    }
}

fn metadata_text(metadata: &Map<String, Value>) -> Result<String, ApiError> {
    if metadata.is_empty() {
        Ok(String::new())
    } else {
        serde_json::to_string_pretty(metadata).map_err(ApiError::internal)
    }
}

/// The RFC 7396 merge patch that turns `stored` into `wanted`: removed keys are `null`, nested
/// objects are patched key by key, anything else is replaced.
fn merge_patch_between(
    stored: &Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in stored.keys() {
        if !wanted.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in wanted {
        match (stored.get(key), value) {
            (Some(old), new) if old == new => {}
            (Some(Value::Object(old)), Value::Object(new)) => {
                patch.insert(key.clone(), Value::Object(merge_patch_between(old, new)));
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    patch
}

/// What a form is for.
enum Target<'a> {
    /// A new app, with the provider chosen so far.
    Create(&'a str),
    /// The stored app, and the version the form was opened at.
    Edit(&'a OAuthApp, i64),
}

fn form_page(
    signed_in: &SignedIn,
    target: &Target<'_>,
    values: OAuthAppValues,
    errors: &[FieldError],
    secret_dropped: bool,
    conflict: bool,
) -> OAuthAppFormPage {
    let (title, action, cancel_url, providers, provider, version) = match target {
        Target::Create(provider) => (
            "New OAuth app".to_owned(),
            "/console/oauth-apps".to_owned(),
            "/console/oauth-apps".to_owned(),
            SelectOption::list(OAUTH_PROVIDERS.map(|provider| provider.as_str()), provider),
            "",
            None,
        ),
        Target::Edit(app, opened_at) => (
            format!("Edit {}", app.name),
            format!("{}/edit", app_url(app.id)),
            app_url(app.id),
            Vec::new(),
            app.provider.as_str(),
            Some(*opened_at),
        ),
    };
    OAuthAppFormPage {
        chrome: signed_in.chrome(),
        title,
        action,
        cancel_url,
        providers,
        provider,
        version,
        values,
        errors: error_rows(errors),
        secret_dropped,
        conflict,
    }
}

fn app_url(id: OAuthAppId) -> String {
    format!("/console/oauth-apps/{id}")
}

#[cfg(test)]
mod tests;
