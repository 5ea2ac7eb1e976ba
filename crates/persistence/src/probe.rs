//! Connection tests of PostgreSQL credentials: connect with libpq (which this crate already links
//! through diesel), authenticate, run `SELECT 1`, and classify what went wrong.
//!
//! The caller decides *where* to connect (it resolves the host once and checks the addresses
//! against its outbound policy, then passes them as `hostaddr`); this module only speaks libpq.
//! Whatever the caller sets, [`postgres`] adds the keywords that keep the test from borrowing the
//! server's own identity: no password file, no client certificate, no GSSAPI encryption; and
//! `tcp_user_timeout`. libpq is driven without blocking (`probe::libpq`), so the test never
//! outlives its deadline.
//!
//! ```
//! use std::time::Duration;
//! use credvault_domain::secret::SecretValue;
//! use credvault_persistence::probe::{self, Conninfo, FailureKind};
//!
//! let mut conninfo = Conninfo::new();
//! conninfo.set("host", "127.0.0.1").unwrap();
//! conninfo.set("port", "1").unwrap();
//! conninfo.set("user", "etl").unwrap();
//! conninfo.set_secret("password", SecretValue::from("it's a secret")).unwrap();
//! let failure = probe::postgres(&conninfo, Duration::from_secs(2)).unwrap_err();
//! assert_eq!(failure.kind, FailureKind::Unreachable);
//! assert!(!failure.message.contains("secret"));
//! ```

use std::ffi::CString;
use std::time::{Duration, Instant};

use credvault_domain::secret::{MASK, SecretValue};

mod libpq;

pub use self::libpq::version as libpq_version;

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;

/// The first libpq version (16) with the `require_auth` keyword, as [`libpq_version`] counts.
pub const REQUIRE_AUTH_SINCE: i32 = 160_000;

/// Whether a libpq of this version (as [`libpq_version`] reports it) knows `require_auth`, the
/// keyword that makes it refuse authentication methods the server asks for (cleartext, MD5).
pub fn supports_require_auth(libpq_version: i32) -> bool {
    libpq_version >= REQUIRE_AUTH_SINCE
}

/// Keywords [`postgres`] sets itself; [`Conninfo::set`] refuses them.
pub const RESERVED_KEYWORDS: [&str; 8] = [
    "connect_timeout",
    "tcp_user_timeout",
    "passfile",
    "sslcert",
    "sslkey",
    "gssencmode",
    "service",
    "servicefile",
];

/// A path that can never exist (a file below `/dev/null`), used to switch off libpq's lookups of
/// the password file and of the client certificate and key in the server's home directory.
const NO_FILE: &str = "/dev/null/credvault-probe-none";

/// The longest message kept from libpq, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A libpq connection string in keyword/value form, built from parts so that every value is
/// quoted (`keyword='value'`, with `\` and `'` escaped). Secret values are kept apart so that
/// they can be removed from any message libpq returns.
#[derive(Default)]
pub struct Conninfo {
    pairs: Vec<(String, Part)>,
}

enum Part {
    Plain(String),
    Secret(SecretValue),
}

impl std::fmt::Debug for Conninfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.pairs.iter().map(|(keyword, part)| {
                let shown = match part {
                    Part::Plain(value) => value.as_str(),
                    Part::Secret(_) => MASK,
                };
                (keyword, shown)
            }))
            .finish()
    }
}

/// A keyword that [`Conninfo`] does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConninfoError {
    /// The keyword is set by [`postgres`] itself.
    #[error("the keyword {0} is set by the connection test itself")]
    Reserved(String),
    /// The keyword is empty or holds characters other than `a-z` and `_`.
    #[error("the keyword {0:?} is not a libpq keyword")]
    Malformed(String),
}

impl Conninfo {
    /// An empty connection string.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a non-secret keyword, replacing an earlier value of the same keyword.
    pub fn set(&mut self, keyword: &str, value: &str) -> Result<(), ConninfoError> {
        self.insert(keyword, Part::Plain(value.to_owned()))
    }

    /// Sets a secret keyword (`password`); its value is removed from every failure message.
    pub fn set_secret(&mut self, keyword: &str, value: SecretValue) -> Result<(), ConninfoError> {
        self.insert(keyword, Part::Secret(value))
    }

    /// The value of a non-secret keyword.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == keyword)
            .and_then(|(_, part)| match part {
                Part::Plain(value) => Some(value.as_str()),
                Part::Secret(_) => None,
            })
    }

    fn insert(&mut self, keyword: &str, part: Part) -> Result<(), ConninfoError> {
        if keyword.is_empty() || !keyword.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(ConninfoError::Malformed(keyword.to_owned()));
        }
        if RESERVED_KEYWORDS.contains(&keyword) {
            return Err(ConninfoError::Reserved(keyword.to_owned()));
        }
        self.pairs.retain(|(name, _)| name != keyword);
        self.pairs.push((keyword.to_owned(), part));
        Ok(())
    }

    /// The secret values, for scrubbing messages.
    fn secrets(&self) -> impl Iterator<Item = &SecretValue> {
        self.pairs.iter().filter_map(|(_, part)| match part {
            Part::Secret(value) => Some(value),
            Part::Plain(_) => None,
        })
    }

    /// The full connection string with the probe's own keywords, in one buffer sized up front
    /// (so no reallocation leaves a copy of a secret behind) that is wiped on drop.
    fn render(&self, timeout: Duration) -> SecretValue {
        let connect_timeout = connect_timeout_seconds(timeout).to_string();
        // Unacknowledged data gives up within the test's time limit too (milliseconds).
        let tcp_user_timeout = timeout.as_millis().max(1).to_string();
        let own = [
            ("connect_timeout", connect_timeout.as_str()),
            ("tcp_user_timeout", tcp_user_timeout.as_str()),
            ("passfile", NO_FILE),
            ("sslcert", NO_FILE),
            ("sslkey", NO_FILE),
            ("gssencmode", "disable"),
        ];
        let values = self
            .pairs
            .iter()
            .map(|(keyword, part)| {
                let value = match part {
                    Part::Plain(value) => value.as_str(),
                    Part::Secret(value) => value.expose(),
                };
                (keyword.as_str(), value)
            })
            .chain(own);
        let length: usize = values
            .clone()
            .map(|(keyword, value)| keyword.len() + quoted_len(value) + 2)
            .sum();
        let mut text = String::with_capacity(length);
        for (keyword, value) in values {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(keyword);
            text.push('=');
            push_quoted(&mut text, value);
        }
        SecretValue::new(text)
    }
}

/// libpq's `connect_timeout`: whole seconds, at least 2 (libpq treats 1 as 2 anyway).
fn connect_timeout_seconds(timeout: Duration) -> u64 {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    seconds.max(2)
}

fn quoted_len(value: &str) -> usize {
    2 + value.len() + value.bytes().filter(|b| matches!(b, b'\\' | b'\'')).count()
}

fn push_quoted(out: &mut String, value: &str) {
    out.push('\'');
    for ch in value.chars() {
        if matches!(ch, '\\' | '\'') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('\'');
}

/// What kind of failure a connection test met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The server refused the login (password, role, `pg_hba.conf`).
    AuthFailed,
    /// Nothing accepted the connection (refused, no route).
    Unreachable,
    /// No answer within the time limit.
    Timeout,
    /// TLS was required by one side and not offered by the other.
    TlsRequired,
    /// The TLS handshake or the certificate check failed.
    TlsFailed,
    /// The database does not exist.
    DatabaseNotFound,
    /// The host name could not be resolved.
    DnsFailed,
    /// Anything else.
    Error,
}

/// Why a connection test failed: the kind, and libpq's message without any secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeFailure {
    /// The classification.
    pub kind: FailureKind,
    /// A short human message (from libpq, whitespace collapsed, secrets removed).
    pub message: String,
}

/// Connects with `conninfo`, authenticates and runs `SELECT 1`, giving up at `timeout`.
///
/// Blocking: call it off the async workers. libpq is driven without blocking (its
/// `PQconnectStart`/`PQconnectPoll` and `PQsendQuery` API, with `poll` on its socket bounded by
/// what is left of `timeout`), so a server that accepts the login and then never answers is
/// left at the deadline: the connection and its socket are closed and the call returns
/// `Timeout`. No cancel request is sent: `PQcancel` would open a second connection without any
/// deadline to the same, possibly stalled, server.
pub fn postgres(conninfo: &Conninfo, timeout: Duration) -> Result<(), ProbeFailure> {
    let deadline = Instant::now() + timeout;
    let text = conninfo.render(timeout);
    let secrets: Vec<&SecretValue> = conninfo.secrets().collect();
    let failure = |kind: FailureKind, message: &str| ProbeFailure {
        kind,
        message: scrub(message, &secrets, generic_message(kind)),
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
                FailureKind::Error,
                "the connection settings contain a NUL character",
            ));
        }
    };
    let result = libpq::connect_and_query(&c_text, deadline);
    wipe(c_text.into_bytes_with_nul());
    result.map_err(|error| match error {
        libpq::Error::Deadline { step } => failure(
            FailureKind::Timeout,
            &format!("no answer in time while {step}"),
        ),
        libpq::Error::Connect(message) => failure(classify(&message), &message),
        libpq::Error::Query(message) => failure(
            FailureKind::Error,
            &format!("connected, but SELECT 1 failed: {message}"),
        ),
    })
}

/// Overwrites a buffer that held the connection string.
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// Classifies a libpq (or server) error message.
pub fn classify(message: &str) -> FailureKind {
    let lower = message.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("timeout expired") {
        FailureKind::Timeout
    } else if has("server does not support ssl")
        || (has("no pg_hba.conf entry") && has("no encryption"))
    {
        FailureKind::TlsRequired
    } else if has("database \"") && has("\" does not exist") {
        FailureKind::DatabaseNotFound
    } else if has("authentication failed")
        || has("no password supplied")
        || has("no pg_hba.conf entry")
        || has("pg_hba.conf rejects connection")
        || (has("role \"") && has("\" does not exist"))
        || has("scram")
    {
        FailureKind::AuthFailed
    } else if has("could not translate host name") || has("name or service not known") {
        FailureKind::DnsFailed
    } else if has("connection refused")
        || has("no route to host")
        || has("network is unreachable")
        || has("host is unreachable")
    {
        FailureKind::Unreachable
    } else if [
        "ssl error",
        "ssl syscall",
        "ssl connection",
        "ssl negotiation",
        "ssl handshake",
        "certificate",
        "sslmode",
        "tlsv1",
        "unsupported protocol",
    ]
    .iter()
    .any(|needle| has(needle))
    {
        FailureKind::TlsFailed
    } else {
        FailureKind::Error
    }
}

/// A short message: whitespace collapsed, truncated, and never holding a secret value.
///
/// Each secret found in the text is replaced by the mask: first in the raw text, then, after
/// the whitespace is collapsed, in its collapsed form too, so a secret that holds a tab, a
/// double space or line breaks (a PEM key) is removed however it was echoed. A secret shorter
/// than four characters cannot be masked without mangling the text, so a message that contains
/// one is replaced by `fallback`, as is an empty message.
///
/// ```
/// use credvault_domain::secret::SecretValue;
/// use credvault_persistence::probe::scrub;
///
/// let password = SecretValue::from("hunter22");
/// assert_eq!(scrub("bad  'hunter22'\n", &[&password], "failed"), "bad '••••'");
/// assert_eq!(scrub("", &[], "failed"), "failed");
/// ```
pub fn scrub(message: &str, secrets: &[&SecretValue], fallback: &str) -> String {
    let Some(raw) = mask_each(message.to_owned(), secrets.iter().map(|s| s.expose())) else {
        return fallback.to_owned();
    };
    let collapsed = collapse(&raw);
    let collapsed_secrets: Vec<String> = secrets.iter().map(|s| collapse(s.expose())).collect();
    let Some(mut text) = mask_each(collapsed, collapsed_secrets.iter().map(String::as_str)) else {
        return fallback.to_owned();
    };
    if text.is_empty() {
        return fallback.to_owned();
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS - 1).collect::<String>() + "…";
    }
    text
}

/// The text with every run of whitespace made one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text with each value replaced by the mask; `None` when a value too short to mask occurs.
fn mask_each<'a>(mut text: String, values: impl Iterator<Item = &'a str>) -> Option<String> {
    for value in values {
        if value.is_empty() || !text.contains(value) {
            continue;
        }
        if value.chars().count() < 4 {
            return None;
        }
        text = text.replace(value, MASK);
    }
    Some(text)
}

fn generic_message(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::AuthFailed => "the server refused the login",
        FailureKind::Unreachable => "the server could not be reached",
        FailureKind::Timeout => "the server did not answer in time",
        FailureKind::TlsRequired => "TLS is required by one side but not offered by the other",
        FailureKind::TlsFailed => "the TLS handshake failed",
        FailureKind::DatabaseNotFound => "the database does not exist",
        FailureKind::DnsFailed => "the host name could not be resolved",
        FailureKind::Error => "the connection failed",
    }
}
