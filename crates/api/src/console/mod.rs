//! The web console: server-rendered HTML pages under `/console`, for people.
//!
//! It is a second front end over the same rules as the JSON API: a page parses its form into the
//! same request body the API takes, calls the same use case (`credvault_usecases::credentials`)
//! and authorizes through the same `tenancy` and `authz` calls, so a rule (a secret kept when its
//! field is left blank, the 404 for another team's credential, the owner-only writes, `If-Match`)
//! holds in both without being written twice.
//!
//! - **Sessions** ([`session`]): a user pastes a user token once into the sign-in form (a POST
//!   body, never a URL). It becomes a server-side session in the `console_sessions` table: a
//!   random id in an `HttpOnly; SameSite=Strict; Path=/console` cookie (`Secure` over TLS, or
//!   when [`ConsoleSettings::behind_tls`] says so), only its SHA-256 stored, ending after
//!   [`ConsoleSettings::idle_timeout`] without use, at [`ConsoleSettings::session_lifetime`]
//!   after sign-in, at sign-out, or with its user token (revoked or expired).
//! - **CSRF** ([`csrf`]): every state-changing form carries the session's CSRF token in a hidden
//!   field, compared in constant time; a POST without it, or with another, is `403` and writes
//!   nothing. A POST whose `Origin` names another site is refused as well.
//! - **Headers** ([`headers`]): every response under `/console` has a strict
//!   `Content-Security-Policy` (no inline script or style), `Referrer-Policy: no-referrer`,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.
//! - **No secret in a page**: secret inputs are `type="password"` with an empty `value`; a
//!   stored secret shows as the mask; a form re-rendered after an error keeps what was typed
//!   into non-secret fields and nothing typed into secret ones; redirects carry ids only.
//! - **Rate limits**: the request middleware charges every console request to its client
//!   address (the sign-in form included, so guessing tokens is limited like guessing them at the
//!   API); a signed-in request is also charged to its principal, like an API request.
//!
//! - **Pages**: the credentials ([`credentials`]) with their connection tests
//!   ([`connection_tests`]) and grants of use ([`grants`]), the service accounts and their client
//!   credentials ([`service_accounts`]; a client secret is shown once, in the answer to the POST
//!   that made it), and the OAuth apps ([`oauth_apps`]). A member sees what the API lets it read
//!   and may test stored credentials; the forms and the grants are the owners'.
//!
//! Templates are compiled in (`askama`, `crates/api/templates/console/`), and the one style sheet
//! is embedded ([`assets`]); the console needs no network access and no JavaScript.

pub mod assets;
pub mod connect;
pub mod connection_tests;
pub mod credentials;
pub mod csrf;
pub mod error;
pub mod form;
pub mod grants;
pub mod headers;
pub mod oauth_apps;
pub mod service_accounts;
pub mod session;
pub mod views;

use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::web;

/// Tunables of the console's sessions.
#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    /// A session not used for this long is over (30 minutes by default).
    pub idle_timeout: Duration,
    /// A session is over this long after its sign-in, however busy (12 hours by default), or
    /// earlier when its user token expires.
    pub session_lifetime: Duration,
    /// The server is reached over TLS through a proxy that terminates it: the session cookie is
    /// marked `Secure` even though this server's own listener speaks plain HTTP.
    pub behind_tls: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            behind_tls: false,
        }
    }
}

/// The path every console page lives under (and the session cookie's `Path`).
pub const BASE: &str = "/console";

/// Registers the console's routes under [`BASE`], with its security headers on every response.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::redirect(BASE, "/console/credentials"))
        .service(
            web::scope(BASE)
                .wrap(from_fn(headers::add_security_headers))
                .route("/", web::get().to(session::home))
                .route("/sign-in", web::get().to(session::sign_in_page))
                .route("/sign-in", web::post().to(session::sign_in))
                .route("/sign-out", web::post().to(session::sign_out))
                .route("/assets/console.css", web::get().to(assets::style_sheet))
                .route("/credentials", web::get().to(credentials::list))
                .route("/credentials", web::post().to(credentials::create))
                .route("/credentials/new", web::get().to(credentials::new))
                .route("/credentials/{id}", web::get().to(credentials::show))
                .route("/credentials/{id}/edit", web::get().to(credentials::edit))
                .route(
                    "/credentials/{id}/edit",
                    web::post().to(credentials::update),
                )
                .route(
                    "/credentials/{id}/connect",
                    web::post().to(connect::connect),
                )
                .route(
                    "/credentials/{id}/delete",
                    web::get().to(credentials::confirm_delete),
                )
                .route(
                    "/credentials/{id}/delete",
                    web::post().to(credentials::delete),
                )
                .route(
                    "/credentials/{id}/test",
                    web::post().to(connection_tests::test_stored),
                )
                .route(
                    "/credentials/{id}/edit/test",
                    web::post().to(connection_tests::test_values),
                )
                .route("/credentials/{id}/grants", web::get().to(grants::list))
                .route("/credentials/{id}/grants", web::post().to(grants::create))
                .route(
                    "/credentials/{id}/grants/{grant_id}/revoke",
                    web::post().to(grants::revoke),
                )
                .route("/service-accounts", web::get().to(service_accounts::list))
                .route(
                    "/service-accounts",
                    web::post().to(service_accounts::create),
                )
                .route(
                    "/service-accounts/new",
                    web::get().to(service_accounts::new),
                )
                .route(
                    "/service-accounts/{id}",
                    web::get().to(service_accounts::show),
                )
                .route(
                    "/service-accounts/{id}/edit",
                    web::get().to(service_accounts::edit),
                )
                .route(
                    "/service-accounts/{id}/edit",
                    web::post().to(service_accounts::update),
                )
                .route(
                    "/service-accounts/{id}/delete",
                    web::get().to(service_accounts::confirm_delete),
                )
                .route(
                    "/service-accounts/{id}/delete",
                    web::post().to(service_accounts::delete),
                )
                .route(
                    "/service-accounts/{id}/credentials",
                    web::get().to(service_accounts::credentials),
                )
                .route(
                    "/service-accounts/{id}/credentials",
                    web::post().to(service_accounts::create_credential),
                )
                .route(
                    "/service-accounts/{id}/credentials/{credential_id}/delete",
                    web::post().to(service_accounts::delete_credential),
                )
                .route("/oauth-apps", web::get().to(oauth_apps::list))
                .route("/oauth-apps", web::post().to(oauth_apps::create))
                .route("/oauth-apps/new", web::get().to(oauth_apps::new))
                .route("/oauth-apps/{id}", web::get().to(oauth_apps::show))
                .route("/oauth-apps/{id}/edit", web::get().to(oauth_apps::edit))
                .route("/oauth-apps/{id}/edit", web::post().to(oauth_apps::update))
                .route(
                    "/oauth-apps/{id}/delete",
                    web::get().to(oauth_apps::confirm_delete),
                )
                .route(
                    "/oauth-apps/{id}/delete",
                    web::post().to(oauth_apps::delete),
                )
                .default_service(web::to(error::not_found)),
        );
}
