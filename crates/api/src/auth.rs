//! Bearer authentication: `Authorization: Bearer <token>` → [`Principal`].
//!
//! The token is hashed (`TokenHash::of(token).to_hex()`) and looked up with
//! `Store::authenticate`. Hits are remembered for a few seconds in a [`TokenCache`] keyed by the
//! hash, so a burst of requests does not hit the database each time, while a revoked token stops
//! working everywhere within that time. The token itself is never stored, logged or cached.
//!
//! Deleting a service account or one of its client credentials, or revoking a user token, also
//! evicts the cached tokens in this process at once ([`TokenCache::forget_service_account`],
//! [`TokenCache::forget_principal`]); other server instances over the same database stop
//! accepting them within the cache's time to live.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::Utc;
use credvault_domain::ids::{PrincipalId, ServiceAccountId};
use credvault_domain::principal::Principal;

use crate::error::ApiError;
use crate::state::AppState;
use crate::throttle::Charged;
use credvault_crypto::TokenHash;

/// Entries above this count trigger a sweep of the expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

/// Recently authenticated token hashes and their principals.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
    /// Counts evictions. A lookup notes it before asking the store and caches its answer only if
    /// no eviction happened meanwhile, so an answer read just before a revocation is not kept.
    evictions: AtomicU64,
}

impl TokenCache {
    /// A cache whose entries live for `ttl` (`Duration::ZERO` disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
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

    /// The principal cached for a token hash, if it was stored less than the time to live ago.
    pub fn get(&self, token_hash: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(token_hash)
            .filter(|(_, stored_at)| stored_at.elapsed() < self.ttl)
            .map(|(principal, _)| principal.clone())
    }

    /// Caches a store answer, unless an eviction happened since `generation` was read.
    pub fn put(&self, token_hash: String, principal: Principal, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Evictions happen under the same lock, so this check cannot race with one.
        if self.evictions.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= SWEEP_THRESHOLD {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored_at)| stored_at.elapsed() < ttl);
        }
        entries.insert(token_hash, (principal, Instant::now()));
    }
}

/// The authenticated caller; extracting it answers `401` when there is none.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token_hash = bearer_token(req).map(|token| TokenHash::of(token).to_hex());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let Some(token_hash) = token_hash else {
                return Err(ApiError::Unauthenticated {
                    invalid_token: false,
                });
            };
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            let principal = match state.token_cache.get(&token_hash) {
                Some(principal) => Some(principal),
                None => {
                    let generation = state.token_cache.generation();
                    let store = state.store.clone();
                    let lookup_hash = token_hash.clone();
                    let principal =
                        web::block(move || store.authenticate(&lookup_hash, Utc::now())).await??;
                    if let Some(principal) = &principal {
                        state
                            .token_cache
                            .put(token_hash, principal.clone(), generation);
                    }
                    principal
                }
            };
            // Each request is charged once (see `crate::throttle`): to the principal, or to the
            // peer address when the token is unknown.
            let first_charge = req.extensions().get::<Charged>().is_none();
            req.extensions_mut().insert(Charged);
            match principal {
                Some(principal) => {
                    if first_charge {
                        state.throttle.check_principal(principal.id)?;
                    }
                    Ok(Self(principal))
                }
                None => {
                    if first_charge {
                        state.throttle.check_peer(req.peer_addr())?;
                    }
                    Err(ApiError::Unauthenticated {
                        invalid_token: true,
                    })
                }
            }
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests;
