//! Sign-in, the session a request belongs to ([`SignedIn`]), and sign-out.
//!
//! The session id is a fresh 256-bit token (`credvault_crypto::generate_token`) that only the
//! browser's cookie holds; the store keeps its SHA-256, so neither a log line nor a copy of the
//! database can be replayed as a session. The cookie is `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it) and scoped to `Path=/console`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{TimeDelta, Utc};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::authz::{Action, authorize};
use credvault_domain::principal::{Principal, PrincipalKind, Role};
use credvault_domain::secret::SecretValue;
use credvault_domain::team::Team;
use credvault_persistence::NewConsoleSession;

use crate::console::error::ConsoleError;
use crate::console::form::{FormFields, check_origin, read_form};
use crate::console::views::{self, Chrome, SignInPage};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::{blocking, team_and_role_for};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "credvault_console";

/// The prefix of session ids and of CSRF tokens, for people and secret scanners.
const SESSION_PREFIX: &str = "cvs";
const CSRF_PREFIX: &str = "csrf";

/// The signed-in user of a console request: their principal, team and role, and the session's
/// CSRF token. Extracting it from a request without a live session answers
/// [`ConsoleError::SignedOut`], a redirect to the sign-in page.
pub struct SignedIn {
    /// The user.
    pub principal: Principal,
    /// The team of their user token.
    pub team: Team,
    /// Their role in it.
    pub role: Role,
    /// The token this session's forms carry.
    pub csrf: SecretValue,
    /// The stored hash of the session id (for sign-out).
    id_hash: String,
}

impl SignedIn {
    /// `Ok` when the user's role allows `action`; a member asking for an owner's action gets
    /// the forbidden page, exactly as the API answers `403`.
    pub fn authorize(&self, action: Action) -> Result<(), ConsoleError> {
        Ok(authorize(Some(self.role), action)?)
    }

    /// What the page layout shows of the session.
    pub fn chrome(&self) -> Chrome {
        Chrome::signed_in(self)
    }
}

impl FromRequest for SignedIn {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let session_id = session_cookie(req.headers()).map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            let session_id = session_id.ok_or(ConsoleError::SignedOut)?;
            let id_hash = TokenHash::of(&session_id).to_hex();
            let idle = time_delta(state.settings.console.idle_timeout)?;
            let store = state.store.clone();
            let lookup_hash = id_hash.clone();
            let session = blocking(move || store.console_session(&lookup_hash, Utc::now(), idle))
                .await?
                .ok_or(ConsoleError::SignedOut)?;
            let principal = Principal {
                id: session.principal_id,
                kind: PrincipalKind::User,
                service_account: None,
            };
            // The same budget as the principal's API requests.
            state.throttle.check_principal(principal.id)?;
            let (team, role) = match team_and_role_for(
                &state,
                &principal,
                &session.team_id.to_string(),
                Action::ReadIntegration,
            )
            .await
            {
                Ok(found) => found,
                // The user is no longer in the team: the session is over.
                Err(ApiError::NotFound) => return Err(ConsoleError::SignedOut),
                Err(error) => return Err(error.into()),
            };
            Ok(SignedIn {
                principal,
                team,
                role,
                csrf: session.csrf_secret,
                id_hash,
            })
        })
    }
}

/// `GET /console/`: the credentials when signed in, else the sign-in page.
pub async fn home(_signed_in: SignedIn) -> HttpResponse {
    see_other("/console/credentials")
}

/// `GET /console/sign-in`.
pub async fn sign_in_page() -> HttpResponse {
    views::render(
        actix_web::http::StatusCode::OK,
        &SignInPage {
            chrome: Chrome::anonymous(),
            refused: false,
        },
    )
}

/// `POST /console/sign-in` with `token=<user token>`: opens a session and sets its cookie.
///
/// An unknown, expired or service account token gets the sign-in page again with `401`; the
/// answer does not say which, and never repeats the token.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let mut form: FormFields = read_form(&req, payload).await?;
    let token = SecretValue::new(form.take("token").unwrap_or_default().trim().to_owned());
    if token.expose().is_empty() {
        return Ok(refused_sign_in());
    }
    let token_hash = TokenHash::of(token.expose()).to_hex();
    drop(token);
    let session_id = generate_token(SESSION_PREFIX);
    let id_hash = TokenHash::of(session_id.expose()).to_hex();
    let csrf = generate_token(CSRF_PREFIX);
    let lifetime = time_delta(state.settings.console.session_lifetime)?;
    let idle = time_delta(state.settings.console.idle_timeout)?;
    let previous = session_cookie(req.headers()).map(|id| TokenHash::of(id).to_hex());
    let store = state.store.clone();
    let opened = blocking(move || {
        // Signing in again replaces the browser's previous session.
        if let Some(previous) = previous {
            store.end_console_session(&previous)?;
        }
        store.open_console_session(
            &NewConsoleSession {
                token_hash: &token_hash,
                id_hash: &id_hash,
                csrf_secret: &csrf,
                lifetime,
            },
            Utc::now(),
            idle,
        )
    })
    .await?;
    let Some(session) = opened else {
        return Ok(refused_sign_in());
    };
    log::info!(
        "principal {} signed in to the console in team {}",
        session.principal_id,
        session.team_id
    );
    let cookie = format!(
        "{COOKIE_NAME}={}; Path=/console; HttpOnly; SameSite=Strict{}",
        session_id.expose(),
        secure_attribute(&req, &state)
    );
    let mut response = see_other("/console/credentials");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// `POST /console/sign-out`: deletes the session (CSRF-checked) and the cookie.
pub async fn sign_out(
    req: HttpRequest,
    signed_in: SignedIn,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    check_origin(&req)?;
    let form = read_form(&req, payload).await?;
    crate::console::csrf::check(&signed_in, &form)?;
    let store = state.store.clone();
    let id_hash = signed_in.id_hash.clone();
    blocking(move || store.end_console_session(&id_hash)).await?;
    log::info!(
        "principal {} signed out of the console",
        signed_in.principal.id
    );
    let cookie = format!(
        "{COOKIE_NAME}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{}",
        secure_attribute(&req, &state)
    );
    let mut response = see_other("/console/sign-in");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// `303 See Other` to a console path (ids only, never a value from a form).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn refused_sign_in() -> HttpResponse {
    views::render(
        actix_web::http::StatusCode::UNAUTHORIZED,
        &SignInPage {
            chrome: Chrome::anonymous(),
            refused: true,
        },
    )
}

/// `; Secure` when the request came over TLS, or the server is configured as behind TLS.
fn secure_attribute(req: &HttpRequest, state: &AppState) -> &'static str {
    if req.app_config().secure() || state.settings.console.behind_tls {
        "; Secure"
    } else {
        ""
    }
}

/// The session id in the request's `Cookie` headers, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value)
}

fn time_delta(duration: std::time::Duration) -> Result<TimeDelta, ApiError> {
    TimeDelta::from_std(duration).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests;
