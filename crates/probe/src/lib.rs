#![doc = include_str!("../README.md")]

pub mod connection;
pub mod executor;
pub mod oauth;
pub mod policy;
pub mod postgres;
pub mod scrub;
pub mod sftp;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use credvault_domain::credential::Credential;
use credvault_domain::schema::{Kind, Provider, fields};
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_domain::validate::ValidationErrors;
use serde_json::Value;

pub use crate::executor::ProbeExecutor;
pub use crate::oauth::OAuthClient;
pub use crate::policy::{IpNet, ProbePolicy};

/// The settings of connection tests: how long one may take, where it may connect, and how many
/// may run at once. The OAuth token client ([`OAuthClient`]) goes by the same settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSettings {
    /// How long a connection test may take before it answers `timeout`; also the `Retry-After`
    /// of a team whose tests are all running.
    pub timeout: Duration,
    /// Networks connection tests may connect to; empty means every public address that is not
    /// denied. A network here also opens the part of a default-denied range it names (loopback,
    /// private ranges, …; see [`policy`]).
    pub allow: Vec<IpNet>,
    /// Networks connection tests never connect to; wins over `allow`.
    pub deny: Vec<IpNet>,
    /// The addresses of the server's own database, which connection tests never connect to (on
    /// their ports).
    pub database_addresses: Vec<SocketAddr>,
    /// Connection tests running at once; beyond it [`ProbeExecutor::run`] refuses with
    /// [`executor::Refused::ServerBusy`].
    pub max_concurrent: usize,
    /// Connection tests running at once for one team; beyond it [`ProbeExecutor::run`] refuses
    /// with [`executor::Refused::TeamBusy`].
    pub max_per_team: usize,
    /// Hosts (names or IP addresses, compared without case) whose token URLs may be plain
    /// `http`; every other token URL must be `https`. Empty by default. The host's addresses
    /// still go through the policy (`allow`, `deny`), so a loopback token server needs both.
    pub oauth_http_hosts: Vec<String>,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            allow: Vec::new(),
            deny: Vec::new(),
            database_addresses: Vec::new(),
            max_concurrent: 32,
            max_per_team: 4,
            oauth_http_hosts: Vec::new(),
        }
    }
}

/// The outcome of a connection test, for machines: `ok` (connected and authenticated),
/// `auth_failed` (login refused: password, key, passphrase, role), `unreachable` (connection
/// refused, no route), `timeout` (no answer within the limit), `tls_required` (TLS required by
/// one side, not offered by the other), `tls_failed` (TLS handshake or certificate check
/// failed), `host_key_mismatch` (the SSH host key is not the pinned
/// `extra_data.host_key_sha256`), `database_not_found`, `dns_failed` (the host name does not
/// resolve), `refused_by_policy` (the outbound policy does not allow that address, local socket
/// or option), `error` (anything else).
///
/// This is the one classification of a test's outcome, whichever step found it (the policy,
/// PostgreSQL, SFTP); the HTTP API mirrors it as its wire enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TestCode {
    /// Connected and authenticated; for PostgreSQL `SELECT 1` ran, for SFTP the home directory
    /// was listed.
    Ok,
    /// The server refused the login (password, key, role, passphrase of the key).
    AuthFailed,
    /// Nothing accepted the connection (refused, no route).
    Unreachable,
    /// No answer within the time limit.
    Timeout,
    /// TLS is required by one side but not offered by the other.
    TlsRequired,
    /// The TLS handshake or the certificate check failed.
    TlsFailed,
    /// The SSH server's host key does not match `extra_data.host_key_sha256`.
    HostKeyMismatch,
    /// The PostgreSQL database does not exist.
    DatabaseNotFound,
    /// The host name could not be resolved.
    DnsFailed,
    /// The outbound policy does not allow connecting there (this server's own address, a denied
    /// network, a local socket or file).
    RefusedByPolicy,
    /// Anything else.
    Error,
}

impl TestCode {
    /// The wire name, e.g. `auth_failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::AuthFailed => "auth_failed",
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::TlsRequired => "tls_required",
            Self::TlsFailed => "tls_failed",
            Self::HostKeyMismatch => "host_key_mismatch",
            Self::DatabaseNotFound => "database_not_found",
            Self::DnsFailed => "dns_failed",
            Self::RefusedByPolicy => "refused_by_policy",
            Self::Error => "error",
        }
    }
}

/// A failed test step: the code and a message without secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub code: TestCode,
    /// For people.
    pub message: String,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: TestCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A `timeout` failure naming the step that ran out of time.
    pub fn timeout(step: &str) -> Self {
        Self::new(TestCode::Timeout, format!("no answer in time while {step}"))
    }
}

/// The result of one connection test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestOutcome {
    /// What happened.
    pub code: TestCode,
    /// For people; never holds a secret.
    pub message: String,
    /// How long the test took, name resolution included.
    pub latency: Duration,
}

impl TestOutcome {
    /// Whether the test connected.
    pub fn ok(&self) -> bool {
        self.code == TestCode::Ok
    }
}

/// What a test connects to and with which secrets.
#[derive(Clone, Debug)]
pub enum Target {
    /// A PostgreSQL database.
    Postgres(postgres::PostgresTarget),
    /// An SFTP server.
    Sftp(sftp::SftpTarget),
}

impl Target {
    /// The secret values the test uses, to be removed from every message.
    fn secrets(&self) -> Vec<SecretValue> {
        match self {
            Self::Postgres(target) => target.secrets(),
            Self::Sftp(target) => target.secrets(),
        }
    }

    fn test(&self, policy: &ProbePolicy, deadline: Instant) -> Result<String, Failure> {
        match self {
            Self::Postgres(target) => postgres::test(target, policy, deadline),
            Self::Sftp(target) => sftp::test(target, policy, deadline),
        }
    }
}

/// The providers whose credentials can be tested.
pub const TESTABLE_PROVIDERS: [Provider; 3] = [
    Provider::Sftp,
    Provider::Postgresql,
    Provider::InternalPostgresql,
];

/// What to test for a credential, or the field errors that make it untestable (the HTTP API
/// answers them with a `422`).
pub fn target_for(
    credential: &Credential,
    secrets: &SecretMap,
) -> Result<Target, ValidationErrors> {
    let reader = Fields {
        extra_data: &credential.extra_data,
        secrets,
        errors: ValidationErrors::new(),
    };
    match (credential.provider, credential.kind) {
        (Provider::Postgresql | Provider::InternalPostgresql, Kind::UserPassword) => {
            postgres::PostgresTarget::from_fields(reader).map(Target::Postgres)
        }
        (Provider::Sftp, Kind::UserPassword | Kind::KeyFile) => {
            sftp::SftpTarget::from_fields(credential.kind, reader).map(Target::Sftp)
        }
        (provider, kind) => {
            let testable: Vec<&str> = TESTABLE_PROVIDERS.iter().map(|p| p.as_str()).collect();
            let mut errors = ValidationErrors::new();
            errors.push(
                "provider",
                format!(
                    "{provider}/{kind} credentials cannot be tested by connecting from this \
                     server; connection tests exist for {} only",
                    testable.join(", ")
                ),
            );
            Err(errors)
        }
    }
}

/// Reads the fields of a credential for a test, collecting every missing or malformed one.
pub(crate) struct Fields<'a> {
    extra_data: &'a serde_json::Map<String, Value>,
    secrets: &'a SecretMap,
    errors: ValidationErrors,
}

impl Fields<'_> {
    /// A string of `extra_data`, if present.
    fn text(&self, name: &str) -> Option<String> {
        self.extra_data
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A string of `extra_data` that the test needs.
    fn required_text(&mut self, name: &str) -> String {
        let value = self.text(name).filter(|value| !value.is_empty());
        value.unwrap_or_else(|| {
            self.errors.push(
                format!("extra_data.{name}"),
                "is required to test the connection",
            );
            String::new()
        })
    }

    /// The port in `extra_data`, or `default`.
    fn port(&mut self, default: u16) -> u16 {
        match self.extra_data.get(fields::PORT) {
            None | Some(Value::Null) => default,
            Some(value) => value
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port > 0)
                .unwrap_or_else(|| {
                    self.errors.push(
                        format!("extra_data.{}", fields::PORT),
                        "must be an integer from 1 to 65535",
                    );
                    default
                }),
        }
    }

    /// A secret, if stored.
    fn secret(&self, name: &str) -> Option<SecretValue> {
        self.secrets
            .get(name)
            .filter(|value| !value.expose().is_empty())
            .cloned()
    }

    /// A secret that the test needs.
    fn required_secret(&mut self, name: &str) -> SecretValue {
        self.secret(name).unwrap_or_else(|| {
            self.errors.push(
                format!("extra_data.{name}"),
                "is a secret required to test the connection, and none is stored",
            );
            SecretValue::default()
        })
    }

    /// An error about one field.
    fn invalid(&mut self, name: &str, message: &str) {
        self.errors.push(format!("extra_data.{name}"), message);
    }

    /// The value built, or every error met.
    fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        self.errors.into_result(value)
    }
}

/// Runs a test within `timeout` and reports its outcome. Blocking, for at most about `timeout`:
/// call it off the async workers ([`ProbeExecutor::run`] gives it a thread).
pub fn run(target: Target, policy: ProbePolicy, timeout: Duration) -> TestOutcome {
    let started = Instant::now();
    let deadline = started + timeout;
    let secrets = target.secrets();
    let (code, message) = match target.test(&policy, deadline) {
        Ok(message) => (TestCode::Ok, message),
        Err(failure) => (failure.code, failure.message),
    };
    let secrets: Vec<&SecretValue> = secrets.iter().collect();
    TestOutcome {
        code,
        message: scrub::scrub(&message, &secrets, "the test failed"),
        latency: started.elapsed(),
    }
}

/// Shuts a socket down at a deadline unless dropped before: then a library that blocks on it
/// (libssh2 between its own timeouts) gets an error at once, and the test's thread ends.
pub(crate) struct ShutDownAt {
    // Dropping the sender wakes the watchdog, which then leaves the socket alone.
    _cancel: mpsc::Sender<()>,
}

impl ShutDownAt {
    /// Arms the watchdog of `stream`; a socket that cannot be shared is closed by the caller's
    /// own timeouts only.
    pub(crate) fn arm(stream: &TcpStream, deadline: Instant) -> Self {
        let (cancel, cancelled) = mpsc::channel::<()>();
        if let Ok(socket) = stream.try_clone() {
            let spawned = std::thread::Builder::new()
                .name("credvault-probe-deadline".to_owned())
                .spawn(move || {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(left) {
                        // The peer sees the connection end; libssh2's next read or write fails.
                        let _ = socket.shutdown(Shutdown::Both);
                    }
                });
            if let Err(error) = spawned {
                log::warn!("the deadline of a connection test could not be armed: {error}");
            }
        }
        Self { _cancel: cancel }
    }
}

/// The time left until `deadline`, or a `timeout` failure naming the step.
fn remaining(deadline: Instant, step: &str) -> Result<Duration, Failure> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or_else(|| Failure::timeout(step))
}
