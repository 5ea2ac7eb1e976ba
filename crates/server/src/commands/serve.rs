//! `credvault serve`: the startup sequence, as a checklist.
//!
//! config → database pool → migrations → key ring → demo team on first run → bind → print JSON
//! → serve until SIGTERM/SIGINT (in-flight requests finish within the shutdown timeout).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use credvault_api::console::ConsoleSettings;
use credvault_api::throttle::RateLimit;
use credvault_api::{AppState, ServerOptions, Settings};
use credvault_probe::ProbeSettings;
use credvault_probe::oauth::OAuthClient;
use serde_json::json;

use crate::bootstrap;
use crate::config::Config;
use crate::upkeep::Worker;

/// Runs the HTTP server until it is stopped.
pub fn run(config: &Config) -> Result<()> {
    let store = super::open_store(config)?;
    let (key_ring, created_key_file) = config.load_key_ring()?;
    let demo = bootstrap::demo_team_if_empty(&store)?;

    let listener =
        TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let base_url = format!("http://{address}");

    let mut started = json!({
        "listening": base_url,
        "database": config.database_display(),
        "docs": format!("{base_url}/docs/"),
        "active_key_id": key_ring.active_key_id().as_str(),
    });
    if let Some(path) = &created_key_file {
        started["master_key_file_created"] = json!(path.display().to_string());
    }
    if let Some(demo) = &demo {
        let token = demo.owner_token.expose();
        started["demo"] = json!({
            "team_id": demo.team.id.to_string(),
            "label": demo.team.label.as_str(),
            "owner_token": token,
            "note": "shown once; keep it",
        });
        started["try"] = json!(format!(
            "curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/teams/{}/integrations",
            demo.team.label
        ));
    }

    let settings = Settings {
        token_cache_ttl: Duration::from_secs(config.token_cache_seconds),
        access_token_ttl: Duration::from_secs(config.access_token_seconds),
        rate_limit: RateLimit::per_second(config.rate_limit_per_second, config.rate_limit_burst),
        max_in_flight: config.max_in_flight,
        max_in_flight_per_client: config.max_in_flight_per_client,
        body_timeout: Duration::from_secs(config.body_timeout_seconds),
        trusted_proxies: config.trusted_proxies.clone(),
        token_rate_limit: RateLimit::per_minute(config.token_requests_per_minute),
        probe: ProbeSettings {
            timeout: Duration::from_secs(config.probe_timeout_seconds.max(1)),
            allow: config.probe_allow.clone(),
            deny: config.probe_deny.clone(),
            database_addresses: config.database_addresses(),
            max_concurrent: config.probe_max_concurrent,
            max_per_team: config.probe_max_per_team,
            oauth_http_hosts: config.oauth_http_hosts.clone(),
        },
        probe_rate_limit: config.probe_rate_limit(),
        console: ConsoleSettings {
            behind_tls: config.console_behind_tls,
            ..ConsoleSettings::default()
        },
        refresh: config.refresh_settings(),
        public_url: Some(
            config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{address}")),
        ),
        // `credvault_api::server` adds the bound address itself.
        ..Settings::default()
    };
    // The refresher is built here, with the bound address, so that the upkeep worker and the
    // requests share it (and its claims and bounds).
    let token_client = OAuthClient::new(&settings.probe, &[address]);
    let state =
        AppState::new(store, key_ring, settings).with_token_endpoint(Arc::new(token_client));
    let worker = if config.upkeep {
        Worker::start(&state, config.upkeep_interval(), config.upkeep_limits())
    } else {
        log::info!("upkeep worker off: OAuth tokens are refreshed only when used");
        None
    };
    let options = ServerOptions {
        workers: config.workers,
        shutdown_timeout: Duration::from_secs(config.shutdown_timeout_seconds),
        handle_signals: true,
    };
    let database = config.database_display();
    actix_web::rt::System::new().block_on(async move {
        // Built first, so that the signal handlers are in place when the JSON says "ready".
        let server =
            credvault_api::server(listener, state, &options).context("starting the HTTP server")?;
        super::print_json(&started);
        log::info!(
            "credvault listening on {base_url} (database {database}, API docs at {base_url}/docs/)"
        );
        server.await.context("running the HTTP server")
    })?;
    if let Some(worker) = worker {
        worker.stop();
    }
    log::info!("credvault stopped");
    Ok(())
}
