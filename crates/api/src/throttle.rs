//! Floods: per-client request rate limits and bounds on the requests in flight.
//!
//! The middleware ([`limit_requests`]) admits every request in this order:
//!
//! 1. **In-flight bound**: at most [`Settings::max_in_flight`] requests are being handled at
//!    once, on every path (the operational ones too); beyond it the answer is `503` with
//!    `Retry-After: 1` at once, instead of a queue that grows until memory or the database pool
//!    runs out.
//! 2. **HTTP checks** that need no state: one `Authorization` header at most (`400`), no request
//!    `Content-Encoding` but `identity` (`415`).
//! 3. **The client**: the TCP peer, or behind a trusted proxy ([`Settings::trusted_proxies`])
//!    the rightmost untrusted address of `X-Forwarded-For` ([`client_address`]).
//! 4. **Rate limit** (GCRA, the `governor` crate): a request with a bearer token to the API is
//!    authenticated here (`auth::authenticate`) and charged to its principal. A token
//!    the cache does not know is first charged to the client address, *before* the store is
//!    asked, so a flood of guessed tokens costs no database work once its address is limited.
//!    Every other request is charged to the client address (an IPv6 address by its /64 prefix).
//!    `/healthz`, `/readyz` and `/metrics` are not rate limited. Over the limit: `429` with
//!    `Retry-After` in whole seconds.
//! 5. **Per-client in-flight bound**: one principal (or client address) may have at most
//!    [`Settings::max_in_flight_per_client`] requests in flight, so that nobody can hold the
//!    whole global bound with slow requests; more are `429` with `Retry-After: 1`.
//! 6. **Body deadline**: the body must arrive within [`Settings::body_timeout`] of the request
//!    head, whoever reads it; otherwise the answer is `408` and the connection is closed.
//!
//! `POST /api/v1/auth/token` is also limited per `client_id` ([`Throttle::check_token_client`]),
//! and connection tests per principal ([`Throttle::check_probe_principal`]) before the probe
//! executor's own bounds (a [`Refused`] test is a `503` or a `429`).
//!
//! The counters live in this process: with several server instances each one enforces the limit
//! on its own share of the traffic.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::rt::time::{Instant, Sleep, sleep_until};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse, web};
use credvault_domain::ids::PrincipalId;
use credvault_probe::IpNet;
use credvault_probe::executor::Refused;
use futures_core::Stream;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::{Authentication, authenticate, bearer_token, check_single_authorization};
use crate::error::ApiError;
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

    /// `per_minute` requests per minute, all of them at once after a quiet minute. `None` when
    /// `per_minute` is `0`: no limit.
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        Some(Self {
            burst: rate,
            replenish_interval: Duration::from_secs(60) / rate.get(),
        })
    }

    fn quota(&self) -> Quota {
        Quota::with_period(self.replenish_interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(self.burst)
    }
}

/// Who a request's in-flight slot and rate budget belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    Principal(PrincipalId),
    Address(IpAddr),
}

/// The rate limiters and the in-flight counters of one server.
#[derive(Debug)]
pub struct Throttle {
    principals: Option<Limiter<PrincipalId>>,
    peers: Option<Limiter<IpAddr>>,
    /// Keyed by a keyed hash of the `client_id`, so that long made-up ids take no memory.
    token_clients: Option<Limiter<u64>>,
    /// Connection tests, per principal (on top of its requests).
    probe_principals: Option<Limiter<PrincipalId>>,
    client_id_hasher: RandomState,
    max_in_flight: usize,
    in_flight: AtomicUsize,
    max_in_flight_per_client: usize,
    in_flight_per_client: Mutex<HashMap<ClientKey, usize>>,
}

impl Throttle {
    /// Limiters as `settings` say.
    pub fn new(settings: &Settings) -> Self {
        Self {
            principals: settings.rate_limit.map(Limiter::new),
            peers: settings.rate_limit.map(Limiter::new),
            token_clients: settings.token_rate_limit.map(Limiter::new),
            probe_principals: settings.probe_rate_limit.map(Limiter::new),
            client_id_hasher: RandomState::new(),
            max_in_flight: settings.max_in_flight,
            in_flight: AtomicUsize::new(0),
            max_in_flight_per_client: settings.max_in_flight_per_client,
            in_flight_per_client: Mutex::new(HashMap::new()),
        }
    }

    /// Charges one request to an authenticated principal.
    pub fn check_principal(&self, principal: PrincipalId) -> Result<(), ApiError> {
        match &self.principals {
            Some(limiter) => limiter.check(&principal),
            None => Ok(()),
        }
    }

    /// Charges one request to a client address (`None` when the transport has none).
    pub fn check_peer(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        match &self.peers {
            Some(limiter) => limiter.check(&peer_key(client)),
            None => Ok(()),
        }
    }

    /// Charges one token request to the `client_id` it names, known or not, before the store
    /// is asked about it.
    pub fn check_token_client(&self, client_id: &str) -> Result<(), ApiError> {
        match &self.token_clients {
            Some(limiter) => limiter.check(&self.client_id_hasher.hash_one(client_id)),
            None => Ok(()),
        }
    }

    /// Charges one connection test to the principal that starts it
    /// ([`Settings::probe_rate_limit`]), before the test asks the probe executor for a slot.
    pub fn check_probe_principal(&self, principal: PrincipalId) -> Result<(), ApiError> {
        match &self.probe_principals {
            Some(limiter) => limiter.check(&principal),
            None => Ok(()),
        }
    }

    /// The requests being handled now (this one included, for a handler that asks).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
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

    /// Counts a request of one client in, or `None` when that client has its share in flight.
    fn enter_client(self: &Arc<Self>, key: ClientKey) -> Option<ClientInFlight> {
        if self.max_in_flight_per_client == 0 {
            return Some(ClientInFlight { slot: None });
        }
        let mut counts = self.in_flight_per_client.lock().ok()?;
        let count = counts.entry(key).or_insert(0);
        if *count >= self.max_in_flight_per_client {
            return None;
        }
        *count += 1;
        Some(ClientInFlight {
            slot: Some((self.clone(), key)),
        })
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

/// One request counted against its client's share until dropped (`slot` is `None` without a
/// per-client bound).
struct ClientInFlight {
    slot: Option<(Arc<Throttle>, ClientKey)>,
}

impl Drop for ClientInFlight {
    fn drop(&mut self) {
        let Some((throttle, key)) = self.slot.take() else {
            return;
        };
        let Ok(mut counts) = throttle.in_flight_per_client.lock() else {
            return;
        };
        if let Some(count) = counts.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Idle clients take no memory.
                counts.remove(&key);
            }
        }
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

/// A connection test the probe executor did not start: the server's tests all running is a
/// `503`, like the in-flight bound; the team's, a `429` to retry after the test timeout.
impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::ServerBusy => ApiError::Overloaded,
            Refused::TeamBusy { retry_after } => ApiError::TooManyRequests {
                retry_after_seconds: retry_after_seconds(retry_after),
            },
        }
    }
}

/// The key of a client address: its IPv4 address, or the /64 network of an IPv6 address (one
/// host usually holds a whole /64, so a per-address key would be no limit at all).
fn peer_key(client: Option<IpAddr>) -> IpAddr {
    match client.map(|address| address.to_canonical()) {
        Some(IpAddr::V6(address)) => {
            let network = u128::from(address) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        Some(address) => address,
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// The address of the client that sent a request.
///
/// The TCP peer, unless the peer is one of the `trusted` proxies: then the `X-Forwarded-For`
/// addresses are read from the right (each proxy appends the address it received the request
/// from) and the first one that is not a trusted proxy is the client. Anything left of it was
/// written by the client itself and proves nothing. A header that does not parse yields the
/// peer, so a broken proxy cannot put every client into one budget but its own.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |address: IpAddr| {
        let address = address.to_canonical();
        trusted.iter().any(|network| network.contains(address))
    };
    let peer = peer?;
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let Ok(text) = value.to_str() else {
            return Some(peer);
        };
        for hop in text.split(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(address) => hops.push(address),
                Err(_) => return Some(peer),
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    Some(client)
}

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: header::HeaderName = header::HeaderName::from_static("x-forwarded-for");

/// Paths that the rate limit does not apply to (the OpenAPI document lists no `429` on them).
pub(crate) fn is_exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Whether the request is authenticated by a bearer token here: one sent to a path of the
/// bearer-authenticated API (the token endpoint authenticates clients its own way).
fn authenticated_here(path: &str, headers: &HeaderMap) -> bool {
    bearer_token(headers).is_some() && path.starts_with("/api/") && path != "/api/v1/auth/token"
}

/// The middleware (see the module docs).
pub async fn limit_requests(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let throttle = state.throttle.clone();
    let Some(_in_flight) = throttle.enter() else {
        log::warn!("too many requests in flight; answering 503");
        return Ok(req.into_response(HttpResponse::from_error(ApiError::Overloaded)));
    };
    let checked = check_single_authorization(req.headers())
        .and_then(|()| crate::body::check_content_encoding(req.headers()));
    if let Err(error) = checked {
        return Ok(req.into_response(HttpResponse::from_error(error)));
    }
    let client = client_address(
        req.peer_addr().map(|address| address.ip()),
        req.headers(),
        &state.settings.trusted_proxies,
    );

    // The operational paths are cheap (`/readyz` answers from a cache) and must stay reachable
    // for load balancers and monitoring: only the global bound applies to them.
    let key = if is_exempt(req.path()) {
        None
    } else if authenticated_here(req.path(), req.headers()) {
        let token = bearer_token(req.headers()).unwrap_or_default().to_owned();
        match authenticate(&state, &token, Some(client)).await {
            Ok(Some(principal)) => {
                if let Err(error) = throttle.check_principal(principal.id) {
                    return Ok(req.into_response(HttpResponse::from_error(error)));
                }
                let key = ClientKey::Principal(principal.id);
                req.extensions_mut()
                    .insert(Authentication::Principal(principal));
                Some(key)
            }
            Ok(None) => {
                req.extensions_mut().insert(Authentication::InvalidToken);
                Some(ClientKey::Address(peer_key(client)))
            }
            Err(error) => return Ok(req.into_response(HttpResponse::from_error(error))),
        }
    } else {
        if let Err(error) = throttle.check_peer(client) {
            return Ok(req.into_response(HttpResponse::from_error(error)));
        }
        Some(ClientKey::Address(peer_key(client)))
    };
    let _client_in_flight = match key.map(|key| throttle.enter_client(key)) {
        Some(None) => {
            return Ok(req.into_response(HttpResponse::from_error(ApiError::TooManyInFlight)));
        }
        Some(Some(guard)) => Some(guard),
        None => None,
    };

    let timed_out = Arc::new(AtomicBool::new(false));
    let payload = req.take_payload();
    let deadline = Instant::now() + state.settings.body_timeout;
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(BodyDeadline {
        inner: payload,
        deadline,
        sleep: None,
        timed_out: timed_out.clone(),
    });
    req.set_payload(Payload::from(stream));

    let response = next.call(req).await?.map_into_boxed_body();
    if timed_out.load(Ordering::SeqCst) {
        // Whoever read the body answered its read error in its own way; the client only
        // needs to know that it was too slow. The rest of the body is never read, so the
        // connection cannot be reused.
        let (request, _) = response.into_parts();
        let error = ApiError::RequestTimeout {
            seconds: state.settings.body_timeout.as_secs(),
        };
        let mut timeout = HttpResponse::from_error(error);
        timeout
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        return Ok(ServiceResponse::new(request, timeout));
    }
    Ok(response)
}

/// A request body that fails with a timeout when it has not arrived by `deadline`.
///
/// Only waiting counts: data that has arrived is handed out even after the deadline, so a
/// handler that reads late does not fail a client that was on time.
struct BodyDeadline {
    inner: Payload,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.timed_out.load(Ordering::SeqCst) {
            return Poll::Ready(Some(Err(body_timeout_error())));
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.timed_out.store(true, Ordering::SeqCst);
                        Poll::Ready(Some(Err(body_timeout_error())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

fn body_timeout_error() -> PayloadError {
    PayloadError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        "the request body did not arrive in time",
    ))
}

#[cfg(test)]
mod tests;
