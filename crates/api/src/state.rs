//! The state every handler shares: store, key ring, token cache, metrics and settings.
//!
//! One [`AppState`] is built per server (and per test); nothing lives in a process-global.

use std::sync::Arc;
use std::time::Duration;

use credvault_persistence::Store;

use crate::auth::TokenCache;
use crate::metrics::Metrics;
use crate::tenancy::MembershipCache;
use credvault_crypto::KeyRing;

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long an authenticated token, and a principal's role in a team, are remembered in
    /// memory before the store is asked again. A revoked token keeps working for at most this
    /// long; `Duration::ZERO` disables both caches.
    pub token_cache_ttl: Duration,
    /// How long an access token issued by `POST /api/v1/auth/token` is valid (`expires_in`).
    pub access_token_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_cache_ttl: Duration::from_secs(5),
            access_token_ttl: Duration::from_secs(3600),
        }
    }
}

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The master keys that seal and open credential secrets.
    pub key_ring: Arc<KeyRing>,
    /// Recently authenticated tokens.
    pub token_cache: Arc<TokenCache>,
    /// Recently resolved team memberships (same time to live as the token cache).
    pub membership_cache: Arc<MembershipCache>,
    /// Request counters and latency histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Tunables.
    pub settings: Settings,
}

impl AppState {
    /// Builds the state with fresh metrics and an empty token cache.
    pub fn new(store: Store, key_ring: KeyRing, settings: Settings) -> Self {
        Self {
            store,
            key_ring: Arc::new(key_ring),
            token_cache: Arc::new(TokenCache::new(settings.token_cache_ttl)),
            membership_cache: Arc::new(MembershipCache::new(settings.token_cache_ttl)),
            metrics: Arc::new(Metrics::default()),
            settings,
        }
    }
}
