#![doc = include_str!("../README.md")]

pub mod auth;
pub mod body;
pub mod conditional;
pub mod console;
pub mod dto;
pub mod error;
pub mod fallback;
pub mod form;
pub mod handlers;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod state;
pub mod tenancy;
pub mod throttle;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use credvault_probe::oauth::OAuthClient;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

pub use crate::error::ApiError;
pub use crate::openapi::ApiDoc;
pub use crate::state::{AppState, Settings};

use crate::handlers::{
    auth_token, credentials, grants, health, oauth_apps, oauth_connect, service_accounts, tokens,
};

/// Registers every documented route: the operational endpoints at the root and the credential,
/// service account, user token and token endpoint API under `/api/v1`.
pub fn configure(config: &mut ServiceConfig<'_>) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(
            utoipa_actix_web::scope("/api/v1")
                .service(credentials::create::create_credential)
                .service(credentials::list::list_credentials)
                .service(credentials::get::get_credential)
                .service(credentials::patch::update_credential)
                .service(credentials::delete::delete_credential)
                .service(credentials::events::list_credential_events)
                .service(credentials::test::test_candidate_credential)
                .service(credentials::test::test_credential)
                .service(credentials::consume::use_credential)
                .service(oauth_connect::start::start_oauth_connect)
                .service(oauth_connect::callback::oauth_callback)
                .service(grants::create::create_grant)
                .service(grants::list::list_credential_grants)
                .service(grants::delete::delete_grant)
                .service(grants::list::list_service_account_grants)
                .service(service_accounts::create::create_service_account)
                .service(service_accounts::list::list_service_accounts)
                .service(service_accounts::get::get_service_account)
                .service(service_accounts::patch::update_service_account)
                .service(service_accounts::delete::delete_service_account)
                .service(service_accounts::credentials::create::create_service_account_credential)
                .service(service_accounts::credentials::list::list_service_account_credentials)
                .service(service_accounts::credentials::get::get_service_account_credential)
                .service(service_accounts::credentials::patch::update_service_account_credential)
                .service(service_accounts::credentials::delete::delete_service_account_credential)
                .service(oauth_apps::create::create_oauth_app)
                .service(oauth_apps::list::list_oauth_apps)
                .service(oauth_apps::get::get_oauth_app)
                .service(oauth_apps::patch::update_oauth_app)
                .service(oauth_apps::delete::delete_oauth_app)
                .service(tokens::create::create_user_token)
                .service(tokens::list::list_user_tokens)
                .service(tokens::get::get_user_token)
                .service(tokens::delete::delete_user_token)
                .service(auth_token::issue_token),
        );
}

/// The complete OpenAPI document: [`ApiDoc`] plus every route [`configure`] registers, with what
/// the middleware answers on every operation (request ids, floods).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    openapi::document_middleware(&mut document);
    document
}

/// How the HTTP server runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Worker threads; `None` uses actix's default (one per physical core).
    pub workers: Option<usize>,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before they are dropped.
    pub shutdown_timeout: Duration,
    /// Whether the server stops on SIGTERM/SIGINT itself (tests turn this off and stop it through
    /// the handle).
    pub handle_signals: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
            handle_signals: true,
        }
    }
}

/// Builds the server on an already bound listener. Await the returned [`Server`] to run it; its
/// [`Server::handle`] stops it. On SIGTERM or SIGINT it stops accepting connections and lets
/// in-flight requests finish within [`ServerOptions::shutdown_timeout`]. Called inside an actix
/// system (`actix_web::rt::System::new().block_on(..)`), the signal handlers are in place when
/// it returns, so a caller can announce readiness right after.
pub fn server(
    listener: TcpListener,
    state: AppState,
    options: &ServerOptions,
) -> std::io::Result<Server> {
    let document = openapi_document();
    let mut state = state;
    // Connection tests must never connect back to this server.
    state.settings.listen_addresses.push(listener.local_addr()?);
    if state.settings.public_url.is_none() {
        state.settings.public_url = Some(format!("http://{}", listener.local_addr()?));
    }
    if state.refresher.is_none() {
        // Token requests, like connection tests, never reach this server itself.
        let client = OAuthClient::new(&state.settings.probe, &state.settings.listen_addresses);
        state = state.with_token_endpoint(Arc::new(client));
    }
    let known_paths = web::Data::new(fallback::KnownPaths::from_document(&document));
    let state = web::Data::new(state);
    let mut http_server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(known_paths.clone())
            .app_data(json_config())
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .wrap(from_fn(throttle::limit_requests))
            .wrap(from_fn(request_id::track_request))
            .configure(|config| configure(&mut ServiceConfig::new(config)))
            .configure(console::configure)
            .service(web::redirect("/docs", "/docs/"))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document.clone()))
            .default_service(web::to(fallback::unmatched))
    })
    .listen(listener)?
    .shutdown_timeout(options.shutdown_timeout.as_secs());
    if let Some(workers) = options.workers {
        http_server = http_server.workers(workers);
    }
    // actix installs its own signal handlers only when the server is first polled; a signal that
    // arrives between binding and that moment would kill the process. Inside an actix system the
    // handlers are installed here instead, before this function returns.
    let early_signals = options.handle_signals && actix_web::rt::System::try_current().is_some();
    if !options.handle_signals || early_signals {
        http_server = http_server.disable_signals();
    }
    let server = http_server.run();
    if early_signals {
        stop_on_signals(server.handle())?;
    }
    Ok(server)
}

/// Stops the server gracefully on SIGTERM or SIGINT; the handlers are installed at once.
#[cfg(unix)]
fn stop_on_signals(handle: actix_web::dev::ServerHandle) -> std::io::Result<()> {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    use std::task::Poll;

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    actix_web::rt::spawn(async move {
        std::future::poll_fn(|cx| {
            if terminate.poll_recv(cx).is_ready() || interrupt.poll_recv(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        log::info!("stop signal received; finishing in-flight requests");
        handle.stop(true).await;
    });
    Ok(())
}

/// Stops the server gracefully on Ctrl-C; the handler is installed at once.
#[cfg(not(unix))]
fn stop_on_signals(handle: actix_web::dev::ServerHandle) -> std::io::Result<()> {
    actix_web::rt::spawn(async move {
        if actix_web::rt::signal::ctrl_c().await.is_ok() {
            handle.stop(true).await;
        }
    });
    Ok(())
}

/// Runs the server with default options until it is stopped (SIGTERM/SIGINT).
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    server(listener, state, &ServerOptions::default())?.await
}

/// Handlers read bodies themselves (see [`body`]); this keeps any `web::Json` extractor added
/// later on the same rules and out of actix's plain-text errors.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(body::MAX_BODY_BYTES)
        .error_handler(|error, _req: &HttpRequest| {
            let api_error = match error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge {
                    limit: body::MAX_BODY_BYTES,
                },
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
                _ => ApiError::BadRequest("the request body is not valid JSON".to_owned()),
            };
            api_error.into()
        })
}

fn path_error(_error: PathError, _req: &HttpRequest) -> actix_web::Error {
    // A path segment that does not parse names nothing that exists.
    ApiError::NotFound.into()
}

fn query_error(_error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest("the query string is malformed".to_owned()).into()
}
