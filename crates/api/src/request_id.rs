//! Request ids, and the middleware that wraps every request.
//!
//! The middleware ([`track_request`]):
//! - takes the client's `X-Client-Request-ID` (must be a UUID, else `400`) or makes an id,
//!   stores it in the request's extensions for handlers ([`CurrentRequestId`]),
//! - echoes it as `X-Request-ID` on every response and writes it into problem bodies,
//! - records the request in [`crate::metrics::Metrics`] and logs one line: method (one of a
//!   fixed set, [`crate::metrics::method_label`]), route pattern, status, latency and request
//!   id. Never a body, a header value or a raw path. A 5xx also logs its cause (the error's
//!   `Display`) with the request id,
//! - serves `HEAD` as `GET` (RFC 9110 §9.3.2): the request is routed as a `GET`, so every
//!   `GET` resource answers `HEAD` with the same status and headers (404 and 401 included), and
//!   actix's HTTP/1 encoder, which remembers that the request was a `HEAD`, sends no body.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use credvault_domain::ids::RequestId;

use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::state::AppState;

/// The header a client may send to name its request.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");
/// The header every response carries.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for handlers and audit events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentRequestId(pub RequestId);

impl FromRequest for CurrentRequestId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // The middleware always sets it; a fresh id keeps a misconfigured app working.
        let id = req
            .extensions()
            .get::<CurrentRequestId>()
            .copied()
            .unwrap_or(CurrentRequestId(RequestId::new()));
        ready(Ok(id))
    }
}

fn client_request_id(headers: &HeaderMap) -> Result<Option<RequestId>, ()> {
    match headers.get(&CLIENT_REQUEST_ID) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<RequestId>().ok())
            .map(Some)
            .ok_or(()),
    }
}

/// The middleware around every request (see the module docs).
pub async fn track_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = crate::metrics::method_label(req.method().as_str());
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());

    let (request_id, response) = match client_request_id(req.headers()) {
        Ok(client_id) => {
            let request_id = client_id.unwrap_or_default();
            req.extensions_mut().insert(CurrentRequestId(request_id));
            // Handler and extractor errors arrive here as responses already; an `Err` can only
            // come from a middleware and is passed on as it is.
            let response = next.call(req).await?.map_into_boxed_body();
            (request_id, response)
        }
        Err(()) => {
            let error =
                ApiError::BadRequest("the X-Client-Request-ID header must be a UUID".to_owned());
            (RequestId::new(), req.into_response(error.error_response()))
        }
    };

    let mut response = with_request_id(response, request_id);
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let latency = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.record(method, &route, status, latency);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if response.status().is_server_error()
        && let Some(error) = response.response().error()
    {
        log::error!(
            "request failed: {error} method={method} route={route} status={status} request_id={request_id}"
        );
    }
    log::info!(
        "request finished method={method} route={route} status={status} ms={:.1} request_id={request_id}",
        latency.as_secs_f64() * 1000.0
    );
    Ok(response)
}

/// Writes the request id into a problem body, if the response is one.
fn with_request_id(
    response: ServiceResponse<BoxBody>,
    request_id: RequestId,
) -> ServiceResponse<BoxBody> {
    let problem = response.response().extensions().get::<Problem>().cloned();
    match problem {
        None => response,
        Some(mut problem) => {
            problem.request_id = Some(request_id.to_string());
            let body = serde_json::to_vec(&problem).unwrap_or_default();
            response.map_body(|_, _| BoxBody::new(body))
        }
    }
}
