//! The state every handler shares: store, key ring, token cache, metrics, rate limiters and
//! settings.
//!
//! One [`AppState`] is built per server (and per test); nothing lives in a process-global.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use credvault_crypto::KeyRing;
use credvault_domain::oauth_token::TokenEndpoint;
use credvault_domain::refresh::RefreshSettings;
use credvault_persistence::Store;
use credvault_probe::{IpNet, ProbeExecutor, ProbePolicy, ProbeSettings};
use credvault_usecases::credentials::Refresher;
use credvault_usecases::upkeep::UpkeepMetrics;

use crate::auth::{MAX_TOKEN_CACHE_TTL, TokenCache};
use crate::console::ConsoleSettings;
use crate::handlers::health::Readiness;
use crate::metrics::Metrics;
use crate::tenancy::MembershipCache;
use crate::throttle::{RateLimit, Throttle};

/// Tunables of the HTTP layer.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long an authenticated token, and a principal's role in a team, are remembered in
    /// memory before the store is asked again. A revoked token keeps working for at most this
    /// long, and never past its own expiry; `Duration::ZERO` disables both caches. At most
    /// [`crate::auth::MAX_TOKEN_CACHE_TTL`]; a longer value is cut to it.
    pub token_cache_ttl: Duration,
    /// How long an access token issued by `POST /api/v1/auth/token` is valid (`expires_in`).
    pub access_token_ttl: Duration,
    /// Connection tests: their timeout, where they may connect (`credvault_probe::policy`) and
    /// how many may run at once; beyond the server's bound a test is a `503`, beyond the team's
    /// a `429`.
    pub probe: ProbeSettings,
    /// Connection tests each principal may start, on top of the general rate limit; `None`
    /// means no limit of its own. Over it a test is a `429`.
    pub probe_rate_limit: Option<RateLimit>,
    /// The addresses this server listens on, which connection tests never connect to.
    /// [`crate::server`] adds its listener's address itself.
    pub listen_addresses: Vec<SocketAddr>,
    /// Requests each principal (or, without a token, each peer address) may send; `None` means
    /// no limit. See [`crate::throttle`].
    pub rate_limit: Option<RateLimit>,
    /// Requests handled at once before new ones are answered `503` at once; `0` means no bound.
    /// Every path counts, the operational ones included.
    pub max_in_flight: usize,
    /// Requests one principal (or, without a valid token, one client address) may have in
    /// flight at once; more are answered `429` with `Retry-After: 1`. `0` means no bound.
    pub max_in_flight_per_client: usize,
    /// How long after its head a request's body may take to arrive; a body still incomplete
    /// then is answered `408` and the connection is closed.
    pub body_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client address of a request from
    /// one of them is the rightmost address in that header that is not a trusted proxy.
    pub trusted_proxies: Vec<IpNet>,
    /// Token requests (`POST /api/v1/auth/token`) per `client_id`; `None` means no limit.
    pub token_rate_limit: Option<RateLimit>,
    /// How long a `/readyz` answer is reused before the database is pinged again.
    pub readiness_ttl: Duration,
    /// The web console's sessions (see [`crate::console`]).
    pub console: ConsoleSettings,
    /// When OAuth tokens are refreshed (on use, and by the upkeep worker), and the rules after a
    /// failure.
    pub refresh: RefreshSettings,
    /// The base URL browsers reach this server at (`https://vault.example.com`, no trailing
    /// slash); an OAuth connect's redirect URI is this plus `/api/v1/oauth/callback`. `None`:
    /// [`crate::server`] sets `http://{its listener's address}`.
    pub public_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_cache_ttl: Duration::from_secs(5),
            access_token_ttl: Duration::from_secs(3600),
            probe: ProbeSettings::default(),
            probe_rate_limit: RateLimit::per_second(1, 10),
            listen_addresses: Vec::new(),
            rate_limit: RateLimit::per_second(100, 200),
            max_in_flight: 512,
            max_in_flight_per_client: 32,
            body_timeout: Duration::from_secs(10),
            trusted_proxies: Vec::new(),
            token_rate_limit: RateLimit::per_minute(60),
            readiness_ttl: Duration::from_secs(1),
            console: ConsoleSettings::default(),
            refresh: RefreshSettings::default(),
            public_url: None,
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
    /// Rate limiters and the in-flight bound.
    pub throttle: Arc<Throttle>,
    /// The cached answer of `/readyz`.
    pub readiness: Arc<Readiness>,
    /// Where connection tests run, within their limits.
    pub probes: ProbeExecutor,
    /// Refreshes OAuth tokens (a use of a credential whose token is about to expire, and the
    /// upkeep worker); `None` when no token endpoint is configured, and then uses release the
    /// stored token as it is.
    pub refresher: Option<Arc<Refresher>>,
    /// The upkeep worker's counters, for `/metrics`.
    pub upkeep_metrics: Arc<UpkeepMetrics>,
    /// Tunables.
    pub settings: Settings,
}

impl AppState {
    /// Builds the state with fresh metrics and an empty token cache.
    pub fn new(store: Store, key_ring: KeyRing, settings: Settings) -> Self {
        let cache_ttl = settings.token_cache_ttl.min(MAX_TOKEN_CACHE_TTL);
        Self {
            store,
            key_ring: Arc::new(key_ring),
            token_cache: Arc::new(TokenCache::new(settings.token_cache_ttl)),
            membership_cache: Arc::new(MembershipCache::new(cache_ttl)),
            metrics: Arc::new(Metrics::default()),
            throttle: Arc::new(Throttle::new(&settings)),
            readiness: Arc::new(Readiness::new(settings.readiness_ttl)),
            probes: ProbeExecutor::new(&settings.probe),
            refresher: None,
            upkeep_metrics: Arc::new(UpkeepMetrics::default()),
            settings,
        }
    }

    /// This state with OAuth tokens refreshed through `endpoint`, claiming as a holder unique
    /// to this state. A claim lasts twice the connection-test timeout plus a margin (token
    /// requests share that timeout), and a use waits as long for another instance's refresh.
    pub fn with_token_endpoint(mut self, endpoint: Arc<dyn TokenEndpoint>) -> Self {
        let timeout = self.settings.probe.timeout;
        let lease = timeout * 2 + Duration::from_secs(5);
        self.refresher = Some(Arc::new(Refresher::new(
            endpoint,
            self.settings.refresh,
            format!("credvault-{}", uuid::Uuid::now_v7()),
            lease,
            lease,
        )));
        self
    }

    /// The redirect URI of this server's OAuth connects: the public URL plus the callback path.
    pub fn oauth_redirect_uri(&self) -> String {
        let base = self
            .settings
            .public_url
            .as_deref()
            .unwrap_or("http://127.0.0.1");
        format!(
            "{}{}",
            base.trim_end_matches('/'),
            credvault_domain::oauth_connect::CALLBACK_PATH
        )
    }

    /// The outbound policy of this server's connection tests.
    pub fn probe_policy(&self) -> ProbePolicy {
        ProbePolicy::new(&self.settings.probe, &self.settings.listen_addresses)
    }
}
