//! Configuration: every setting is a flag and an environment variable of the same meaning, so
//! `credvault --help` is the configuration reference.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use credvault_api::probe::policy::IpNet;
use credvault_crypto::{KeyRing, generate_master_key};
use credvault_persistence::{SqliteSynchronous, StoreOptions};

/// Settings shared by every command.
#[derive(Debug, Args)]
pub struct Config {
    /// Database: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_DATABASE_URL",
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
    /// seconds (0 disables the cache). Keep it short: a revoked token works until it expires here.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_TOKEN_CACHE_SECONDS",
        default_value_t = 5
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
    /// address that is not denied. See docs/SECURITY.md.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_ALLOW",
        value_delimiter = ','
    )]
    pub probe_allow: Vec<IpNet>,

    /// Networks (CIDR, comma-separated) that connection tests never connect to, e.g.
    /// `127.0.0.0/8,10.0.0.0/8,169.254.0.0/16`. Wins over --probe-allow. The server's own listen
    /// address is always refused.
    #[arg(
        long,
        global = true,
        env = "CREDVAULT_PROBE_DENY",
        value_delimiter = ','
    )]
    pub probe_deny: Vec<IpNet>,
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

/// Removes the password from a `scheme://user:password@host/…` URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                ":••••"
            } else {
                ""
            };
            format!("{scheme}://{user}{masked}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use credvault_persistence::SqliteSynchronous;

    use super::{Config, redact_url};

    /// The settings alone, as the binary's commands flatten them.
    #[derive(Parser)]
    struct Settings {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn sqlite_commits_are_synced_unless_normal_is_asked_for() {
        let default = Settings::try_parse_from(["credvault"]).map(|s| s.config.store_options());
        assert_eq!(
            default.ok().map(|o| o.sqlite_synchronous),
            Some(SqliteSynchronous::Full)
        );
        let normal = Settings::try_parse_from(["credvault", "--sqlite-synchronous", "normal"])
            .map(|s| s.config.store_options());
        assert_eq!(
            normal.ok().map(|o| o.sqlite_synchronous),
            Some(SqliteSynchronous::Normal)
        );
        assert!(Settings::try_parse_from(["credvault", "--sqlite-synchronous", "off"]).is_err());
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
}
