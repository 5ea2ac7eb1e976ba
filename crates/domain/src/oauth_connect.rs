//! OAuth connect: the authorization-code grant with PKCE `S256` (RFC 6749 §4.1, RFC 7636) that
//! fills an OAuth credential's tokens, as plain rules.
//!
//! A connect starts on a credential of an OAuth kind linked to an OAuth app ([`check_connectable`]):
//! the server keeps a single-use `state` (only its hash is stored) and a PKCE code verifier
//! (sealed) for [`STATE_LIFETIME`], and sends the browser to [`authorize_url`]. The provider
//! redirects back to the server's callback with a code (or an error, [`provider_error_text`]);
//! the code is exchanged at the app's token URL with the verifier, and the tokens are written as
//! an update of the credential, whose status becomes [`status_after_connect`].
//!
//! For Google the authorization request adds `access_type=offline` and `prompt=consent`, and for
//! Microsoft and SharePoint the scope `offline_access`, so that the provider issues a refresh
//! token ([`authorize_url`]).

use std::fmt;

use chrono::TimeDelta;
use serde_json::Value;

use crate::credential::{Credential, CredentialStatus};
use crate::oauth_app::OAuthApp;
use crate::release::is_oauth;
use crate::schema::fields::{CLIENT_ID, SITE_URL};
use crate::schema::{Kind, Provider};

/// How long a started connect waits for its callback.
pub const STATE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// The prefix of a connect's `state` (a random token), which tells a reader what it is.
pub const STATE_PREFIX: &str = "cvoc";

/// The path of the callback, below the server's public base URL.
pub const CALLBACK_PATH: &str = "/api/v1/oauth/callback";

/// The scope that makes the Microsoft identity platform issue a refresh token.
pub const MICROSOFT_OFFLINE_SCOPE: &str = "offline_access";

/// Why a credential cannot be connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotConnectable {
    /// The credential's kind has no OAuth flow.
    NotOAuth(Kind),
    /// The credential is of an OAuth kind but is not linked to an OAuth app, which supplies the
    /// client and the provider's URLs.
    NoApp,
}

impl fmt::Display for NotConnectable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOAuth(kind) => write!(
                f,
                "a {kind} credential has no OAuth flow; only the OAuth kinds ({}, {}, {}) can be \
                 connected",
                Kind::Oauth2,
                Kind::GoogleOauth,
                Kind::SharepointOauth
            ),
            Self::NoApp => f.write_str(
                "the credential is not linked to an OAuth app; link it to one of the team's OAuth \
                 apps (PATCH with \"oauth_app_id\") and connect again",
            ),
        }
    }
}

impl std::error::Error for NotConnectable {}

/// Whether `credential` can be connected, given the app it is linked to (`app`, as the store
/// read it with the credential).
///
/// ```
/// use credvault_domain::oauth_connect::{NotConnectable, check_connectable};
/// use credvault_domain::testing::{stored_oauth_credential, stored_postgres_credential};
///
/// let (postgres, _) = stored_postgres_credential();
/// assert!(matches!(check_connectable(&postgres, None), Err(NotConnectable::NotOAuth(_))));
/// assert_eq!(check_connectable(&stored_oauth_credential(), None), Err(NotConnectable::NoApp));
/// ```
pub fn check_connectable(
    credential: &Credential,
    app: Option<&OAuthApp>,
) -> Result<(), NotConnectable> {
    if !is_oauth(credential.kind) {
        return Err(NotConnectable::NotOAuth(credential.kind));
    }
    match (credential.oauth_app_id, app) {
        (Some(id), Some(app)) if app.id == id && app.team_id == credential.team_id => Ok(()),
        _ => Err(NotConnectable::NoApp),
    }
}

/// The status of a credential once a connect stored its tokens: `needs_page_selection` for a
/// SharePoint credential without a `site_url` yet, else `connected`.
///
/// ```
/// use credvault_domain::credential::CredentialStatus;
/// use credvault_domain::oauth_connect::status_after_connect;
/// use credvault_domain::schema::{Kind, Provider};
/// use credvault_domain::testing::stored_oauth_credential;
///
/// let mut credential = stored_oauth_credential();
/// assert_eq!(status_after_connect(&credential), CredentialStatus::Connected);
/// credential.provider = Provider::Sharepoint;
/// credential.kind = Kind::SharepointOauth;
/// assert_eq!(status_after_connect(&credential), CredentialStatus::NeedsPageSelection);
/// ```
pub fn status_after_connect(credential: &Credential) -> CredentialStatus {
    let sharepoint =
        credential.provider == Provider::Sharepoint || credential.kind == Kind::SharepointOauth;
    let has_site = matches!(
        credential.extra_data.get(SITE_URL),
        Some(Value::String(url)) if !url.trim().is_empty()
    );
    if sharepoint && !has_site {
        CredentialStatus::NeedsPageSelection
    } else {
        CredentialStatus::Connected
    }
}

/// The provider's authorization URL for a connect through `app`: the app's `authorize_url` with
/// `response_type=code`, `client_id`, `redirect_uri`, `scope` (the app's scopes, space
/// separated), `state`, `code_challenge` and `code_challenge_method=S256`; for Google also
/// `access_type=offline` and `prompt=consent`, and for Microsoft and SharePoint the scope
/// `offline_access` when the app does not list it, so that a refresh token is issued.
///
/// ```
/// # use credvault_domain::oauth_app::NewOAuthApp;
/// use credvault_domain::oauth_connect::authorize_url;
/// # use credvault_domain::ids::TeamId;
/// # use serde_json::json;
/// # let body = json!({"name": "Drive", "provider": "google", "client_id": "c 1",
/// #     "client_secret": "s", "scopes": ["openid", "email"]});
/// # let (app, _) = NewOAuthApp::from_json(body).unwrap().into_app(TeamId::new(), chrono::Utc::now());
/// let url = authorize_url(&app, "https://vault.example/api/v1/oauth/callback", "cvs_1", "abc");
/// assert_eq!(
///     url,
///     "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&client_id=c%201\
///      &redirect_uri=https%3A%2F%2Fvault.example%2Fapi%2Fv1%2Foauth%2Fcallback\
///      &scope=openid%20email&state=cvs_1&code_challenge=abc&code_challenge_method=S256\
///      &access_type=offline&prompt=consent"
/// );
/// ```
pub fn authorize_url(
    app: &OAuthApp,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
) -> String {
    let mut scopes: Vec<&str> = app.scopes.iter().map(String::as_str).collect();
    let microsoft = matches!(app.provider, Provider::Microsoft | Provider::Sharepoint);
    if microsoft && !scopes.contains(&MICROSOFT_OFFLINE_SCOPE) {
        scopes.push(MICROSOFT_OFFLINE_SCOPE);
    }
    let scope = scopes.join(" ");
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        (CLIENT_ID, &app.client_id),
        ("redirect_uri", redirect_uri),
    ];
    if !scope.is_empty() {
        params.push(("scope", &scope));
    }
    params.extend([
        ("state", state),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
    ]);
    if app.provider == Provider::Google {
        params.extend([("access_type", "offline"), ("prompt", "consent")]);
    }
    let mut url = app.authorize_url.clone();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(separator);
        url.push_str(name);
        url.push('=');
        url.push_str(&percent_encode(value));
        separator = '&';
    }
    url
}

/// `text` percent-encoded for a URL's query: every byte but RFC 3986's unreserved characters.
///
/// ```
/// assert_eq!(credvault_domain::oauth_connect::percent_encode("a b/ü~"), "a%20b%2F%C3%BC~");
/// ```
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

/// What a provider's error redirect (RFC 6749 §4.1.2.1) means, in words, for the person who
/// tried to connect: the error code explained, with the provider's `error_description` (already
/// cleaned, see `oauth_token::clean_description`) when it gave one.
///
/// ```
/// use credvault_domain::oauth_connect::provider_error_text;
///
/// assert_eq!(
///     provider_error_text("access_denied", None),
///     "the provider says access was denied (access_denied): the connect was refused or \
///      cancelled at the provider; nothing was stored"
/// );
/// ```
pub fn provider_error_text(code: &str, description: Option<&str>) -> String {
    let meaning = match code {
        "access_denied" => "access was denied",
        "invalid_request" => "the authorization request is invalid",
        "unauthorized_client" => "the OAuth app may not use the authorization-code grant",
        "unsupported_response_type" => "it does not issue authorization codes to this app",
        "invalid_scope" => "a scope the OAuth app asks for is invalid or unknown",
        "server_error" => "it failed while authorizing",
        "temporarily_unavailable" => "it is temporarily unavailable",
        _ => "the authorization failed",
    };
    let mut text = format!("the provider says {meaning} ({code})");
    if let Some(description) = description {
        text.push_str(": ");
        text.push_str(description);
    }
    if code == "access_denied" {
        text.push_str(": the connect was refused or cancelled at the provider");
    }
    text.push_str("; nothing was stored");
    text
}

/// Whether `code` is a plausible OAuth error code (RFC 6749 §4.1.2.1: printable ASCII without
/// `"` or `\`), short enough to show; anything else is shown as `unknown_error`.
pub fn error_code_or_unknown(code: &str) -> &str {
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|byte| (0x20..=0x7e).contains(&byte) && byte != b'"' && byte != b'\\');
    if plausible { code } else { "unknown_error" }
}

#[cfg(test)]
mod tests;
