//! OAuth apps: a team's OAuth 2.0 client (client id and secret, token and authorize URLs, default
//! scopes) that OAuth credentials of the same provider are issued through.
//!
//! An app is a team resource like a service account. Its client secret is a secret like a
//! credential's: it is sealed at rest (bound to the team and the app, never to a credential) and
//! every response shows the mask. [`NewOAuthApp::from_json`] and [`OAuthAppPatch::from_json`]
//! parse the create and PATCH bodies, every problem at once, by field, without quoting a value;
//! [`OAuthAppPatch::apply`] makes the next state of an app.
//!
//! The rules:
//!
//! - `name`: 1 to [`MAX_NAME_CHARS`](crate::validate::MAX_NAME_CHARS) characters once trimmed.
//! - `provider`: one of the providers whose kinds are OAuth ones ([`OAUTH_PROVIDERS`]); fixed at
//!   creation.
//! - `client_id`: 1 to [`MAX_CLIENT_ID_CHARS`] characters on one line.
//! - `client_secret`: required on create; on PATCH a blank string, `null` or the mask keeps the
//!   stored one and any other string replaces it (the rule of credential secrets,
//!   [`keeps_stored_secret`]).
//! - `token_url`, `authorize_url`: absolute `https` URLs without user information, at most
//!   [`MAX_URL_CHARS`]; omitted on create (or `null` on PATCH) they are the provider's
//!   ([`default_urls`]). Plain `http` is accepted only to a loopback host ([`LOOPBACK_HOSTS`]),
//!   for development and tests; the outbound policy still refuses a token request over plain
//!   `http` unless the operator allows the host.
//! - `scopes`: at most [`MAX_SCOPES`] scope tokens (RFC 6749 §3.3); replaced whole on PATCH.
//! - `metadata`: an object, merged by RFC 7396 on PATCH (`null` clears it), at most
//!   [`MAX_JSON_BYTES`] once merged.
//!
//! A credential of an OAuth kind may be linked to an app ([`OAUTH_APP_ID`],
//! `Credential::oauth_app_id`) of its team and provider ([`check_link`]); the app then supplies
//! the client id and secret, which the credential's own `extra_data` no longer has to hold
//! (`schema::Required::UnlessOAuthApp`). An app that credentials are linked to cannot be deleted.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::credential::Credential;
use crate::ids::{OAuthAppId, TeamId};
use crate::patch::extra_data::keeps_stored_secret;
use crate::patch::merge_patch::merge_patch;
use crate::patch::{MAX_DEPTH, MAX_JSON_BYTES, Patch};
use crate::release::is_oauth;
use crate::schema::{Kind, Provider};
use crate::secret::{MASK, SecretValue};
use crate::validate::{ValidationErrors, check_name, check_single_line, json_depth, json_size};

/// The providers an OAuth app may be for: those whose credential kinds are OAuth ones.
pub const OAUTH_PROVIDERS: [Provider; 3] =
    [Provider::Microsoft, Provider::Sharepoint, Provider::Google];
/// The longest client id, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 512;
/// The longest client secret, in characters.
pub const MAX_CLIENT_SECRET_CHARS: usize = 2048;
/// The longest token or authorize URL, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// The most scopes an app lists.
pub const MAX_SCOPES: usize = 100;
/// The longest scope, in characters.
pub const MAX_SCOPE_CHARS: usize = 256;

/// The field names of an app's bodies, written once.
mod names {
    pub(super) const NAME: &str = "name";
    pub(super) const PROVIDER: &str = "provider";
    pub(super) const CLIENT_ID: &str = "client_id";
    pub(super) const CLIENT_SECRET: &str = "client_secret";
    pub(super) const TOKEN_URL: &str = "token_url";
    pub(super) const AUTHORIZE_URL: &str = "authorize_url";
    pub(super) const SCOPES: &str = "scopes";
    pub(super) const METADATA: &str = "metadata";
}

/// The name of the client secret in the secret map sealed for an app (and in its bodies).
pub const CLIENT_SECRET_NAME: &str = CLIENT_SECRET;

/// The name of a credential's link to an app: in its create and PATCH bodies, its responses and
/// the `changed_fields` of its audit events.
pub const OAUTH_APP_ID: &str = "oauth_app_id";

/// Checks the link of `credential` to an OAuth app, once the caller looked up the app its
/// `oauth_app_id` names among the apps of the credential's team: `app` is what it found (`None`
/// when the team has no app with that id, whether the id is unknown or another team's; both
/// get the same error, which names neither). A credential without a link passes.
///
/// The link must be from an OAuth kind (`oauth2`, `google_oauth`, `sharepoint_oauth`) to an app
/// of the same team and the same provider; every failure is an error of the field
/// [`OAUTH_APP_ID`].
///
/// ```
/// use credvault_domain::ids::OAuthAppId;
/// use credvault_domain::oauth_app::{NewOAuthApp, check_link};
/// use credvault_domain::schema::{Kind, Provider};
/// # use credvault_domain::testing::stored_postgres_credential;
/// use serde_json::json;
///
/// let (mut credential, _) = stored_postgres_credential();
/// credential.provider = Provider::Google;
/// credential.kind = Kind::GoogleOauth;
/// let body = json!({"name": "Drive", "provider": "google", "client_id": "a", "client_secret": "s"});
/// let (app, _) = NewOAuthApp::from_json(body).unwrap().into_app(credential.team_id, chrono::Utc::now());
/// credential.oauth_app_id = Some(app.id);
/// assert!(check_link(&credential, Some(&app)).is_ok());
/// // An id the team has no app for.
/// credential.oauth_app_id = Some(OAuthAppId::new());
/// assert_eq!(check_link(&credential, None).unwrap_err().errors()[0].field, "oauth_app_id");
/// ```
pub fn check_link(credential: &Credential, app: Option<&OAuthApp>) -> Result<(), ValidationErrors> {
    let Some(id) = credential.oauth_app_id else {
        return Ok(());
    };
    if !is_oauth(credential.kind) {
        return Err(ValidationErrors::single(
            OAUTH_APP_ID,
            not_an_oauth_kind(credential.kind),
        ));
    }
    let Some(app) = app.filter(|app| app.id == id && app.team_id == credential.team_id) else {
        return Err(no_such_app());
    };
    if app.provider != credential.provider {
        return Err(ValidationErrors::single(
            OAUTH_APP_ID,
            format!(
                "is an OAuth app for {}; this credential's provider is {}",
                app.provider, credential.provider
            ),
        ));
    }
    Ok(())
}

/// The error of an `oauth_app_id` that names no app of the credential's team: one answer for an
/// unknown id and another team's app, naming neither.
pub fn no_such_app() -> ValidationErrors {
    ValidationErrors::single(OAUTH_APP_ID, "is not an OAuth app of this team")
}

/// The error of an `oauth_app_id` on a credential whose kind has no OAuth client.
pub(crate) fn not_an_oauth_kind(kind: Kind) -> String {
    format!(
        "is only accepted for the OAuth kinds ({}, {}, {}); a {kind} credential has no OAuth app",
        Kind::Oauth2,
        Kind::GoogleOauth,
        Kind::SharepointOauth
    )
}

use names::{AUTHORIZE_URL, CLIENT_ID, CLIENT_SECRET, METADATA, NAME, PROVIDER, SCOPES, TOKEN_URL};

/// A team's OAuth 2.0 client. The client secret is not here: it is stored sealed beside the app
/// and opened only by whoever needs it (a token request), never for a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthApp {
    /// The app's id (UUID v7).
    pub id: OAuthAppId,
    /// The team it belongs to.
    pub team_id: TeamId,
    /// Display name, 1–200 characters.
    pub name: String,
    /// One of [`OAUTH_PROVIDERS`].
    pub provider: Provider,
    /// The public client id the provider issued.
    pub client_id: String,
    /// The provider's token endpoint (https, or http on loopback).
    pub token_url: String,
    /// The provider's authorization endpoint (https, or http on loopback).
    pub authorize_url: String,
    /// The scopes asked for by default.
    pub scopes: Vec<String>,
    /// Free-form, non-secret metadata.
    pub metadata: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1; each change that writes adds 1.
    pub version: i64,
}

/// The token and authorize URLs of `provider` when an app does not name its own: the Microsoft
/// identity platform's `common` tenant for Microsoft and SharePoint, Google's OAuth 2.0 endpoints
/// for Google. `None` for a provider that is not an OAuth one.
///
/// ```
/// use credvault_domain::oauth_app::default_urls;
/// use credvault_domain::schema::Provider;
///
/// let (token, _) = default_urls(Provider::Google).unwrap();
/// assert_eq!(token, "https://oauth2.googleapis.com/token");
/// assert!(default_urls(Provider::Stripe).is_none());
/// ```
pub const fn default_urls(provider: Provider) -> Option<(&'static str, &'static str)> {
    match provider {
        Provider::Microsoft | Provider::Sharepoint => Some((
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        )),
        Provider::Google => Some((
            "https://oauth2.googleapis.com/token",
            "https://accounts.google.com/o/oauth2/v2/auth",
        )),
        _ => None,
    }
}

/// A validated create body.
#[derive(Clone)]
pub struct NewOAuthApp {
    /// Trimmed, 1–200 characters.
    pub name: String,
    /// One of [`OAUTH_PROVIDERS`].
    pub provider: Provider,
    /// 1–512 characters.
    pub client_id: String,
    /// The client secret, to be sealed.
    pub client_secret: SecretValue,
    /// The body's token URL, or the provider's.
    pub token_url: String,
    /// The body's authorize URL, or the provider's.
    pub authorize_url: String,
    /// The default scopes (empty when omitted).
    pub scopes: Vec<String>,
    /// The metadata (empty when omitted).
    pub metadata: Map<String, Value>,
}

impl NewOAuthApp {
    /// The keys a create body may hold.
    pub const FIELDS: [&'static str; 8] = [
        NAME,
        PROVIDER,
        CLIENT_ID,
        CLIENT_SECRET,
        TOKEN_URL,
        AUTHORIZE_URL,
        SCOPES,
        METADATA,
    ];

    /// Parses and validates a create body; every problem is listed by field, no value quoted.
    ///
    /// ```
    /// use credvault_domain::oauth_app::NewOAuthApp;
    /// use serde_json::json;
    ///
    /// let app = NewOAuthApp::from_json(json!({
    ///     "name": "Graph", "provider": "microsoft", "client_id": "abc", "client_secret": "s3cret"
    /// }))
    /// .unwrap();
    /// assert!(app.token_url.starts_with("https://login.microsoftonline.com/common/"));
    /// let refused = NewOAuthApp::from_json(json!({"name": "x", "provider": "stripe"})).unwrap_err();
    /// let fields: Vec<_> = refused.errors().iter().map(|error| error.field.as_str()).collect();
    /// assert_eq!(fields, ["provider", "client_id", "client_secret"]);
    /// ```
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = match body.remove(NAME) {
            None | Some(Value::Null) => {
                errors.push(NAME, "is required");
                String::new()
            }
            Some(value) => name_value(value, &mut errors).unwrap_or_default(),
        };
        let provider = match body.remove(PROVIDER) {
            None | Some(Value::Null) => {
                errors.push(PROVIDER, "is required");
                None
            }
            Some(value) => provider_value(&value, &mut errors),
        };
        let client_id = match body.remove(CLIENT_ID) {
            None | Some(Value::Null) => {
                errors.push(CLIENT_ID, "is required");
                String::new()
            }
            Some(value) => client_id_value(value, &mut errors).unwrap_or_default(),
        };
        let client_secret = match body.remove(CLIENT_SECRET) {
            Some(Value::String(text)) if text == MASK => {
                errors.push(
                    CLIENT_SECRET,
                    "is the mask; send the client secret the provider issued",
                );
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                errors.push(CLIENT_SECRET, "is required");
                None
            }
            None | Some(Value::Null) => {
                errors.push(CLIENT_SECRET, "is required");
                None
            }
            Some(value) => client_secret_value(value, &mut errors),
        };
        let token_url = optional_url(&mut body, TOKEN_URL, &mut errors);
        let authorize_url = optional_url(&mut body, AUTHORIZE_URL, &mut errors);
        let scopes = match body.remove(SCOPES) {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => scopes_value(value, &mut errors).unwrap_or_default(),
        };
        let metadata = match body.remove(METADATA) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => {
                check_metadata(&map, &mut errors);
                map
            }
            Some(_) => {
                errors.push(METADATA, "must be an object");
                Map::new()
            }
        };
        let (Some(provider), Some(client_secret)) = (provider, client_secret) else {
            return Err(errors);
        };
        let (default_token, default_authorize) = default_urls(provider).unwrap_or_default();
        errors.into_result(Self {
            name,
            provider,
            client_id,
            client_secret,
            token_url: token_url.unwrap_or_else(|| default_token.to_owned()),
            authorize_url: authorize_url.unwrap_or_else(|| default_authorize.to_owned()),
            scopes,
            metadata,
        })
    }

    /// The app this body describes, with a fresh id, created at `now` (version 1), and the
    /// client secret to seal for it.
    pub fn into_app(self, team_id: TeamId, now: DateTime<Utc>) -> (OAuthApp, SecretValue) {
        let Self {
            name,
            provider,
            client_id,
            client_secret,
            token_url,
            authorize_url,
            scopes,
            metadata,
        } = self;
        let app = OAuthApp {
            id: OAuthAppId::new(),
            team_id,
            name,
            provider,
            client_id,
            token_url,
            authorize_url,
            scopes,
            metadata,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        (app, client_secret)
    }
}

impl fmt::Debug for NewOAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOAuthApp")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field(CLIENT_ID, &self.client_id)
            .field(CLIENT_SECRET, &self.client_secret)
            .field(TOKEN_URL, &self.token_url)
            .field(AUTHORIZE_URL, &self.authorize_url)
            .field(SCOPES, &self.scopes)
            .field("metadata_keys", &self.metadata.len())
            .finish()
    }
}

/// What a PATCH asks of the client secret. `Debug` shows the mask for a new secret.
#[derive(Clone, Default)]
pub enum ClientSecretPatch {
    /// Keep the stored secret (omitted, blank, `null` or the mask).
    #[default]
    Keep,
    /// Replace it with this one.
    Set(SecretValue),
}

impl fmt::Debug for ClientSecretPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Keep => f.write_str("Keep"),
            Self::Set(_) => write!(f, "Set({MASK})"),
        }
    }
}

/// A validated PATCH body. The provider is fixed at creation.
#[derive(Clone, Debug, Default)]
pub struct OAuthAppPatch {
    /// A new name (trimmed), or `None` to keep it.
    pub name: Option<String>,
    /// A new client id, or `None` to keep it.
    pub client_id: Option<String>,
    /// Keep or replace the client secret.
    pub client_secret: ClientSecretPatch,
    /// A new token URL; `Null` is the provider's again.
    pub token_url: Patch<String>,
    /// A new authorize URL; `Null` is the provider's again.
    pub authorize_url: Patch<String>,
    /// New scopes (replacing the list), or `None` to keep them; `null` empties the list.
    pub scopes: Option<Vec<String>>,
    /// An RFC 7396 merge patch for `metadata`; `Null` clears it.
    pub metadata: Patch<Value>,
}

/// The next state of an app under a PATCH, and what changed. `Debug` masks the secret.
#[derive(Clone)]
pub struct OAuthAppChange {
    /// The app as it would be (same id, version and timestamps as before: the store moves them).
    pub app: OAuthApp,
    /// The new client secret, if the patch replaces it.
    pub client_secret: Option<SecretValue>,
    /// The wire names of the fields that change, in [`OAuthAppPatch::FIELDS`] order.
    pub changed_fields: Vec<&'static str>,
}

impl fmt::Debug for OAuthAppChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAppChange")
            .field("app", &self.app)
            .field("replaces_client_secret", &self.client_secret.is_some())
            .field("changed_fields", &self.changed_fields)
            .finish()
    }
}

impl OAuthAppPatch {
    /// The keys a PATCH body may hold.
    pub const FIELDS: [&'static str; 7] = [
        NAME,
        CLIENT_ID,
        CLIENT_SECRET,
        TOKEN_URL,
        AUTHORIZE_URL,
        SCOPES,
        METADATA,
    ];

    /// Parses and validates a PATCH body; every problem is listed by field, no value quoted.
    ///
    /// ```
    /// use credvault_domain::oauth_app::{ClientSecretPatch, OAuthAppPatch};
    /// use serde_json::json;
    ///
    /// let patch = OAuthAppPatch::from_json(json!({"client_secret": "••••"})).unwrap();
    /// assert!(matches!(patch.client_secret, ClientSecretPatch::Keep));
    /// let refused = OAuthAppPatch::from_json(json!({"provider": "google"})).unwrap_err();
    /// assert_eq!(refused.errors()[0].field, "provider");
    /// ```
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = match body.remove(NAME) {
            None => None,
            Some(Value::Null) => {
                errors.push(NAME, "must not be null");
                None
            }
            Some(value) => name_value(value, &mut errors),
        };
        let client_id = match body.remove(CLIENT_ID) {
            None => None,
            Some(Value::Null) => {
                errors.push(CLIENT_ID, "must not be null");
                None
            }
            Some(value) => client_id_value(value, &mut errors),
        };
        let client_secret = match body.remove(CLIENT_SECRET) {
            None => ClientSecretPatch::Keep,
            Some(value) if keeps_stored_secret(&value) => ClientSecretPatch::Keep,
            Some(Value::String(text)) if text.trim().is_empty() => ClientSecretPatch::Keep,
            Some(value) => client_secret_value(value, &mut errors)
                .map_or(ClientSecretPatch::Keep, ClientSecretPatch::Set),
        };
        let token_url = patch_url(&mut body, TOKEN_URL, &mut errors);
        let authorize_url = patch_url(&mut body, AUTHORIZE_URL, &mut errors);
        let scopes = match body.remove(SCOPES) {
            None => None,
            Some(Value::Null) => Some(Vec::new()),
            Some(value) => scopes_value(value, &mut errors),
        };
        let metadata = match body.remove(METADATA) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(value @ Value::Object(_)) => Patch::Value(value),
            Some(_) => {
                errors.push(METADATA, "must be an object (an RFC 7396 merge patch)");
                Patch::Absent
            }
        };
        errors.into_result(Self {
            name,
            client_id,
            client_secret,
            token_url,
            authorize_url,
            scopes,
            metadata,
        })
    }

    /// The next state of `current` under this patch; a merged `metadata` that grows too big or
    /// too deep is an error by field.
    ///
    /// ```
    /// use credvault_domain::oauth_app::{NewOAuthApp, OAuthAppPatch};
    /// use credvault_domain::ids::TeamId;
    /// use serde_json::json;
    ///
    /// let body = json!({"name": "Drive", "provider": "google", "client_id": "a", "client_secret": "s",
    ///                   "metadata": {"env": "prod", "owner": "ops"}});
    /// let (app, _) = NewOAuthApp::from_json(body).unwrap().into_app(TeamId::new(), chrono::Utc::now());
    /// let patch = OAuthAppPatch::from_json(json!({"metadata": {"owner": null}})).unwrap();
    /// let change = patch.apply(&app).unwrap();
    /// assert_eq!(serde_json::Value::Object(change.app.metadata), json!({"env": "prod"}));
    /// assert_eq!(change.changed_fields, ["metadata"]);
    /// ```
    pub fn apply(self, current: &OAuthApp) -> Result<OAuthAppChange, ValidationErrors> {
        let mut next = current.clone();
        let mut errors = ValidationErrors::new();
        let (default_token, default_authorize) = default_urls(current.provider).unwrap_or_default();
        if let Some(name) = self.name {
            next.name = name;
        }
        if let Some(client_id) = self.client_id {
            next.client_id = client_id;
        }
        match self.token_url {
            Patch::Absent => {}
            Patch::Null => default_token.clone_into(&mut next.token_url),
            Patch::Value(url) => next.token_url = url,
        }
        match self.authorize_url {
            Patch::Absent => {}
            Patch::Null => default_authorize.clone_into(&mut next.authorize_url),
            Patch::Value(url) => next.authorize_url = url,
        }
        if let Some(scopes) = self.scopes {
            next.scopes = scopes;
        }
        match self.metadata {
            Patch::Absent => {}
            Patch::Null => next.metadata = Map::new(),
            Patch::Value(patch) => {
                let mut merged = Value::Object(std::mem::take(&mut next.metadata));
                merge_patch(&mut merged, &patch);
                if let Value::Object(map) = merged {
                    check_metadata(&map, &mut errors);
                    next.metadata = map;
                }
            }
        }
        let client_secret = match self.client_secret {
            ClientSecretPatch::Keep => None,
            ClientSecretPatch::Set(secret) => Some(secret),
        };
        let mut changed_fields = Vec::new();
        for (field, changed) in [
            (NAME, next.name != current.name),
            (CLIENT_ID, next.client_id != current.client_id),
            (CLIENT_SECRET, client_secret.is_some()),
            (TOKEN_URL, next.token_url != current.token_url),
            (AUTHORIZE_URL, next.authorize_url != current.authorize_url),
            (SCOPES, next.scopes != current.scopes),
            (METADATA, next.metadata != current.metadata),
        ] {
            if changed {
                changed_fields.push(field);
            }
        }
        errors.into_result(OAuthAppChange {
            app: next,
            client_secret,
            changed_fields,
        })
    }
}

/// The body as an object whose keys are all in `fields`; a non-object body fails at once.
fn object(
    body: Value,
    fields: &[&str],
    errors: &mut ValidationErrors,
) -> Result<Map<String, Value>, ValidationErrors> {
    let Value::Object(body) = body else {
        return Err(ValidationErrors::single("body", "must be a JSON object"));
    };
    if 1 + body.values().map(json_depth).max().unwrap_or(0) > MAX_DEPTH {
        return Err(ValidationErrors::single(
            "body",
            format!("nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    for key in body.keys() {
        if !fields.contains(&key.as_str()) {
            errors.push(
                key.clone(),
                format!(
                    "is not a known field of an OAuth app; known fields are: {}",
                    fields.join(", ")
                ),
            );
        }
    }
    Ok(body)
}

fn name_value(value: Value, errors: &mut ValidationErrors) -> Option<String> {
    let Value::String(name) = value else {
        errors.push(NAME, "must be a string");
        return None;
    };
    check_name(&name)
        .map_err(|message| errors.push(NAME, message))
        .ok()
}

fn provider_value(value: &Value, errors: &mut ValidationErrors) -> Option<Provider> {
    let provider = value
        .as_str()
        .and_then(|text| text.parse::<Provider>().ok())
        .filter(|provider| OAUTH_PROVIDERS.contains(provider));
    if provider.is_none() {
        let allowed: Vec<&str> = OAUTH_PROVIDERS.iter().map(|p| p.as_str()).collect();
        errors.push(
            PROVIDER,
            format!("must be one of the OAuth providers: {}", allowed.join(", ")),
        );
    }
    provider
}

fn client_id_value(value: Value, errors: &mut ValidationErrors) -> Option<String> {
    let Value::String(text) = value else {
        errors.push(CLIENT_ID, "must be a string");
        return None;
    };
    let trimmed = text.trim();
    let problem = if trimmed.is_empty() {
        Some("must not be empty".to_owned())
    } else if trimmed.chars().count() > MAX_CLIENT_ID_CHARS {
        Some(format!("must be at most {MAX_CLIENT_ID_CHARS} characters"))
    } else {
        check_single_line(trimmed).err()
    };
    match problem {
        Some(message) => {
            errors.push(CLIENT_ID, message);
            None
        }
        None => Some(trimmed.to_owned()),
    }
}

/// A client secret that is a string (not blank, not the mask: the callers decide those first).
fn client_secret_value(value: Value, errors: &mut ValidationErrors) -> Option<SecretValue> {
    let Value::String(text) = value else {
        errors.push(CLIENT_SECRET, "must be a string");
        return None;
    };
    let secret = SecretValue::new(text);
    let text = secret.expose();
    if text.chars().count() > MAX_CLIENT_SECRET_CHARS {
        errors.push(
            CLIENT_SECRET,
            format!("must be at most {MAX_CLIENT_SECRET_CHARS} characters"),
        );
        return None;
    }
    if text.chars().any(char::is_control) {
        errors.push(CLIENT_SECRET, "must not contain control characters");
        return None;
    }
    Some(secret)
}

fn optional_url(
    body: &mut Map<String, Value>,
    field: &'static str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    match body.remove(field) {
        None | Some(Value::Null) => None,
        Some(value) => url_value(field, value, errors),
    }
}

fn patch_url(
    body: &mut Map<String, Value>,
    field: &'static str,
    errors: &mut ValidationErrors,
) -> Patch<String> {
    match body.remove(field) {
        None => Patch::Absent,
        Some(Value::Null) => Patch::Null,
        Some(value) => url_value(field, value, errors).map_or(Patch::Absent, Patch::Value),
    }
}

fn url_value(field: &'static str, value: Value, errors: &mut ValidationErrors) -> Option<String> {
    let Value::String(text) = value else {
        errors.push(field, "must be a string");
        return None;
    };
    match check_https_url(&text) {
        Ok(()) => Some(text),
        Err(message) => {
            errors.push(field, message);
            None
        }
    }
}

/// The hosts an app's URL may name over plain `http` (for development and tests): the loopback
/// ones.
pub const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// An absolute `https` URL (or `http` to a [`LOOPBACK_HOSTS`] host) with a host, no user
/// information, no whitespace or control character, at most [`MAX_URL_CHARS`].
fn check_https_url(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let (rest, plain) = match (text.strip_prefix("https://"), text.strip_prefix("http://")) {
        (Some(rest), _) => (rest, false),
        (None, Some(rest)) => (rest, true),
        (None, None) => return Err("must be an absolute https URL".to_owned()),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return Err("must be an absolute https URL with a host".to_owned());
    }
    if authority.contains('@') {
        return Err("must not carry user information (`user@`)".to_owned());
    }
    if plain && !is_loopback_authority(authority) {
        return Err(
            "must be an absolute https URL (plain http only to 127.0.0.1, [::1] or localhost)"
                .to_owned(),
        );
    }
    if text.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err("must not contain whitespace or control characters".to_owned());
    }
    Ok(())
}

/// Whether `authority` (`host[:port]`) names a loopback host.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.rfind(':') {
        // A port after the host (an IPv6 literal's colons are inside its brackets).
        Some(colon) if !authority[colon..].contains(']') => &authority[..colon],
        _ => authority,
    };
    LOOPBACK_HOSTS
        .iter()
        .any(|loopback| host.eq_ignore_ascii_case(loopback))
}

fn scopes_value(value: Value, errors: &mut ValidationErrors) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        errors.push(SCOPES, "must be a list of scope strings");
        return None;
    };
    if items.len() > MAX_SCOPES {
        errors.push(SCOPES, format!("must list at most {MAX_SCOPES} scopes"));
        return None;
    }
    let mut scopes = Vec::with_capacity(items.len());
    let mut ok = true;
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::String(scope) if is_scope_token(&scope) => {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            _ => {
                ok = false;
                errors.push(
                    format!("{SCOPES}[{index}]"),
                    format!(
                        "must be a scope token (RFC 6749 §3.3): 1 to {MAX_SCOPE_CHARS} printable \
                         ASCII characters other than space, `\"` and `\\`"
                    ),
                );
            }
        }
    }
    ok.then_some(scopes)
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= MAX_SCOPE_CHARS
        && scope
            .bytes()
            .all(|byte| matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

fn check_metadata(map: &Map<String, Value>, errors: &mut ValidationErrors) {
    if json_size(map) > MAX_JSON_BYTES {
        errors.push(
            METADATA,
            format!("must be at most {MAX_JSON_BYTES} bytes of JSON"),
        );
    }
}

#[cfg(test)]
mod tests;
