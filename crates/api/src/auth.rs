//! Bearer authentication: `Authorization: Bearer <token>` → [`Principal`].
//!
//! The token is hashed (`TokenHash::of(token).to_hex()`) and looked up with
//! `Store::authenticate_token`. Hits are remembered for a few seconds in a [`TokenCache`] keyed
//! by the hash, so a burst of requests does not hit the database each time, while a revoked
//! token stops working everywhere within that time. An entry never outlives its token's
//! `expires_at`, and the time to live is at most [`MAX_TOKEN_CACHE_TTL`]. The token itself is
//! never stored, logged or cached.
//!
//! Deleting a service account or one of its client credentials, or revoking a user token, also
//! evicts the cached tokens in this process at once ([`TokenCache::forget_service_account`],
//! [`TokenCache::forget_principal`]); other server instances over the same database stop
//! accepting them within the cache's time to live.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::{DateTime, Utc};
use credvault_domain::ids::{PrincipalId, ServiceAccountId};
use credvault_domain::principal::Principal;

use crate::error::ApiError;
use crate::state::AppState;
use credvault_crypto::TokenHash;

/// Entries above this count trigger a sweep of the expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

/// The longest a token lookup may be cached: SPEC §8 allows "at most a few seconds" before a
/// revoked token stops working everywhere. A longer time to live is cut to this.
pub const MAX_TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);

/// Recently authenticated token hashes, their principals and until when they may be used.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    /// The principal of each token hash, and the instant its entry stops being valid.
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    /// Counts evictions. A lookup notes it before asking the store and caches its answer only if
    /// no eviction happened meanwhile, so an answer read just before a revocation is not kept.
    evictions: AtomicU64,
}

impl TokenCache {
    /// A cache whose entries live for `ttl` (`Duration::ZERO` disables it), at most
    /// [`MAX_TOKEN_CACHE_TTL`].
    pub fn new(ttl: Duration) -> Self {
        if ttl > MAX_TOKEN_CACHE_TTL {
            log::warn!(
                "a token cache time to live of {}s is cut to {}s",
                ttl.as_secs(),
                MAX_TOKEN_CACHE_TTL.as_secs()
            );
        }
        Self {
            ttl: ttl.min(MAX_TOKEN_CACHE_TTL),
            entries: Mutex::new(HashMap::new()),
            evictions: AtomicU64::new(0),
        }
    }

    /// Forgets every cached token of a service account, after its client credential or the
    /// account itself was deleted, so that they stop working in this process at once.
    ///
    /// Tokens of the account's other client credentials are forgotten too; they are simply
    /// looked up in the store again.
    pub fn forget_service_account(&self, service_account: ServiceAccountId) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        self.evictions.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, (principal, _)| principal.service_account != Some(service_account));
    }

    /// Forgets every cached token of a principal, after its user token was revoked, so that it
    /// stops working in this process at once.
    pub fn forget_principal(&self, principal_id: PrincipalId) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        self.evictions.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, (principal, _)| principal.id != principal_id);
    }

    /// The eviction count, to pass to [`TokenCache::put`] after a store lookup.
    pub fn generation(&self) -> u64 {
        self.evictions.load(Ordering::SeqCst)
    }

    /// The principal cached for a token hash, if its entry is still valid: stored less than the
    /// time to live ago, and its token not expired.
    pub fn get(&self, token_hash: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let now = Instant::now();
        entries
            .get(token_hash)
            .filter(|(_, valid_until)| now < *valid_until)
            .map(|(principal, _)| principal.clone())
    }

    /// Caches a store answer for `min(ttl, expires_at - now)`, unless an eviction happened since
    /// `generation` was read.
    pub fn put(
        &self,
        token_hash: String,
        principal: Principal,
        expires_at: Option<DateTime<Utc>>,
        generation: u64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut valid_until = now + self.ttl;
        if let Some(expires_at) = expires_at {
            // A token already expired (or expiring within the clock's rounding) is not cached.
            let Ok(left) = (expires_at - Utc::now()).to_std() else {
                return;
            };
            valid_until = valid_until.min(now + left);
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Evictions happen under the same lock, so this check cannot race with one.
        if self.evictions.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= SWEEP_THRESHOLD {
            entries.retain(|_, (_, entry_valid_until)| now < *entry_valid_until);
        }
        entries.insert(token_hash, (principal, valid_until));
    }
}

/// What [`crate::throttle::limit_requests`] found out about a request's bearer token, kept in
/// the request's extensions for [`Authenticated`].
#[derive(Clone, Debug)]
pub(crate) enum Authentication {
    /// The token belongs to this principal.
    Principal(Principal),
    /// The token is unknown or expired.
    InvalidToken,
}

/// Looks a bearer token up: in the cache, else in the store.
///
/// With `charge_to` (the request's client address, as the middleware decided it), a lookup in
/// the store is first charged to that address: a token that is not cached costs its sender one request of
/// the address's budget *before* the database does any work, so a flood of guessed tokens is
/// refused with `429` without a query once the address is over its limit. A valid token pays
/// this once per cache lifetime.
pub(crate) async fn authenticate(
    state: &AppState,
    token: &str,
    charge_to: Option<Option<IpAddr>>,
) -> Result<Option<Principal>, ApiError> {
    let token_hash = TokenHash::of(token).to_hex();
    if let Some(principal) = state.token_cache.get(&token_hash) {
        return Ok(Some(principal));
    }
    if let Some(client) = charge_to {
        state.throttle.check_peer(client)?;
    }
    let generation = state.token_cache.generation();
    let store = state.store.clone();
    let lookup_hash = token_hash.clone();
    let token = web::block(move || store.authenticate_token(&lookup_hash, Utc::now())).await??;
    Ok(token.map(|token| {
        state.token_cache.put(
            token_hash,
            token.principal.clone(),
            token.expires_at,
            generation,
        );
        token.principal
    }))
}

/// The authenticated caller; extracting it answers `401` when there is none.
///
/// The request middleware has already authenticated the token and charged the request (see
/// [`crate::throttle`]); without it (an app that does not install it) the token is looked up here.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let known = req.extensions().get::<Authentication>().cloned();
        let token = bearer_token(req.headers()).map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let invalid = ApiError::Unauthenticated {
                invalid_token: true,
            };
            match known {
                Some(Authentication::Principal(principal)) => return Ok(Self(principal)),
                Some(Authentication::InvalidToken) => return Err(invalid),
                None => {}
            }
            let Some(token) = token else {
                return Err(ApiError::Unauthenticated {
                    invalid_token: false,
                });
            };
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            match authenticate(&state, &token, None).await? {
                Some(principal) => Ok(Self(principal)),
                None => Err(invalid),
            }
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `400` when a request carries more than one `Authorization` header: which one counts would be
/// a guess (RFC 9110 §5.3 allows repeating only list-valued fields, and this one is not).
pub(crate) fn check_single_authorization(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get_all(header::AUTHORIZATION).nth(1).is_some() {
        return Err(ApiError::BadRequest(
            "the request has more than one Authorization header; send one".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
