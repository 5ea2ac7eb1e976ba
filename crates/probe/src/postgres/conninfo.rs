//! A libpq connection string built from parts: every value quoted, secrets kept apart (and
//! masked in `Debug`), and the keywords that would let a test borrow the server's own identity
//! reserved for the test itself ([`RESERVED_KEYWORDS`]).

use std::time::Duration;

use credvault_domain::secret::{MASK, SecretValue};

/// Keywords [`super::connect`] sets itself; [`Conninfo::set`] refuses them.
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
    /// The keyword is set by [`super::connect`] itself.
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
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &SecretValue> {
        self.pairs.iter().filter_map(|(_, part)| match part {
            Part::Secret(value) => Some(value),
            Part::Plain(_) => None,
        })
    }

    /// The full connection string with the probe's own keywords, in one buffer sized up front
    /// (so no reallocation leaves a copy of a secret behind) that is wiped on drop.
    pub(crate) fn render(&self, timeout: Duration) -> SecretValue {
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
pub(crate) fn connect_timeout_seconds(timeout: Duration) -> u64 {
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
