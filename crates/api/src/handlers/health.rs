//! Operational endpoints: liveness, readiness and metrics.
//!
//! `/readyz` asks the database, but not once per request: the answer is kept for
//! [`crate::Settings::readiness_ttl`] and at most one ping is in flight, the callers that arrive
//! meanwhile waiting for its answer ([`Readiness`]). A flood of health checks thus costs at most
//! one database round trip per interval, on SQLite's single connection too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::blocking;

/// The body of a successful health check.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = HealthCheck)]
pub struct HealthCheckResponse {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers HTTP.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The server is up", body = HealthCheckResponse))
)]
#[get("/healthz")]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthCheckResponse { status: "ok" })
}

/// The latest readiness answer and the lock that lets one caller at a time ask the database.
#[derive(Debug)]
pub struct Readiness {
    ttl: Duration,
    /// When the answer was taken, and the answer (`Err` holds the logged cause).
    latest: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    pings: AtomicU64,
}

impl Readiness {
    /// Answers are reused for `ttl` (`Duration::ZERO`: only by callers that waited for them).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            latest: tokio::sync::Mutex::new(None),
            pings: AtomicU64::new(0),
        }
    }

    /// How many times the database was pinged; reported in `/metrics`.
    pub fn pings(&self) -> u64 {
        self.pings.load(Ordering::Relaxed)
    }

    /// The readiness answer, from the cache or from one `ping` shared by every concurrent caller.
    pub async fn check<F>(&self, ping: F) -> Result<(), String>
    where
        F: AsyncFnOnce() -> Result<(), String>,
    {
        let asked_at = Instant::now();
        // The lock is held across the ping: callers that arrive meanwhile queue here (without
        // holding a thread) and then find the fresh answer.
        let mut latest = self.latest.lock().await;
        if let Some((taken_at, answer)) = latest.as_ref()
            && (taken_at.elapsed() < self.ttl || *taken_at >= asked_at)
        {
            return answer.clone();
        }
        self.pings.fetch_add(1, Ordering::Relaxed);
        let answer = ping().await;
        *latest = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = HealthCheckResponse),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let ping = async move || {
        // Whatever the failure, the answer is "not ready": a 503, never a 500.
        blocking(move || store.ping())
            .await
            .map_err(|error| match error {
                ApiError::Unavailable(cause) | ApiError::Internal(cause) => cause,
                other => other.to_string(),
            })
    };
    state
        .readiness
        .check(ping)
        .await
        .map_err(ApiError::Unavailable)?;
    Ok(HttpResponse::Ok().json(HealthCheckResponse { status: "ok" }))
}

/// The upkeep worker's families: its token requests, their failures, refreshes, its scheduled
/// health checks and their failures, its own errors, rounds, and the due backlog its last round
/// saw.
fn upkeep_metrics(text: &mut String, upkeep: &credvault_usecases::upkeep::UpkeepMetrics) {
    use std::sync::atomic::Ordering::Relaxed;
    let families = [
        (
            "credvault_upkeep_token_requests_total",
            "counter",
            "Token refresh requests the upkeep worker sent.",
            upkeep.attempts.load(Relaxed),
        ),
        (
            "credvault_upkeep_token_request_failures_total",
            "counter",
            "Token refresh requests of the upkeep worker that failed.",
            upkeep.failures.load(Relaxed),
        ),
        (
            "credvault_upkeep_refreshed_total",
            "counter",
            "Tokens the upkeep worker refreshed.",
            upkeep.refreshed.load(Relaxed),
        ),
        (
            "credvault_upkeep_health_checks_total",
            "counter",
            "Scheduled health checks the upkeep worker ran and recorded.",
            upkeep.health_checks.load(Relaxed),
        ),
        (
            "credvault_upkeep_health_check_failures_total",
            "counter",
            "Scheduled health checks whose connection test failed.",
            upkeep.health_check_failures.load(Relaxed),
        ),
        (
            "credvault_upkeep_errors_total",
            "counter",
            "Credentials the upkeep worker could not handle (credvault's own errors).",
            upkeep.errors.load(Relaxed),
        ),
        (
            "credvault_upkeep_rounds_total",
            "counter",
            "Rounds the upkeep worker ran.",
            upkeep.rounds.load(Relaxed),
        ),
        (
            "credvault_upkeep_due",
            "gauge",
            "Credentials due for upkeep at the end of the last round (all instances).",
            upkeep.backlog.load(Relaxed),
        ),
    ];
    for (name, kind, help, value) in families {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
}

/// Request counts and latency histograms in the Prometheus text format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut text = state.metrics.render();
    text.push_str(
        "# HELP credvault_http_requests_in_flight Requests being handled, this one included.\n",
    );
    text.push_str("# TYPE credvault_http_requests_in_flight gauge\n");
    text.push_str(&format!(
        "credvault_http_requests_in_flight {}\n",
        state.throttle.in_flight()
    ));
    text.push_str(
        "# HELP credvault_readiness_pings_total Database pings made to answer /readyz.\n",
    );
    text.push_str("# TYPE credvault_readiness_pings_total counter\n");
    text.push_str(&format!(
        "credvault_readiness_pings_total {}\n",
        state.readiness.pings()
    ));
    upkeep_metrics(&mut text, &state.upkeep_metrics);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
