//! Floods: a per-client request rate limit and a bound on the requests in flight.
//!
//! - **Rate limit** (GCRA, the `governor` crate): every request is charged once, to its
//!   principal when it authenticates with a bearer token (in [`crate::auth::Authenticated`]),
//!   otherwise to the peer's IP address (an IPv6 peer by its /64 prefix). Over the limit the
//!   answer is `429` with `Retry-After` in whole seconds. A bearer token that does not
//!   authenticate is charged to the peer, so guessing tokens is limited per address.
//! - **In-flight bound**: at most [`Settings::max_in_flight`] requests are being handled at once;
//!   beyond it the answer is `503` with `Retry-After: 1` at once, instead of a queue that grows
//!   until memory or the database pool runs out.
//!
//! `/healthz`, `/readyz` and `/metrics` are exempt from both, so that a flood does not make
//! load balancers and monitoring take the instance for dead.
//!
//! The counters live in this process: with several server instances each one enforces the limit
//! on its own share of the traffic.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use credvault_domain::ids::PrincipalId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};

use crate::error::{ApiError, PROBLEM_JSON};
use crate::state::{AppState, Settings};

/// How often (in checks) a limiter forgets the clients that are back to a full burst, so that
/// its memory follows the number of recently active clients, not of all clients ever seen.
const SWEEP_EVERY: u64 = 4096;

/// A request rate: `burst` requests at once, then one more every `replenish_interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// How many requests a client may send at once after being idle.
    pub burst: NonZeroU32,
    /// How long it takes to earn one more request.
    pub replenish_interval: Duration,
}

impl RateLimit {
    /// `per_second` requests per second on average, with bursts of `burst` (`0` means the same
    /// as `per_second`). `None` when `per_second` is `0`: no limit.
    pub fn per_second(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            burst,
            replenish_interval: Duration::from_secs(1) / rate.get(),
        })
    }

    fn quota(&self) -> Quota {
        Quota::with_period(self.replenish_interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(self.burst)
    }
}

/// The rate limiters and the in-flight counter of one server.
#[derive(Debug)]
pub struct Throttle {
    principals: Option<Limiter<PrincipalId>>,
    peers: Option<Limiter<IpAddr>>,
    max_in_flight: usize,
    in_flight: AtomicUsize,
}

impl Throttle {
    /// Limiters as `settings` say.
    pub fn new(settings: &Settings) -> Self {
        Self {
            principals: settings.rate_limit.map(Limiter::new),
            peers: settings.rate_limit.map(Limiter::new),
            max_in_flight: settings.max_in_flight,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Charges one request to an authenticated principal.
    pub fn check_principal(&self, principal: PrincipalId) -> Result<(), ApiError> {
        match &self.principals {
            Some(limiter) => limiter.check(&principal),
            None => Ok(()),
        }
    }

    /// Charges one request to a peer address (`None` when the transport has none).
    pub fn check_peer(&self, peer: Option<SocketAddr>) -> Result<(), ApiError> {
        match &self.peers {
            Some(limiter) => limiter.check(&peer_key(peer)),
            None => Ok(()),
        }
    }

    /// Counts a request in, or `None` when the bound is reached; the guard counts it out.
    fn enter(self: &Arc<Self>) -> Option<InFlight> {
        let previous = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight {
            throttle: self.clone(),
        };
        if self.max_in_flight != 0 && previous >= self.max_in_flight {
            drop(guard);
            return None;
        }
        Some(guard)
    }
}

/// One request counted as in flight until dropped.
struct InFlight {
    throttle: Arc<Throttle>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.throttle.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rate: RateLimit) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(rate.quota()),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            ApiError::TooManyRequests {
                retry_after_seconds: retry_after_seconds(wait),
            }
        })
    }
}

/// `Retry-After` in whole seconds, rounded up and at least 1 (RFC 9110 allows no fractions, and
/// `0` would invite an immediate retry that fails again).
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

/// The key of a peer: its IPv4 address, or the /64 network of an IPv6 address (one host usually
/// holds a whole /64, so a per-address key would be no limit at all).
fn peer_key(peer: Option<SocketAddr>) -> IpAddr {
    match peer.map(|address| address.ip().to_canonical()) {
        Some(IpAddr::V6(address)) => {
            let network = u128::from(address) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        Some(address) => address,
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Marks a request as charged to a limiter, so that it is charged once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Charged;

/// Paths that neither limit applies to.
fn is_exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Whether [`crate::auth::Authenticated`] will charge the request: a bearer token sent to a path
/// of the bearer-authenticated API.
fn charged_by_authentication(path: &str, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    bearer && path.starts_with("/api/") && path != "/api/v1/auth/token"
}

/// The middleware (see the module docs).
pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let throttle = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.throttle.clone());
    let Some(throttle) = throttle.filter(|_| !is_exempt(req.path())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(_in_flight) = throttle.enter() else {
        log::warn!("too many requests in flight; answering 503");
        return Ok(req.into_response(HttpResponse::from_error(ApiError::Overloaded)));
    };
    let peer = req.peer_addr();
    let deferred = charged_by_authentication(req.path(), req.headers());
    if !deferred {
        if let Err(error) = throttle.check_peer(peer) {
            return Ok(req.into_response(HttpResponse::from_error(error)));
        }
        req.extensions_mut().insert(Charged);
    }
    let response = next.call(req).await?;
    if deferred && response.request().extensions().get::<Charged>().is_none() {
        // The request sent a bearer token but never authenticated (say, an unknown path): it is
        // charged to the peer now, and a peer over its limit is refused from its next request on.
        let _ = throttle.check_peer(peer);
    }
    Ok(response.map_into_boxed_body())
}

/// Documents the `429` and the overload `503` on every operation the limits apply to.
pub fn document_responses(document: &mut utoipa::openapi::OpenApi) {
    let problem = || {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
            .build()
    };
    let retry_after = |description: &str| {
        HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .description(Some(description))
            .build()
    };
    let too_many = ResponseBuilder::new()
        .description("Too many requests from this principal (or, without a token, this address)")
        .content(PROBLEM_JSON, problem())
        .header(
            "Retry-After",
            retry_after("Seconds until a request is allowed again"),
        )
        .build();
    for (path, path_item) in document.paths.paths.iter_mut() {
        if is_exempt(path) {
            continue;
        }
        let operations = [
            &mut path_item.get,
            &mut path_item.put,
            &mut path_item.post,
            &mut path_item.delete,
            &mut path_item.options,
            &mut path_item.head,
            &mut path_item.patch,
            &mut path_item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses.insert("429".to_owned(), RefOr::T(too_many.clone()));
            responses.entry("503".to_owned()).or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description("The server is overloaded or the database is unavailable")
                        .content(PROBLEM_JSON, problem())
                        .build(),
                )
            });
        }
    }
}

#[cfg(test)]
mod tests;
