//! Bearer authentication: `Authorization: Bearer <token>` → [`Principal`].
//!
//! The token is hashed (`TokenHash::of(token).to_hex()`) and looked up with
//! `Store::authenticate`. Hits are remembered for a few seconds in a [`TokenCache`] keyed by the
//! hash, so a burst of requests does not hit the database each time, while a revoked token stops
//! working everywhere within that time. The token itself is never stored, logged or cached.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use credvault_domain::principal::Principal;

use crate::error::ApiError;
use crate::state::AppState;
use credvault_crypto::TokenHash;

/// Entries above this count trigger a sweep of the expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

/// Recently authenticated token hashes and their principals.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    /// A cache whose entries live for `ttl` (`Duration::ZERO` disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, token_hash: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(token_hash)
            .filter(|(_, stored_at)| stored_at.elapsed() < self.ttl)
            .map(|(principal, _)| principal.clone())
    }

    fn put(&self, token_hash: String, principal: Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
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
        Box::pin(async move {
            let Some(token_hash) = token_hash else {
                return Err(ApiError::Unauthenticated {
                    invalid_token: false,
                });
            };
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            if let Some(principal) = state.token_cache.get(&token_hash) {
                return Ok(Self(principal));
            }
            let store = state.store.clone();
            let lookup_hash = token_hash.clone();
            let principal = web::block(move || store.authenticate(&lookup_hash, Utc::now()))
                .await??
                .ok_or(ApiError::Unauthenticated {
                    invalid_token: true,
                })?;
            state.token_cache.put(token_hash, principal.clone());
            Ok(Self(principal))
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
