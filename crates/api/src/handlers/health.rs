//! Operational endpoints: liveness, readiness and metrics.

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
    // Whatever the failure, the answer is "not ready": a 503, never a 500.
    blocking(move || store.ping())
        .await
        .map_err(|error| match error {
            ApiError::Unavailable(cause) | ApiError::Internal(cause) => {
                ApiError::Unavailable(cause)
            }
            other => ApiError::Unavailable(other.to_string()),
        })?;
    Ok(HttpResponse::Ok().json(HealthCheckResponse { status: "ok" }))
}

/// Request counts and latency histograms in the Prometheus text format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
