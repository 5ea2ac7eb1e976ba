//! OAuth connect from the console: the "Connect" form of an OAuth credential's page starts the
//! flow (`usecases::credentials::start`, as the API's start does) and sends the browser to the
//! provider; the callback (`handlers::oauth_connect::callback`) answers [`landing`], which
//! sends the browser back to the credential's page with a one-time message ([`take_flash`]).
//!
//! The way back is a page of ours with a `<meta http-equiv="refresh">`, not a `303`: the
//! provider's redirect is a cross-site navigation, which would not carry the `SameSite=Strict`
//! session cookie; the page's own navigation is same-site and does. The message travels in a
//! short-lived `HttpOnly` cookie scoped to `/console` (the redirect carries the id only), and
//! says "Connected" or why not in words; it never holds a secret.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credvault_domain::authz::Action;
use credvault_domain::ids::CredentialId;
use credvault_persistence::ConnectReturn;
use credvault_usecases::credentials::Completed;
use serde::{Deserialize, Serialize};

use crate::console::csrf;
use crate::console::error::ConsoleError;
use crate::console::form::{check_origin, read_form};
use crate::console::headers::CONTENT_SECURITY_POLICY;
use crate::console::session::{SignedIn, see_other};
use crate::console::views::{self, ConnectLandingPage};
use crate::handlers::oauth_connect::start::start;
use crate::state::AppState;
use crate::tenancy::credential_id;

/// The message cookie's name.
pub const FLASH_COOKIE: &str = "credvault_console_flash";

/// How long the message waits to be shown, in seconds.
const FLASH_SECONDS: u32 = 300;

/// `POST /console/credentials/{id}/connect`: starts a connect (CSRF-checked, owners only) and
/// sends the browser to the provider's authorize URL.
pub async fn connect(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let form = read_form(&req, payload).await?;
    csrf::check(&signed_in, &form)?;
    signed_in.authorize(Action::UpdateIntegration)?;
    let credential_id = credential_id(&path)?;
    let started = start(
        &state,
        signed_in.team.id,
        credential_id,
        signed_in.principal.clone(),
        ConnectReturn::Console,
    )
    .await?;
    Ok(see_other(&started.authorize_url))
}

/// The message of a connect's outcome, for the credential's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The credential it is about.
    #[serde(rename = "c")]
    pub credential_id: String,
    /// Whether the connect succeeded.
    #[serde(rename = "ok")]
    pub connected: bool,
    /// What to show.
    #[serde(rename = "t")]
    pub text: String,
}

/// The callback's answer to a connect started from the console: a page that sends the browser
/// on to the credential's console page at once, and the message cookie.
pub fn landing(completed: &Completed) -> HttpResponse {
    let flash = Flash {
        credential_id: completed.credential_id.to_string(),
        connected: completed.outcome.is_ok(),
        text: match &completed.outcome {
            Ok(status) => format!("Connected: the provider issued tokens (status {status})."),
            Err(reason) => format!("Not connected: {reason}."),
        },
    };
    let page = ConnectLandingPage {
        url: format!("/console/credentials/{}", completed.credential_id),
        connected: flash.connected,
        text: flash.text.clone(),
    };
    let mut response = views::render(actix_web::http::StatusCode::OK, &page);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(json) = serde_json::to_vec(&flash) {
        let cookie = format!(
            "{FLASH_COOKIE}={}; Path=/console; Max-Age={FLASH_SECONDS}; HttpOnly; SameSite=Lax",
            URL_SAFE_NO_PAD.encode(json)
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// The message for credential `id` in the request's cookie, if any, and the `Set-Cookie` that
/// clears it (it is shown once).
pub fn take_flash(req: &HttpRequest, id: CredentialId) -> Option<(Flash, HeaderValue)> {
    let value = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FLASH_COOKIE)
        .map(|(_, value)| value)?;
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    let flash: Flash = serde_json::from_slice(&bytes).ok()?;
    if flash.credential_id != id.to_string() {
        return None;
    }
    let clear = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Lax"
    ))
    .ok()?;
    Some((flash, clear))
}

/// The console's policy with `origin` (a connect's authorize URL's) allowed as a form target
/// too, so that the "Connect" form's redirect to the provider is not blocked; `None` when
/// `authorize_url` has no origin the policy can name.
pub fn policy_allowing_form_to(authorize_url: &str) -> Option<String> {
    let (scheme, rest) = authorize_url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let safe = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    };
    if !matches!(scheme, "https" | "http") || !safe(authority) {
        return None;
    }
    Some(CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {scheme}://{authority}"),
    ))
}
