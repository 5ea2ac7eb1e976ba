//! Configuration: every setting is a flag and an environment variable of the same meaning, so
//! `credvault --help` is the configuration reference.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::TimeDelta;
use clap::Args;
use credvault_api::throttle::RateLimit;
use credvault_crypto::{KeyRing, generate_master_key};
use credvault_domain::refresh::RefreshSettings;
use credvault_persistence::{SqliteSynchronous, StoreOptions};
use credvault_probe::IpNet;
use credvault_usecases::upkeep::RoundLimits;

/// Settings shared by every command.
#[derive(Debug, Args)]
pub struct Config {
    /// Database: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://credvault.db"
    )]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: String,

    /// Master keys as `id:base64key[,id:base64key…]` (32-byte keys); the first one is active.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_MASTER_KEYS",
        hide_env_values = true
    )]
    pub master_keys: Option<MasterKeys>,

    /// File holding the master keys (same format) when CREDVAULT_MASTER_KEYS is unset. Default:
    /// `credvault.key` beside the SQLite file, created (mode 0600) with a warning on first run.
    #[arg(long, global = true, env = "CREDVAULT_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// Database connections in the pool (SQLite always uses one writer connection).
    #[arg(long, global = true, env = "CREDVAULT_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,

    /// How long a request waits for a database connection before answering 503, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_DB_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub db_timeout_ms: u64,

    /// SQLite only: `full` syncs every commit to disk before answering, so an acknowledged write
    /// survives a power loss; `normal` syncs at checkpoints only (faster writes; a power loss
    /// or kernel crash can lose the last commits, a killed process cannot).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_SQLITE_SYNCHRONOUS",
        default_value = "full"
    )]
    pub sqlite_synchronous: SqliteSynchronous,

    /// HTTP worker threads (default: one per core).
    #[arg(long, global = true, env = "CREDVAULT_WORKERS")]
    pub workers: Option<usize>,

    /// How long an authenticated token is remembered before the database is asked again, in
    /// seconds, at most 30 (0 disables the cache). Keep it short: a revoked token works until it
    /// expires here (never past the token's own expiry).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_TOKEN_CACHE_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(0..=30)
    )]
    pub token_cache_seconds: u64,

    /// How long an access token issued to a service account by `POST /api/v1/auth/token` is
    /// valid, in seconds (its `expires_in`).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_ACCESS_TOKEN_SECONDS",
        default_value_t = 3600
    )]
    pub access_token_seconds: u64,

    /// Requests per second each principal may send on average (without a valid token: each
    /// client address). Over the limit the answer is 429 with Retry-After. 0 disables the limit.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_RATE_LIMIT_PER_SECOND",
        default_value_t = 100
    )]
    pub rate_limit_per_second: u32,

    /// Requests a principal (or client address) may send at once after being idle, on top of the
    /// per-second rate (0: the same as the rate).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_RATE_LIMIT_BURST",
        default_value_t = 200
    )]
    pub rate_limit_burst: u32,

    /// Requests handled at once; beyond it new requests are answered 503 with Retry-After: 1
    /// instead of queueing. 0 disables the bound.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_MAX_IN_FLIGHT",
        default_value_t = 512
    )]
    pub max_in_flight: usize,

    /// Requests one principal (without a valid token: one client address) may have in flight
    /// at once; more are answered 429 with Retry-After: 1, so that nobody holds the whole
    /// CREDVAULT_MAX_IN_FLIGHT with slow requests. 0 disables the bound.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_MAX_IN_FLIGHT_PER_CLIENT",
        default_value_t = 32
    )]
    pub max_in_flight_per_client: usize,

    /// How long a request body may take to arrive after the request head, in seconds; a body
    /// still incomplete then is answered 408 and the connection closed.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_BODY_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub body_timeout_seconds: u64,

    /// The base URL browsers and OAuth providers reach this server at, such as
    /// `https://vault.example.com` (behind a proxy, the proxy's). An OAuth connect's redirect URI
    /// is this plus `/api/v1/oauth/callback`; register that URI with the provider's app.
    /// Default: `http://` and the bound address.
    #[arg(long, global = true, env = "CREDVAULT_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// The server is reached over HTTPS through a proxy that terminates TLS: the web console's
    /// session cookie is then marked Secure (it always is when this server itself speaks TLS).
    #[arg(long, global = true, env = "CREDVAULT_CONSOLE_BEHIND_TLS")]
    pub console_behind_tls: bool,

    /// Reverse proxies (CIDR, comma-separated) whose X-Forwarded-For is believed: behind them
    /// the client address (for rate limits) is the rightmost X-Forwarded-For address that is
    /// not a trusted proxy. Default: none, the TCP peer is the client.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Token requests (POST /api/v1/auth/token) per minute for each client_id, known or not;
    /// over it the answer is 429 with Retry-After. 0 disables the limit.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_TOKEN_REQUESTS_PER_MINUTE",
        default_value_t = 60
    )]
    pub token_requests_per_minute: u32,

    /// How long a shutdown (SIGTERM, SIGINT) waits for in-flight requests, in seconds.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_SHUTDOWN_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub shutdown_timeout_seconds: u64,

    /// How long a connection test (`POST …/test`) may take before it answers `timeout`, in
    /// seconds.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub probe_timeout_seconds: u64,

    /// Networks (CIDR, comma-separated) that connection tests may connect to; empty: every
    /// public address that is not denied. Loopback, link-local, private (RFC 1918, ULA) and
    /// other special ranges are refused unless a network here names them or a part of them,
    /// e.g. `10.20.0.0/16` (and `0.0.0.0/0,::/0` to keep public addresses too). See
    /// docs/SECURITY.md.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_ALLOW",
        value_delimiter = ','
    )]
    pub probe_allow: Vec<IpNet>,

    /// Networks (CIDR, comma-separated) that connection tests never connect to, e.g. the
    /// addresses of other instances behind a load balancer. Wins over --probe-allow. The
    /// server's own listen address and its database's address are always refused.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_DENY",
        value_delimiter = ','
    )]
    pub probe_deny: Vec<IpNet>,

    /// Connection tests that may run at once on this server; more are answered 503 with
    /// Retry-After. Each running test holds a thread and a socket until its time limit.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_MAX_CONCURRENT",
        default_value_t = 32
    )]
    pub probe_max_concurrent: usize,

    /// Connection tests that may run at once for one team; more are answered 429 with
    /// Retry-After, so that one team cannot take every slot.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_MAX_PER_TEAM",
        default_value_t = 4
    )]
    pub probe_max_per_team: usize,

    /// Hosts (comma-separated names or IP addresses) whose OAuth token URLs may be plain
    /// `http`; every other token URL must be `https`. Empty by default. The host's addresses
    /// still go through --probe-allow and --probe-deny (a token server on loopback needs
    /// `127.0.0.1/32` there too). See docs/SECURITY.md.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_OAUTH_HTTP_HOSTS",
        value_delimiter = ','
    )]
    pub oauth_http_hosts: Vec<String>,

    /// Connection tests each principal may start per minute on average, on top of the general
    /// rate limit; over it the answer is 429 with Retry-After. 0 disables this limit.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_RATE_LIMIT_PER_MINUTE",
        default_value_t = 60
    )]
    pub probe_rate_limit_per_minute: u32,

    /// Connection tests a principal may start at once after being idle (0: one).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_RATE_LIMIT_BURST",
        default_value_t = 10
    )]
    pub probe_rate_limit_burst: u32,

    /// OAuth credentials: a use refreshes the access token first when it expires within this
    /// many seconds (or is missing).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_OAUTH_REFRESH_MARGIN_SECONDS",
        default_value_t = 300
    )]
    pub oauth_refresh_margin_seconds: u64,

    /// OAuth credentials: the upkeep worker refreshes tokens not refreshed for this many hours,
    /// so refresh tokens that providers expire when unused stay alive.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_OAUTH_IDLE_REFRESH_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u64).range(1..=8760)
    )]
    pub oauth_idle_refresh_hours: u64,

    /// Run the upkeep worker, which refreshes OAuth tokens before they expire (`false` to turn
    /// it off; uses still refresh on demand).
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_UPKEEP",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub upkeep: bool,

    /// Seconds between two rounds of the upkeep worker.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_UPKEEP_INTERVAL_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=86400)
    )]
    pub upkeep_interval_seconds: u64,

    /// Credentials the upkeep worker claims per round.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_UPKEEP_BATCH",
        default_value_t = 50,
        value_parser = clap::value_parser!(u64).range(1..=10000)
    )]
    pub upkeep_batch: u64,

    /// Token requests the upkeep worker sends at once.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_UPKEEP_CONCURRENCY",
        default_value_t = 4,
        value_parser = clap::value_parser!(u64).range(1..=64)
    )]
    pub upkeep_concurrency: u64,
}

/// The master key specification; `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKeys(String);

impl FromStr for MasterKeys {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKeys(••••)")
    }
}

impl Config {
    /// Pool settings from the flags.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.pool_size.max(1),
            connection_timeout: Duration::from_millis(self.db_timeout_ms.max(1)),
            sqlite_synchronous: self.sqlite_synchronous,
        }
    }

    /// The database URL without any password, for messages and logs.
    pub fn database_display(&self) -> String {
        redact_url(&self.database_url)
    }

    /// The SQLite file path, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.database_url
            .strip_prefix("sqlite://")
            .map(PathBuf::from)
    }

    /// When OAuth tokens are refreshed, from the flags (the backoff rules are the defaults).
    pub fn refresh_settings(&self) -> RefreshSettings {
        let margin = i64::try_from(self.oauth_refresh_margin_seconds).unwrap_or(i64::MAX);
        let idle = i64::try_from(self.oauth_idle_refresh_hours).unwrap_or(24);
        RefreshSettings {
            margin: TimeDelta::try_seconds(margin).unwrap_or(TimeDelta::minutes(5)),
            idle_interval: TimeDelta::try_hours(idle).unwrap_or(TimeDelta::hours(24)),
            ..RefreshSettings::default()
        }
    }

    /// The pause between two rounds of the upkeep worker.
    pub fn upkeep_interval(&self) -> Duration {
        Duration::from_secs(self.upkeep_interval_seconds.max(1))
    }

    /// The bounds of one round of the upkeep worker.
    pub fn upkeep_limits(&self) -> RoundLimits {
        RoundLimits {
            batch: usize::try_from(self.upkeep_batch).unwrap_or(50),
            concurrency: usize::try_from(self.upkeep_concurrency).unwrap_or(4),
        }
    }

    /// The per-principal rate limit of connection tests, `None` when disabled.
    pub fn probe_rate_limit(&self) -> Option<RateLimit> {
        let per_minute = NonZeroU32::new(self.probe_rate_limit_per_minute)?;
        Some(RateLimit {
            burst: NonZeroU32::new(self.probe_rate_limit_burst).unwrap_or(NonZeroU32::MIN),
            replenish_interval: Duration::from_secs(60) / per_minute.get(),
        })
    }

    /// The addresses of the PostgreSQL database (none for SQLite), resolved now, for the
    /// connection tests' outbound policy: a test never connects to the vault's own database.
    pub fn database_addresses(&self) -> Vec<SocketAddr> {
        let mut addresses = Vec::new();
        for (host, port) in database_endpoints(&self.database_url) {
            match (host.as_str(), port).to_socket_addrs() {
                Ok(resolved) => addresses.extend(resolved),
                Err(error) => log::warn!(
                    "the database host {host} could not be resolved for the connection tests' \
                     policy: {error}"
                ),
            }
        }
        addresses
    }

    /// Loads the key ring: from CREDVAULT_MASTER_KEYS, else from the key file, creating a
    /// development key beside an SQLite database on first run. Returns the ring and whether a
    /// new key file was created.
    pub fn load_key_ring(&self) -> Result<(KeyRing, Option<PathBuf>)> {
        if let Some(MasterKeys(spec)) = &self.master_keys {
            let ring = KeyRing::parse(spec).context("CREDVAULT_MASTER_KEYS is invalid")?;
            return Ok((ring, None));
        }
        let path = match (&self.master_key_file, self.sqlite_path()) {
            (Some(path), _) => path.clone(),
            (None, Some(database)) => database
                .parent()
                .map(|dir| dir.join("credvault.key"))
                .unwrap_or_else(|| PathBuf::from("credvault.key")),
            (None, None) => bail!(
                "no master key: set CREDVAULT_MASTER_KEYS (generate one with `credvault keys generate --id k1`) \
                 or CREDVAULT_MASTER_KEY_FILE; a key is created automatically only for SQLite"
            ),
        };
        if path.exists() {
            let spec = fs::read_to_string(&path)
                .with_context(|| format!("reading the master key file {}", path.display()))?;
            let spec = spec.split_whitespace().collect::<Vec<_>>().join(",");
            let ring = KeyRing::parse(&spec)
                .with_context(|| format!("the master key file {} is invalid", path.display()))?;
            return Ok((ring, None));
        }
        if self.master_key_file.is_some() {
            bail!("the master key file {} does not exist", path.display());
        }
        let spec = format!("dev1:{}", generate_master_key());
        write_private_file(&path, &format!("{spec}\n"))?;
        log::warn!(
            "created a development master key in {}; keep it with the database (without it the \
             stored secrets cannot be read) and use CREDVAULT_MASTER_KEYS in production",
            path.display()
        );
        let ring = KeyRing::parse(&spec).context("the generated master key is invalid")?;
        Ok((ring, Some(path)))
    }
}

/// A `--public-url`: an absolute `http` or `https` URL with a host and no query, fragment or user
/// information; a trailing `/` is dropped.
fn parse_public_url(text: &str) -> std::result::Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or("must be an absolute http or https URL, such as https://vault.example.com")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || rest.contains(['?', '#']) {
        return Err("must name a host, without user information, query or fragment".to_owned());
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace".to_owned());
    }
    Ok(trimmed.to_owned())
}

fn write_private_file(path: &Path, contents: &str) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the master key file {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the master key file {}", path.display()))
}

/// The TCP `(host, port)` pairs of a `postgres://` or `postgresql://` URL: every host of the
/// authority (`a,b:5433,[::1]`) and the `host`/`hostaddr`/`port` query parameters; Unix-domain
/// socket directories are left out. Empty for any other URL.
pub fn database_endpoints(url: &str) -> Vec<(String, u16)> {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Vec::new();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let query = tail.split_once('?').map_or("", |(_, query)| query);
    let parameter = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
            .next_back()
    };
    let default_port = parameter("port")
        .and_then(|port| port.parse().ok())
        .unwrap_or(5432);
    let mut endpoints = Vec::new();
    for host in hosts.split(',').filter(|host| !host.is_empty()) {
        let (name, port) = match host.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((name, after)) => (name, after.strip_prefix(':')),
                None => continue,
            },
            None => match host.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            },
        };
        let port = port
            .and_then(|port| port.parse().ok())
            .unwrap_or(default_port);
        endpoints.push((name.to_owned(), port));
    }
    for name in ["host", "hostaddr"] {
        if let Some(value) = parameter(name) {
            for host in value.split(',') {
                endpoints.push((host.to_owned(), default_port));
            }
        }
    }
    endpoints
        .retain(|(host, _)| !host.is_empty() && !host.starts_with('/') && !host.starts_with('%'));
    endpoints
}

/// The connection parameters whose values are masked: libpq's password, the password of the
/// client key, and the path of the password file.
const SECRET_PARAMETERS: [&str; 3] = ["password", "sslpassword", "passfile"];

/// The mask that replaces a secret part of a database URL.
const MASK: &str = "••••";

/// Removes every password from a database URL: the one in `scheme://user:password@host/…` and
/// the values of the `password`, `sslpassword` and `passfile` query parameters (any case). A
/// `key=value` connection string (no `://`) has the same keywords masked.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_keywords(url);
    };
    // libpq ends the user information at the first `/`, so a `?` or `#` before the `@` still
    // belongs to the password.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, after_authority) = rest.split_at(authority_end);
    let (userinfo, host_and_rest) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!(":{MASK}")
            } else {
                String::new()
            };
            (
                format!("{user}{masked}@"),
                format!("{host}{after_authority}"),
            )
        }
        None => (String::new(), rest.to_owned()),
    };
    let redacted = match host_and_rest.split_once('?') {
        Some((before_query, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            let query = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_secret_parameter(name) => format!("{name}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("&");
            match fragment {
                Some(fragment) => format!("{before_query}?{query}#{fragment}"),
                None => format!("{before_query}?{query}"),
            }
        }
        None => host_and_rest,
    };
    format!("{scheme}://{userinfo}{redacted}")
}

/// Whether a query parameter name (perhaps percent-encoded) names a secret.
fn is_secret_parameter(name: &str) -> bool {
    let decoded = name.replace("%5F", "_").replace("%5f", "_");
    SECRET_PARAMETERS
        .iter()
        .any(|secret| decoded.eq_ignore_ascii_case(secret))
}

/// Masks the secret keywords' values of a `key=value …` connection string (values quoted with
/// `'…'` included).
fn redact_keywords(conninfo: &str) -> String {
    let mut redacted = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(equals) = rest.find('=') {
        let (before, after) = rest.split_at(equals);
        let keyword = before
            .trim_end()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default();
        redacted.push_str(before);
        redacted.push('=');
        let value = &after[1..];
        let spaces = value.len() - value.trim_start().len();
        redacted.push_str(&value[..spaces]);
        let value = &value[spaces..];
        let value_end = if let Some(quoted) = value.strip_prefix('\'') {
            let mut end = None;
            let mut escaped = false;
            for (index, character) in quoted.char_indices() {
                match character {
                    '\\' if !escaped => escaped = true,
                    '\'' if !escaped => {
                        end = Some(index + 2);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            end.unwrap_or(value.len())
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        if is_secret_parameter(keyword) {
            redacted.push_str(MASK);
        } else {
            redacted.push_str(&value[..value_end]);
        }
        rest = &value[value_end..];
    }
    redacted.push_str(rest);
    redacted
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use clap::Parser;
    use credvault_persistence::SqliteSynchronous;

    use super::{Config, redact_url};

    /// The settings alone, as the binary's commands flatten them.
    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn a_token_cache_over_30_seconds_is_refused_at_start_up() {
        let parsed = Flags::try_parse_from(["credvault", "--token-cache-seconds", "30"]).unwrap();
        assert_eq!(parsed.config.token_cache_seconds, 30);
        let error =
            Flags::try_parse_from(["credvault", "--token-cache-seconds", "31"]).unwrap_err();
        assert!(error.to_string().contains("token-cache-seconds"), "{error}");
    }

    #[test]
    fn a_public_url_is_checked_and_loses_its_trailing_slash() {
        let parsed =
            Flags::try_parse_from(["credvault", "--public-url", "https://vault.example.com/"])
                .unwrap();
        assert_eq!(
            parsed.config.public_url.as_deref(),
            Some("https://vault.example.com")
        );
        for bad in [
            "vault.example.com",
            "https://",
            "https://u@h",
            "https://h/?x=1",
            "ftp://h",
        ] {
            assert!(
                Flags::try_parse_from(["credvault", "--public-url", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(
            Flags::try_parse_from(["credvault"])
                .unwrap()
                .config
                .public_url
                .is_none()
        );
    }

    #[test]
    fn oauth_http_hosts_are_empty_by_default_and_comma_separated() {
        let default = Flags::try_parse_from(["credvault"]).unwrap();
        assert!(default.config.oauth_http_hosts.is_empty());
        let parsed =
            Flags::try_parse_from(["credvault", "--oauth-http-hosts", "127.0.0.1,idp.internal"])
                .unwrap();
        assert_eq!(
            parsed.config.oauth_http_hosts,
            ["127.0.0.1", "idp.internal"]
        );
    }

    #[test]
    fn a_body_timeout_of_zero_is_refused() {
        assert!(Flags::try_parse_from(["credvault", "--body-timeout-seconds", "0"]).is_err());
    }

    #[test]
    fn sqlite_commits_are_synced_unless_normal_is_asked_for() {
        let default = Flags::try_parse_from(["credvault"]).map(|s| s.config.store_options());
        assert_eq!(
            default.ok().map(|o| o.sqlite_synchronous),
            Some(SqliteSynchronous::Full)
        );
        let normal = Flags::try_parse_from(["credvault", "--sqlite-synchronous", "normal"])
            .map(|s| s.config.store_options());
        assert_eq!(
            normal.ok().map(|o| o.sqlite_synchronous),
            Some(SqliteSynchronous::Normal)
        );
        assert!(Flags::try_parse_from(["credvault", "--sqlite-synchronous", "off"]).is_err());
    }

    #[test]
    fn passwords_are_removed_from_database_urls() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/vault"),
            "postgres://app:••••@db:5432/vault"
        );
        assert_eq!(
            redact_url("postgres://app@db/vault"),
            "postgres://app@db/vault"
        );
        assert_eq!(redact_url("sqlite://credvault.db"), "sqlite://credvault.db");
    }

    #[test]
    fn password_query_parameters_are_masked() {
        assert_eq!(
            redact_url("postgres://db/vault?user=app&password=topsecret-pw&sslmode=require"),
            "postgres://db/vault?user=app&password=••••&sslmode=require"
        );
        assert_eq!(
            redact_url(
                "postgresql://app:pw1@db?PassWord=pw2&sslpassword=pw3&passfile=/etc/pgpass#x"
            ),
            "postgresql://app:••••@db?PassWord=••••&sslpassword=••••&passfile=••••#x"
        );
        assert_eq!(
            redact_url("postgres://db/vault?application_name=password"),
            "postgres://db/vault?application_name=password"
        );
        // libpq reads user information up to the first `/`: a `?` before the `@` is password.
        assert_eq!(
            redact_url("postgres://app:p?w#d@db/vault"),
            "postgres://app:••••@db/vault"
        );
    }

    #[test]
    fn key_value_connection_strings_are_masked() {
        assert_eq!(
            redact_url("host=db user=app password=topsecret dbname=vault"),
            "host=db user=app password=•••• dbname=vault"
        );
        assert_eq!(
            redact_url("host=db password = 'top secret \\' pw' sslpassword=x"),
            "host=db password = •••• sslpassword=••••"
        );
    }
}

#[cfg(test)]
mod database_endpoint_tests {
    use super::database_endpoints;

    fn endpoints(url: &str) -> Vec<(String, u16)> {
        database_endpoints(url)
    }

    #[test]
    fn the_hosts_and_ports_of_a_postgres_url_are_found() {
        let pair = |host: &str, port| (host.to_owned(), port);
        assert_eq!(
            endpoints("postgres://app:pw@db.internal:6543/vault"),
            [pair("db.internal", 6543)]
        );
        assert_eq!(
            endpoints("postgresql://127.0.0.1/vault"),
            [pair("127.0.0.1", 5432)]
        );
        assert_eq!(
            endpoints("postgres://u@a,b:5433,[::1]:5434/db?port=6000"),
            [pair("a", 6000), pair("b", 5433), pair("::1", 5434)]
        );
        assert_eq!(
            endpoints("postgres:///vault?host=10.0.0.5&port=5433"),
            [pair("10.0.0.5", 5433)]
        );
        assert_eq!(
            endpoints("postgres:///vault?host=/var/run/postgresql"),
            Vec::<(String, u16)>::new()
        );
        assert!(endpoints("sqlite://credvault.db").is_empty());
    }
}
