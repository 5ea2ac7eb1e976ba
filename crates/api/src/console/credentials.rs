//! The credential pages: the team's list, one credential, the create and edit forms generated
//! from the schema registry, and delete with a confirmation.
//!
//! A form is turned into the very body the JSON API takes and parsed by the same parsers
//! (`NewCredential::from_json`, `CredentialPatch::from_json`), then handed to the same use cases
//! (`credvault_usecases::credentials::{create, update, delete}`):
//!
//! - a plain field is the input `x.<name>`; on an edit an emptied input is `null` (the field is
//!   removed), and an object field is JSON text, posted whole;
//! - a secret field is the password input `s.<name>` (a PEM key an empty `<textarea>`, which
//!   can hold its line breaks), always rendered empty; it is sent only
//!   when something was typed, so a blank one keeps the stored secret (the PATCH rule for `""`);
//!   an optional stored secret has a checkbox `clear.<name>`, sent as `clear_secrets`;
//! - an edit carries the version it was opened at and sends it as the `If-Match` version: a
//!   credential changed meanwhile gets the form back with "changed since you opened it".
//!
//! A form that fails comes back with what was typed into its non-secret inputs and nothing that
//! was typed into a secret one.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use credvault_domain::audit::SecretEffect;
use credvault_domain::authz::Action;
use credvault_domain::credential::{Credential, CredentialStatus};
use credvault_domain::oauth_connect::check_connectable;
use credvault_domain::patch::{CredentialPatch, NewCredential};
use credvault_domain::schema::{
    FieldType, Kind, Provider, Required, Schema, all_schemas, schema_for,
};
use credvault_domain::validate::FieldError;
use credvault_persistence::{CredentialFilter, PageRequest, StoreError, StoredCredential};
use credvault_probe::TESTABLE_PROVIDERS;
use credvault_usecases::Error as UseCaseError;
use credvault_usecases::credentials::{self, Caller, PatchRequest};
use serde_json::{Map, Value};

use crate::console::error::ConsoleError;
use crate::console::form::{FormFields, check_origin, read_form};
use crate::console::session::{SignedIn, see_other};
use crate::console::views::{
    self, ChoosePage, DeletePage, ErrorRow, EventRow, FieldRow, FormField, FormPage, KindChoice,
    ListPage, ListRow, SelectOption, ShowPage,
};
use crate::console::{connect, csrf};
use crate::error::ApiError;
use crate::request_id::CurrentRequestId;
use crate::state::AppState;
use crate::tenancy::{blocking, credential_id};

/// Credentials per page of the list.
const PAGE_SIZE: u32 = 50;

/// Audit events shown on a credential's page (its first ones, newest first).
const EVENTS_SHOWN: u32 = 100;

/// `GET /console/credentials?provider=&status=&after=`: the team's credentials.
pub async fn list(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadIntegration)?;
    let query = FormFields::parse(req.query_string())?;
    let mut filter_error = false;
    let provider = parse_filter::<Provider>(query.get("provider"), &mut filter_error);
    let status = parse_filter::<CredentialStatus>(query.get("status"), &mut filter_error);
    let after = query.get("after").and_then(|after| after.parse().ok());
    let filter = CredentialFilter { provider, status };
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let page = PageRequest {
        after,
        limit: PAGE_SIZE,
    };
    let found = blocking(move || store.list_credentials(team_id, &filter, page)).await?;
    let provider_text = provider.map_or("", Provider::as_str);
    let status_text = status.map_or("", CredentialStatus::as_str);
    let page = ListPage {
        chrome: signed_in.chrome(),
        rows: found.items.iter().map(list_row).collect(),
        providers: SelectOption::list(Provider::ALL.map(Provider::as_str), provider_text),
        statuses: SelectOption::list(
            CredentialStatus::ALL.map(CredentialStatus::as_str),
            status_text,
        ),
        filter_error,
        next: found.next_after.map(|after| {
            format!(
                "/console/credentials?provider={provider_text}&status={status_text}&after={after}"
            )
        }),
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `GET /console/credentials/{id}`: one credential, its secrets masked, its health and trail.
pub async fn show(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::ReadIntegration)?;
    let stored = find_stored(&state, &signed_in, &path).await?;
    let credential = stored.credential;
    let app = stored.oauth_app;
    let connectable = signed_in.authorize(Action::UpdateIntegration).is_ok()
        && check_connectable(&credential, app.as_ref()).is_ok();
    let flash = connect::take_flash(&req, credential.id);
    let store = state.store.clone();
    let (team_id, id) = (credential.team_id, credential.id);
    let page = PageRequest {
        after: None,
        limit: EVENTS_SHOWN,
    };
    let events = blocking(move || store.list_events(team_id, id, page)).await?;
    let schema = schema_of(&credential)?;
    let mut fields: Vec<FieldRow> = schema
        .fields
        .iter()
        .map(|field| FieldRow {
            name: field.name.to_owned(),
            label: label(field.name),
            secret: field.secret,
            set: credential.secret_fields.contains(field.name),
            value: if field.secret {
                String::new()
            } else {
                credential
                    .extra_data
                    .get(field.name)
                    .map(display_value)
                    .unwrap_or_default()
            },
        })
        .collect();
    // Undeclared keys are plain by construction (a secret-looking one is refused on write).
    for (name, value) in &credential.extra_data {
        if schema.field(name).is_none() {
            fields.push(FieldRow {
                name: name.clone(),
                label: label(name),
                secret: false,
                set: false,
                value: display_value(value),
            });
        }
    }
    let metadata = if credential.metadata.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(&credential.metadata).map_err(ApiError::internal)?
    };
    let page = ShowPage {
        chrome: signed_in.chrome(),
        id: credential.id.to_string(),
        name: credential.name.clone(),
        provider: credential.provider.as_str(),
        kind: credential.kind.as_str(),
        status: credential.status.as_str(),
        account_name: credential.account_name.clone(),
        description: credential.description.clone(),
        version: credential.version,
        created_at: views::when(credential.created_at),
        updated_at: views::when(credential.updated_at),
        fields,
        metadata,
        health: credential.health.status.as_str(),
        checked_at: credential.health.checked_at.map(views::when),
        notes: credential.health.notes.clone(),
        events: events
            .items
            .iter()
            .rev()
            .map(|event| EventRow {
                at: views::when(event.at),
                action: event.action.as_str(),
                actor: event.actor.id.to_string(),
                changed: event.changed_fields.join(", "),
                secrets: event
                    .secrets
                    .iter()
                    .map(|(name, effect)| format!("{name}: {}", effect_name(*effect)))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        testable: TESTABLE_PROVIDERS.contains(&credential.provider),
        connectable,
        oauth_app: app.as_ref().map(|app| app.name.clone()),
        flash: flash.as_ref().map(|(flash, _)| flash.clone()),
    };
    let mut response = views::render(StatusCode::OK, &page);
    let headers = response.headers_mut();
    if let Some((_, clear)) = flash {
        headers.insert(header::SET_COOKIE, clear);
    }
    // The "Connect" form's answer redirects to the provider, which `form-action` must allow.
    let policy = app
        .filter(|_| connectable)
        .and_then(|app| connect::policy_allowing_form_to(&app.authorize_url))
        .and_then(|policy| HeaderValue::from_str(&policy).ok());
    if let Some(policy) = policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}

/// `GET /console/credentials/new[?provider=&kind=]`: the choice of provider and kind, then the
/// create form of that schema.
pub async fn new(signed_in: SignedIn, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::CreateIntegration)?;
    let query = FormFields::parse(req.query_string())?;
    let (Some(provider), Some(kind)) = (query.get("provider"), query.get("kind")) else {
        let page = ChoosePage {
            chrome: signed_in.chrome(),
            choices: all_schemas()
                .iter()
                .map(|schema| KindChoice {
                    provider: schema.provider.as_str(),
                    kind: schema.kind.as_str(),
                })
                .collect(),
        };
        return Ok(views::render(StatusCode::OK, &page));
    };
    let schema = find_schema(provider, kind).ok_or(ApiError::NotFound)?;
    let page = form_page(
        &signed_in,
        schema,
        &Target::Create,
        &Typed::default(),
        &[],
        false,
        false,
    );
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/credentials`: create, through `credentials::create`.
pub async fn create(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let mut form = read_form(&req, payload).await?;
    csrf::check(&signed_in, &form)?;
    signed_in.authorize(Action::CreateIntegration)?;
    let schema = find_schema(
        form.get("provider").unwrap_or_default(),
        form.get("kind").unwrap_or_default(),
    )
    .ok_or_else(|| ApiError::BadRequest("unknown provider or kind".to_owned()))?;
    let typed = Typed::from_form(&form, schema);
    let fields = extra_data_from_form(&mut form, schema, None);
    drop(form);
    let failed = |errors: &[FieldError], status: StatusCode| {
        let page = form_page(
            &signed_in,
            schema,
            &Target::Create,
            &typed,
            errors,
            fields.typed_secret,
            false,
        );
        Ok(views::render(status, &page))
    };
    if !fields.errors.is_empty() {
        return failed(&fields.errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut body = Map::new();
    body.insert("provider".to_owned(), schema.provider.as_str().into());
    body.insert("kind".to_owned(), schema.kind.as_str().into());
    body.insert("name".to_owned(), typed.name.clone().into());
    for (key, value) in [
        ("description", &typed.description),
        ("account_name", &typed.account_name),
    ] {
        if !value.is_empty() {
            body.insert(key.to_owned(), value.clone().into());
        }
    }
    body.insert("extra_data".to_owned(), Value::Object(fields.extra_data));
    let input = match NewCredential::from_json(Value::Object(body)) {
        Ok(input) => input,
        Err(errors) => return failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let caller = Caller::new(&signed_in.principal, request_id);
    let team_id = signed_in.team.id;
    let created =
        web::block(move || credentials::create(&store, &key_ring, team_id, caller, &input)).await?;
    match created {
        Ok(linked) => Ok(see_other(&page_url(&linked.credential))),
        Err(UseCaseError::Invalid(errors)) => {
            failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /console/credentials/{id}/edit`: the edit form, opened at the current version.
pub async fn edit(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::UpdateIntegration)?;
    let credential = find(&state, &signed_in, &path).await?;
    let schema = schema_of(&credential)?;
    let typed = Typed::from_stored(&credential, schema);
    let target = Target::Edit(&credential, credential.version);
    let page = form_page(&signed_in, schema, &target, &typed, &[], false, false);
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/credentials/{id}/edit`: the PATCH, through `credentials::update`, on the
/// condition that the credential is still at the version the form was opened at.
pub async fn update(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let mut form = read_form(&req, payload).await?;
    csrf::check(&signed_in, &form)?;
    signed_in.authorize(Action::UpdateIntegration)?;
    let credential = find(&state, &signed_in, &path).await?;
    let schema = schema_of(&credential)?;
    let opened_at: i64 = form
        .get("version")
        .and_then(|version| version.parse().ok())
        .ok_or_else(|| ApiError::BadRequest("the form has no version".to_owned()))?;
    let typed = Typed::from_form(&form, schema);
    let fields = extra_data_from_form(&mut form, schema, Some(&credential));
    drop(form);
    let target = Target::Edit(&credential, opened_at);
    let failed = |errors: &[FieldError], status: StatusCode, conflict: bool| {
        let page = form_page(
            &signed_in,
            schema,
            &target,
            &typed,
            errors,
            fields.typed_secret,
            conflict,
        );
        Ok(views::render(status, &page))
    };
    if !fields.errors.is_empty() {
        return failed(&fields.errors, StatusCode::UNPROCESSABLE_ENTITY, false);
    }
    let patch = match patch_from_form(&typed, fields.extra_data, fields.clear_secrets) {
        Ok(patch) => patch,
        Err(errors) => return failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY, false),
    };
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let request = (
        signed_in.team.id,
        credential.id,
        Caller::new(&signed_in.principal, request_id),
    );
    let updated = web::block(move || {
        let (team_id, credential_id, caller) = request;
        credentials::update(
            &store,
            &key_ring,
            &PatchRequest {
                team_id,
                credential_id,
                expected_version: Some(opened_at),
                patch: &patch,
                caller,
            },
        )
    })
    .await?;
    match updated {
        Ok(linked) => Ok(see_other(&page_url(&linked.credential))),
        Err(UseCaseError::Invalid(errors)) => {
            failed(errors.errors(), StatusCode::UNPROCESSABLE_ENTITY, false)
        }
        Err(UseCaseError::Store(StoreError::VersionMismatch { .. })) => {
            failed(&[], StatusCode::CONFLICT, true)
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /console/credentials/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    signed_in.authorize(Action::DeleteIntegration)?;
    let credential = find(&state, &signed_in, &path).await?;
    let page = DeletePage {
        chrome: signed_in.chrome(),
        id: credential.id.to_string(),
        name: credential.name,
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// `POST /console/credentials/{id}/delete`: delete, through `credentials::delete`.
pub async fn delete(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let form = read_form(&req, payload).await?;
    csrf::check(&signed_in, &form)?;
    signed_in.authorize(Action::DeleteIntegration)?;
    let credential_id = credential_id(&path)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let caller = Caller::new(&signed_in.principal, request_id);
    web::block(move || credentials::delete(&store, team_id, credential_id, caller)).await??;
    Ok(see_other("/console/credentials"))
}

/// The PATCH an edit form asks for: its plain fields (an emptied description or account name
/// is `null`), `extra_data` and `clear_secrets`, parsed as the API parses a PATCH body.
pub(super) fn patch_from_form(
    typed: &Typed,
    extra_data: Map<String, Value>,
    clear_secrets: Vec<String>,
) -> Result<CredentialPatch, credvault_domain::validate::ValidationErrors> {
    let mut body = Map::new();
    body.insert("name".to_owned(), typed.name.clone().into());
    for (key, value) in [
        ("description", &typed.description),
        ("account_name", &typed.account_name),
    ] {
        let value = if value.is_empty() {
            Value::Null
        } else {
            value.clone().into()
        };
        body.insert(key.to_owned(), value);
    }
    body.insert("extra_data".to_owned(), Value::Object(extra_data));
    if !clear_secrets.is_empty() {
        body.insert("clear_secrets".to_owned(), clear_secrets.into());
    }
    CredentialPatch::from_json(Value::Object(body))
}

/// [`find`], with the OAuth app the credential is linked to.
async fn find_stored(
    state: &AppState,
    signed_in: &SignedIn,
    segment: &str,
) -> Result<StoredCredential, ConsoleError> {
    let credential_id = credential_id(segment)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    Ok(
        blocking(move || store.find_credential(team_id, credential_id))
            .await?
            .ok_or(ApiError::NotFound)?,
    )
}

/// The team's credential named by the path segment; a malformed id, a missing credential and
/// another team's all give the same not-found page.
pub(super) async fn find(
    state: &AppState,
    signed_in: &SignedIn,
    segment: &str,
) -> Result<Credential, ConsoleError> {
    let credential_id = credential_id(segment)?;
    let store = state.store.clone();
    let team_id = signed_in.team.id;
    let stored = blocking(move || store.find_credential(team_id, credential_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(stored.credential)
}

pub(super) fn schema_of(credential: &Credential) -> Result<&'static Schema, ApiError> {
    credential
        .schema()
        .ok_or_else(|| ApiError::internal("a stored credential has no schema"))
}

fn find_schema(provider: &str, kind: &str) -> Option<&'static Schema> {
    schema_for(
        provider.parse::<Provider>().ok()?,
        kind.parse::<Kind>().ok()?,
    )
}

pub(super) fn page_url(credential: &Credential) -> String {
    format!("/console/credentials/{}", credential.id)
}

fn parse_filter<T: std::str::FromStr>(value: Option<&str>, failed: &mut bool) -> Option<T> {
    let value = value.filter(|value| !value.is_empty())?;
    let parsed = value.parse().ok();
    *failed |= parsed.is_none();
    parsed
}

fn list_row(credential: &Credential) -> ListRow {
    ListRow {
        id: credential.id.to_string(),
        name: credential.name.clone(),
        provider: credential.provider.as_str(),
        kind: credential.kind.as_str(),
        status: credential.status.as_str(),
        health: credential.health.status.as_str(),
        notes: credential.health.notes.clone(),
        updated_at: views::when(credential.updated_at),
    }
}

/// A field name for people: `key_id` → `key id`.
fn label(name: &str) -> String {
    name.replace('_', " ")
}

fn effect_name(effect: SecretEffect) -> &'static str {
    match effect {
        SecretEffect::Set => "set",
        SecretEffect::Kept => "kept",
        SecretEffect::Cleared => "cleared",
        SecretEffect::Released => "released",
    }
}

/// A plain value as text: a string as it is, an object pretty-printed, anything else as JSON.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(_) => serde_json::to_string_pretty(value).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// The input names of a field.
fn plain_input(name: &str) -> String {
    format!("x.{name}")
}

fn secret_input(name: &str) -> String {
    format!("s.{name}")
}

fn clear_input(name: &str) -> String {
    format!("clear.{name}")
}

/// What a form shows in its non-secret inputs: typed, or stored.
#[derive(Default)]
pub(super) struct Typed {
    name: String,
    account_name: String,
    description: String,
    values: BTreeMap<&'static str, String>,
}

impl Typed {
    /// What was typed, for a form shown again after an error.
    pub(super) fn from_form(form: &FormFields, schema: &'static Schema) -> Self {
        let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
        Self {
            name: text("name"),
            account_name: text("account_name"),
            description: text("description"),
            values: schema
                .fields
                .iter()
                .filter(|field| !field.secret)
                .map(|field| (field.name, text(&plain_input(field.name))))
                .collect(),
        }
    }

    /// What is stored, for a fresh edit form.
    fn from_stored(credential: &Credential, schema: &'static Schema) -> Self {
        Self {
            name: credential.name.clone(),
            account_name: credential.account_name.clone(),
            description: credential.description.clone().unwrap_or_default(),
            values: schema
                .fields
                .iter()
                .filter(|field| !field.secret)
                .map(|field| {
                    let value = credential.extra_data.get(field.name);
                    (field.name, value.map(display_value).unwrap_or_default())
                })
                .collect(),
        }
    }
}

/// The `extra_data` and `clear_secrets` a form asks for.
pub(super) struct FormExtraData {
    pub(super) extra_data: Map<String, Value>,
    pub(super) clear_secrets: Vec<String>,
    /// Inputs that could not even be put into a body (an object field that is not JSON).
    pub(super) errors: Vec<FieldError>,
    /// Something was typed into a secret input (it will not be shown again).
    pub(super) typed_secret: bool,
}

/// Reads the schema's inputs; secrets are moved out of the form, not copied. `stored` is the
/// credential an edit starts from (an emptied plain input removes its stored value).
pub(super) fn extra_data_from_form(
    form: &mut FormFields,
    schema: &'static Schema,
    stored: Option<&Credential>,
) -> FormExtraData {
    let mut extra = FormExtraData {
        extra_data: Map::new(),
        clear_secrets: Vec::new(),
        errors: Vec::new(),
        typed_secret: false,
    };
    for field in schema.fields {
        let name = field.name;
        if field.secret {
            let typed = form.take(&secret_input(name)).unwrap_or_default();
            if !typed.is_empty() {
                extra.typed_secret = true;
                extra
                    .extra_data
                    .insert(name.to_owned(), Value::String(typed));
            }
            if stored.is_some() && form.is_checked(&clear_input(name)) {
                extra.clear_secrets.push(name.to_owned());
            }
            continue;
        }
        let Some(text) = form.get(&plain_input(name)) else {
            continue;
        };
        if text.is_empty() {
            if stored.is_some_and(|credential| credential.extra_data.contains_key(name)) {
                extra.extra_data.insert(name.to_owned(), Value::Null);
            }
            continue;
        }
        let value = match field.ty {
            FieldType::Port => text
                .trim()
                .parse::<u64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            FieldType::Object => match serde_json::from_str::<Value>(text) {
                Ok(object @ Value::Object(_)) => object,
                _ => {
                    extra.errors.push(FieldError::new(
                        format!("extra_data.{name}"),
                        "must be a JSON object",
                    ));
                    continue;
                }
            },
            _ => Value::String(text.to_owned()),
        };
        extra.extra_data.insert(name.to_owned(), value);
    }
    extra
}

/// What a form is for.
pub(super) enum Target<'a> {
    Create,
    /// The stored credential, and the version the form was opened at.
    Edit(&'a Credential, i64),
}

pub(super) fn form_page(
    signed_in: &SignedIn,
    schema: &'static Schema,
    target: &Target<'_>,
    typed: &Typed,
    errors: &[FieldError],
    secrets_dropped: bool,
    conflict: bool,
) -> FormPage {
    let stored = match target {
        Target::Create => None,
        Target::Edit(credential, _) => Some(*credential),
    };
    let field_error = |name: &str| {
        let path = format!("extra_data.{name}");
        errors
            .iter()
            .find(|error| error.field == path)
            .map(|error| error.message.clone())
    };
    let fields = schema
        .fields
        .iter()
        .map(|field| {
            let value = if field.secret {
                String::new()
            } else {
                typed.values.get(field.name).cloned().unwrap_or_default()
            };
            let stored_secret =
                field.secret && stored.is_some_and(|c| c.secret_fields.contains(field.name));
            FormField {
                name: field.name,
                label: label(field.name),
                input_name: if field.secret {
                    secret_input(field.name)
                } else {
                    plain_input(field.name)
                },
                input_id: format!("field-{}", field.name),
                input_type: if field.ty == FieldType::Port {
                    "number"
                } else {
                    "text"
                },
                required: field.required == Required::Always,
                secret: field.secret,
                multiline: field.ty == FieldType::Pem,
                stored: stored_secret,
                clearable: stored_secret && field.required != Required::Always,
                textarea: field.ty == FieldType::Object,
                options: match field.ty {
                    FieldType::Enum(values) => SelectOption::list(values.iter().copied(), &value),
                    _ => Vec::new(),
                },
                value,
                error: field_error(field.name),
            }
        })
        .collect();
    let (title, action, cancel_url, version, reload_url) = match target {
        Target::Create => (
            "New credential".to_owned(),
            "/console/credentials".to_owned(),
            "/console/credentials".to_owned(),
            None,
            String::new(),
        ),
        Target::Edit(credential, opened_at) => (
            format!("Edit {}", credential.name),
            format!("{}/edit", page_url(credential)),
            page_url(credential),
            Some(*opened_at),
            format!("{}/edit", page_url(credential)),
        ),
    };
    FormPage {
        chrome: signed_in.chrome(),
        title,
        action,
        cancel_url,
        provider: schema.provider.as_str(),
        kind: schema.kind.as_str(),
        version,
        name: typed.name.clone(),
        account_name: typed.account_name.clone(),
        description: typed.description.clone(),
        fields,
        errors: errors
            .iter()
            .map(|error| ErrorRow {
                field: error.field.clone(),
                message: error.message.clone(),
            })
            .collect(),
        secrets_dropped,
        conflict,
        reload_url,
        testable: stored.is_some() && TESTABLE_PROVIDERS.contains(&schema.provider),
        test_result: None,
        test_refused: false,
    }
}

#[cfg(test)]
mod tests;
