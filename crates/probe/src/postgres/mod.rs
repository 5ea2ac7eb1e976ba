//! The PostgreSQL connection test: from the credential's fields (or its connection string) to a
//! checked libpq connection string ([`conninfo::Conninfo`]), then connect, authenticate, run
//! `SELECT 1`, and classify what went wrong ([`classify::classify`]).
//!
//! A stored `connection_string` wins over the separate fields. It is parsed here (URI or
//! keyword/value form, as libpq reads them) and rebuilt, never passed through: the host is
//! resolved once and the checked addresses are given to libpq as `hostaddr`, so libpq never
//! resolves the name itself; options that would make libpq read files of this server or use a
//! local socket are refused (`refused_by_policy`), and a connection string naming several hosts
//! is not supported.
//!
//! Whatever the connection string says, [`connect`] adds the keywords that keep the test from
//! borrowing the server's own identity: no password file, no client certificate, no GSSAPI
//! encryption; and `tcp_user_timeout`. libpq is driven without blocking (`libpq`, the crate's
//! one `unsafe` module), so the test never outlives its deadline.
//!
//! ```
//! use std::time::Duration;
//! use credvault_domain::secret::SecretValue;
//! use credvault_probe::TestCode;
//! use credvault_probe::postgres::{self, conninfo::Conninfo};
//!
//! let mut conninfo = Conninfo::new();
//! conninfo.set("host", "127.0.0.1").unwrap();
//! conninfo.set("port", "1").unwrap();
//! conninfo.set("user", "etl").unwrap();
//! conninfo.set_secret("password", SecretValue::from("it's a secret")).unwrap();
//! let failure = postgres::connect(&conninfo, Duration::from_secs(2)).unwrap_err();
//! assert_eq!(failure.code, TestCode::Unreachable);
//! assert!(!failure.message.contains("secret"));
//! ```

pub mod classify;
pub(crate) mod connection_string;
pub mod conninfo;
mod libpq;

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;

use std::ffi::CString;
use std::net::{IpAddr, SocketAddr};
use std::sync::Once;
use std::time::{Duration, Instant};

use credvault_domain::schema::fields;
use credvault_domain::secret::SecretValue;
use credvault_domain::validate::ValidationErrors;

use crate::policy::ProbePolicy;
use crate::scrub::scrub;
use crate::{Failure, Fields, TestCode, remaining};

use self::classify::{classify, generic_message};
use self::connection_string::ConnParams;
use self::conninfo::Conninfo;

pub use self::libpq::version as libpq_version;

/// The default PostgreSQL port.
const DEFAULT_PORT: u16 = 5432;

/// At most this many resolved addresses are tried (all of them are checked).
const MAX_ADDRESSES: usize = 4;

/// Options of a connection string that are passed on to libpq. Anything else is refused: the
/// file options (`sslrootcert`, `sslcert`, `sslkey`, `passfile`, `service`, …) would read files
/// of this server, and an unknown option may be one of them in a later libpq.
///
/// `options` (server settings sent at start-up, `-c name=value`) is refused too: it would let a
/// caller set server GUCs on any server the test reaches.
const PASSED_OPTIONS: [&str; 16] = [
    "dbname",
    "user",
    "sslmode",
    "application_name",
    "fallback_application_name",
    "client_encoding",
    "channel_binding",
    "target_session_attrs",
    "sslcompression",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
];

/// Options of a connection string that the test sets itself and so ignores (`require_auth`
/// comes from `extra_data.require_auth`).
const IGNORED_OPTIONS: [&str; 4] = [
    "connect_timeout",
    "gssencmode",
    "require_auth",
    "tcp_user_timeout",
];

/// What a PostgreSQL test connects with.
#[derive(Clone, Debug)]
pub struct PostgresTarget {
    source: Source,
    /// Whether the login must be SCRAM (`extra_data.require_auth` absent or `scram-sha-256`);
    /// `false` when the credential opted in to `any`.
    scram_only: bool,
}

/// Where the connection parameters come from. `Debug` masks the secrets.
#[derive(Clone)]
enum Source {
    Fields {
        host: String,
        port: u16,
        database: Option<String>,
        username: String,
        password: SecretValue,
        ssl_mode: Option<String>,
    },
    ConnectionString(SecretValue),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Fields { host, port, .. } => f
                .debug_struct("Fields")
                .field("host", host)
                .field("port", port)
                .finish_non_exhaustive(),
            Source::ConnectionString(_) => f.write_str("ConnectionString(••••)"),
        }
    }
}

impl PostgresTarget {
    /// Reads a `user_password` credential: its `connection_string` if stored, else `host`,
    /// `port`, `database`, `username`, `password` and `ssl_mode`.
    pub(crate) fn from_fields(mut reader: Fields<'_>) -> Result<Self, ValidationErrors> {
        let scram_only = reader.text(fields::REQUIRE_AUTH).as_deref() != Some("any");
        if let Some(connection_string) = reader.secret(fields::CONNECTION_STRING) {
            return reader.finish(Self {
                source: Source::ConnectionString(connection_string),
                scram_only,
            });
        }
        let host = reader.required_text(fields::HOST);
        let port = reader.port(DEFAULT_PORT);
        let username = reader.required_text(fields::USERNAME);
        let password = reader.required_secret(fields::PASSWORD);
        let source = Source::Fields {
            host,
            port,
            database: reader
                .text(fields::DATABASE)
                .filter(|name| !name.is_empty()),
            username,
            password,
            ssl_mode: reader.text(fields::SSL_MODE),
        };
        reader.finish(Self { source, scram_only })
    }

    /// The secrets of the test.
    pub(crate) fn secrets(&self) -> Vec<SecretValue> {
        match &self.source {
            Source::Fields { password, .. } => vec![password.clone()],
            Source::ConnectionString(text) => {
                let mut secrets = vec![text.clone()];
                if let Ok(ConnParams {
                    password: Some(password),
                    ..
                }) = connection_string::parse(text.expose())
                {
                    secrets.push(password);
                }
                secrets
            }
        }
    }
}

/// Connects, authenticates and runs `SELECT 1`; the success message says where and as whom.
pub(crate) fn test(
    target: &PostgresTarget,
    policy: &ProbePolicy,
    deadline: Instant,
) -> Result<String, Failure> {
    let params = match &target.source {
        Source::Fields {
            host,
            port,
            database,
            username,
            password,
            ssl_mode,
        } => {
            let mut options = vec![("user".to_owned(), username.clone())];
            if let Some(database) = database {
                options.push(("dbname".to_owned(), database.clone()));
            }
            if let Some(ssl_mode) = ssl_mode {
                options.push(("sslmode".to_owned(), ssl_mode.clone()));
            }
            ConnParams {
                host: Some(host.clone()),
                hostaddr: None,
                port: Some(port.to_string()),
                options,
                password: Some(password.clone()),
            }
        }
        Source::ConnectionString(text) => connection_string::parse(text.expose())
            .map_err(|error| Failure::new(TestCode::Error, error.to_string()))?,
    };
    let auth = AuthRule {
        scram_only: target.scram_only,
        libpq_version: libpq_version(),
    };
    let (conninfo, place) = checked_conninfo(params, policy, auth)?;
    let timeout = remaining(deadline, "connecting to PostgreSQL")?;
    connect(&conninfo, timeout)?;
    Ok(format!(
        "connected to PostgreSQL at {place} and ran SELECT 1"
    ))
}

/// The first libpq version (16) with the `require_auth` keyword, as [`libpq_version`] counts.
pub const REQUIRE_AUTH_SINCE: i32 = 160_000;

/// Whether a libpq of this version (as [`libpq_version`] reports it) knows `require_auth`, the
/// keyword that makes it refuse authentication methods the server asks for (cleartext, MD5).
pub fn supports_require_auth(libpq_version: i32) -> bool {
    libpq_version >= REQUIRE_AUTH_SINCE
}

/// Connects with `conninfo`, authenticates and runs `SELECT 1`, giving up at `timeout`; a
/// failure's message is libpq's, whitespace collapsed and without any secret of `conninfo`.
///
/// Blocking: call it off the async workers. libpq is driven without blocking (its
/// `PQconnectStart`/`PQconnectPoll` and `PQsendQuery` API, with `poll` on its socket bounded by
/// what is left of `timeout`), so a server that accepts the login and then never answers is
/// left at the deadline: the connection and its socket are closed and the call returns
/// `Timeout`. No cancel request is sent: `PQcancel` would open a second connection without any
/// deadline to the same, possibly stalled, server.
pub fn connect(conninfo: &Conninfo, timeout: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    let text = conninfo.render(timeout);
    let secrets: Vec<&SecretValue> = conninfo.secrets().collect();
    let failure = |code: TestCode, message: &str| {
        Failure::new(code, scrub(message, &secrets, generic_message(code)))
    };
    // Sized up front (the NUL included), so building the C string does not reallocate and leave
    // a copy of the password behind; wiped below.
    let mut bytes = Vec::with_capacity(text.expose().len() + 1);
    bytes.extend_from_slice(text.expose().as_bytes());
    drop(text);
    let c_text = match CString::new(bytes) {
        Ok(c_text) => c_text,
        Err(error) => {
            wipe(error.into_vec());
            return Err(failure(
                TestCode::Error,
                "the connection settings contain a NUL character",
            ));
        }
    };
    let result = libpq::connect_and_query(&c_text, deadline);
    wipe(c_text.into_bytes_with_nul());
    result.map_err(|error| match error {
        libpq::Error::Deadline { step } => failure(
            TestCode::Timeout,
            &format!("no answer in time while {step}"),
        ),
        libpq::Error::Connect(message) => failure(classify(&message), &message),
        libpq::Error::Query(message) => failure(
            TestCode::Error,
            &format!("connected, but SELECT 1 failed: {message}"),
        ),
    })
}

/// Overwrites a buffer that held the connection string.
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// Which authentication the test accepts, and whether the linked libpq can enforce it.
#[derive(Clone, Copy, Debug)]
struct AuthRule {
    /// Refuse every authentication method but SCRAM (the default).
    scram_only: bool,
    /// `PQlibVersion()` of the linked libpq.
    libpq_version: i32,
}

impl AuthRule {
    /// The `require_auth` value to set, if any: `scram-sha-256` unless the credential opted in
    /// to `any`, and only where libpq has the keyword (16 and later); older ones are told about
    /// once in the log.
    fn require_auth(self) -> Option<&'static str> {
        if !self.scram_only {
            return None;
        }
        if supports_require_auth(self.libpq_version) {
            return Some("scram-sha-256");
        }
        static TOLD: Once = Once::new();
        TOLD.call_once(|| {
            log::warn!(
                "the linked libpq (version {}) has no require_auth: PostgreSQL connection tests \
                 cannot refuse a server that asks for the password in clear or as MD5; build \
                 with the bundled-libpq feature (libpq 18) to refuse them",
                self.libpq_version
            );
        });
        None
    }
}

/// Checks the parameters against the policy and builds the libpq connection string with the
/// checked addresses; also returns a description of the place (`user@host:port/database`).
fn checked_conninfo(
    params: ConnParams,
    policy: &ProbePolicy,
    auth: AuthRule,
) -> Result<(Conninfo, String), Failure> {
    let ConnParams {
        host,
        hostaddr,
        port,
        options,
        password,
    } = params;
    // The options first: a refused one needs no name resolution.
    let mut conninfo = Conninfo::new();
    let mut user = None;
    let mut database = None;
    for (keyword, value) in options {
        if IGNORED_OPTIONS.contains(&keyword.as_str()) {
            continue;
        }
        if !PASSED_OPTIONS.contains(&keyword.as_str()) {
            return Err(Failure::new(
                TestCode::RefusedByPolicy,
                format!(
                    "connection tests do not pass the option {keyword} to libpq; the options \
                     allowed are: host, hostaddr, port, password, {}",
                    PASSED_OPTIONS.join(", ")
                ),
            ));
        }
        match keyword.as_str() {
            "user" => user = Some(value.clone()),
            "dbname" => database = Some(value.clone()),
            _ => {}
        }
        set(&mut conninfo, &keyword, &value)?;
    }
    let port = match port.as_deref() {
        None | Some("") => DEFAULT_PORT,
        Some(text) if text.contains(',') => return Err(several_hosts()),
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| {
                Failure::new(
                    TestCode::Error,
                    "the port must be an integer from 1 to 65535",
                )
            })?,
    };
    let host = host.filter(|host| !host.is_empty());
    let hostaddr = hostaddr.filter(|hostaddr| !hostaddr.is_empty());
    if [&host, &hostaddr]
        .into_iter()
        .flatten()
        .any(|value| value.contains(','))
    {
        return Err(several_hosts());
    }
    let addresses = match (&host, &hostaddr) {
        (_, Some(hostaddr)) => {
            let ip: IpAddr = hostaddr
                .parse()
                .map_err(|_| Failure::new(TestCode::Error, "hostaddr must be an IP address"))?;
            let address = SocketAddr::new(ip, port);
            policy.check(address).map_err(|reason| {
                Failure::new(
                    TestCode::RefusedByPolicy,
                    format!("connection tests may not connect to {address}: {reason}"),
                )
            })?;
            vec![address]
        }
        (Some(host), None) if host.starts_with('/') || host.starts_with('@') => {
            return Err(Failure::new(
                TestCode::RefusedByPolicy,
                "connection tests do not use Unix-domain sockets of this server; name a TCP host",
            ));
        }
        (Some(host), None) => policy.resolve(host, port)?,
        (None, None) => {
            return Err(Failure::new(
                TestCode::RefusedByPolicy,
                "the connection string names no host, which would mean a local socket of this \
                 server; name a TCP host",
            ));
        }
    };
    let name = host
        .clone()
        .unwrap_or_else(|| addresses[0].ip().to_string());
    let tried: Vec<SocketAddr> = addresses.into_iter().take(MAX_ADDRESSES).collect();

    let hosts = vec![name.as_str(); tried.len()].join(",");
    let hostaddrs: Vec<String> = tried
        .iter()
        .map(|address| address.ip().to_string())
        .collect();
    set(&mut conninfo, "host", &hosts)?;
    set(&mut conninfo, "hostaddr", &hostaddrs.join(","))?;
    set(&mut conninfo, "port", &port.to_string())?;
    set(
        &mut conninfo,
        "application_name",
        "credvault connection test",
    )?;
    if let Some(methods) = auth.require_auth() {
        set(&mut conninfo, "require_auth", methods)?;
    }
    if let Some(password) = password {
        conninfo
            .set_secret("password", password)
            .map_err(|error| Failure::new(TestCode::Error, error.to_string()))?;
    }
    let user = user.unwrap_or_default();
    let database = database.unwrap_or_else(|| user.clone());
    let shown_host = if name.contains(':') {
        format!("[{name}]")
    } else {
        name
    };
    Ok((conninfo, format!("{user}@{shown_host}:{port}/{database}")))
}

fn set(conninfo: &mut Conninfo, keyword: &str, value: &str) -> Result<(), Failure> {
    conninfo
        .set(keyword, value)
        .map_err(|error| Failure::new(TestCode::RefusedByPolicy, error.to_string()))
}

fn several_hosts() -> Failure {
    Failure::new(
        TestCode::Error,
        "the connection string names several hosts; connection tests support one host",
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod checked_conninfo_tests {
    use super::*;
    use crate::{IpNet, ProbeSettings};

    fn params(text: &str) -> ConnParams {
        connection_string::parse(text).unwrap()
    }

    /// The rule of a credential that did not opt out, with libpq 18.
    const SCRAM_18: AuthRule = AuthRule {
        scram_only: true,
        libpq_version: 180_001,
    };

    #[test]
    fn require_auth_is_scram_unless_opted_out_and_only_where_libpq_has_it() {
        let text = "host=192.0.2.1 user=etl require_auth=password";
        let (conninfo, _) =
            checked_conninfo(params(text), &ProbePolicy::default(), SCRAM_18).unwrap();
        assert_eq!(conninfo.get("require_auth"), Some("scram-sha-256"));
        let opted_in = AuthRule {
            scram_only: false,
            ..SCRAM_18
        };
        let (conninfo, _) =
            checked_conninfo(params(text), &ProbePolicy::default(), opted_in).unwrap();
        assert_eq!(conninfo.get("require_auth"), None);
        for (version, expected) in [
            (150_014, None),
            (159_999, None),
            (160_000, Some("scram-sha-256")),
            (170_002, Some("scram-sha-256")),
        ] {
            let rule = AuthRule {
                scram_only: true,
                libpq_version: version,
            };
            let (conninfo, _) =
                checked_conninfo(params(text), &ProbePolicy::default(), rule).unwrap();
            assert_eq!(conninfo.get("require_auth"), expected, "libpq {version}");
        }
    }

    #[test]
    fn the_target_reads_the_opt_in_of_the_credential() {
        let secrets: credvault_domain::secret::SecretMap = [(
            "password".to_owned(),
            credvault_domain::secret::SecretValue::from("pw-1234"),
        )]
        .into_iter()
        .collect();
        for (extra, scram_only) in [
            (serde_json::json!({}), true),
            (serde_json::json!({"require_auth": "scram-sha-256"}), true),
            (serde_json::json!({"require_auth": "any"}), false),
        ] {
            let mut extra_data = serde_json::json!({"host": "192.0.2.1", "username": "etl"});
            extra_data
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let fields = Fields {
                extra_data: extra_data.as_object().unwrap(),
                secrets: &secrets,
                errors: ValidationErrors::new(),
            };
            let target = PostgresTarget::from_fields(fields).unwrap();
            assert_eq!(target.scram_only, scram_only, "{extra}");
        }
    }

    #[test]
    fn a_literal_host_becomes_host_and_hostaddr() {
        let (conninfo, place) = checked_conninfo(
            params("postgresql://etl:pw@192.0.2.10:6543/dw?sslmode=require"),
            &ProbePolicy::default(),
            SCRAM_18,
        )
        .unwrap();
        assert_eq!(conninfo.get("host"), Some("192.0.2.10"));
        assert_eq!(conninfo.get("hostaddr"), Some("192.0.2.10"));
        assert_eq!(conninfo.get("port"), Some("6543"));
        assert_eq!(conninfo.get("sslmode"), Some("require"));
        assert_eq!(conninfo.get("user"), Some("etl"));
        assert_eq!(conninfo.get("password"), None, "secret, not readable back");
        assert_eq!(place, "etl@192.0.2.10:6543/dw");
    }

    #[test]
    fn file_options_and_local_sockets_are_refused() {
        for text in [
            "host=192.0.2.1 sslrootcert=/etc/ssl/private/key.pem",
            "host=192.0.2.1 service=prod",
            "hostaddr=192.0.2.1 passfile=/root/.pgpass",
            "host=/var/run/postgresql user=postgres",
            "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
            "user=postgres dbname=x",
            "host=192.0.2.1 options='-c log_statement=all'",
            "postgresql://u@192.0.2.1/db?options=-csearch_path%3Dx",
        ] {
            let failure =
                checked_conninfo(params(text), &ProbePolicy::default(), SCRAM_18).unwrap_err();
            assert_eq!(
                failure.code,
                TestCode::RefusedByPolicy,
                "{text}: {failure:?}"
            );
        }
    }

    #[test]
    fn a_denied_hostaddr_is_refused_without_resolving_the_host() {
        let policy_settings = ProbeSettings {
            deny: vec!["10.0.0.0/8".parse::<IpNet>().unwrap()],
            ..ProbeSettings::default()
        };
        let policy = ProbePolicy::new(&policy_settings, &[]);
        let failure = checked_conninfo(
            params("host=db.example.invalid hostaddr=10.1.2.3"),
            &policy,
            SCRAM_18,
        )
        .unwrap_err();
        assert_eq!(failure.code, TestCode::RefusedByPolicy);
        assert!(failure.message.contains("10.0.0.0/8"), "{failure:?}");
    }

    #[test]
    fn several_hosts_are_not_supported() {
        let failure = checked_conninfo(
            params("postgresql://a.example:5432,b.example:5433/db"),
            &ProbePolicy::default(),
            SCRAM_18,
        )
        .unwrap_err();
        assert_eq!(failure.code, TestCode::Error);
    }

    #[test]
    fn connect_timeout_in_the_string_is_ignored() {
        let (conninfo, _) = checked_conninfo(
            params("host=192.0.2.10 connect_timeout=600 user=u"),
            &ProbePolicy::default(),
            SCRAM_18,
        )
        .unwrap();
        assert_eq!(conninfo.get("connect_timeout"), None);
    }
}
