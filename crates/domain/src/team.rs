//! Teams, the tenants of credvault.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TeamId;

/// A team's unique slug: `^[a-z0-9][a-z0-9-]{0,62}$`.
///
/// ```
/// use credvault_domain::team::TeamLabel;
///
/// assert!("acme-data".parse::<TeamLabel>().is_ok());
/// assert!("-acme".parse::<TeamLabel>().is_err());
/// assert!("Acme".parse::<TeamLabel>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TeamLabel(String);

impl TeamLabel {
    /// The label as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TeamLabel {
    type Err = InvalidTeamLabel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = s.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if first_ok && rest_ok && s.len() <= 63 {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidTeamLabel)
        }
    }
}

impl<'de> Deserialize<'de> for TeamLabel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TeamLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not a valid team label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "team label must be 1-63 characters of lowercase letters, digits and '-', not starting with '-'"
)]
pub struct InvalidTeamLabel;

/// A team as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    /// The team's id.
    pub id: TeamId,
    /// The team's unique label.
    pub label: TeamLabel,
    /// When the team was created.
    pub created_at: DateTime<Utc>,
}

/// A `{team}` path segment: either the team's id or its label.
///
/// ```
/// use credvault_domain::team::TeamRef;
///
/// assert!(matches!("demo".parse::<TeamRef>(), Ok(TeamRef::Label(_))));
/// assert!(matches!(
///     "0192f3a4-0000-7000-8000-000000000000".parse::<TeamRef>(),
///     Ok(TeamRef::Id(_))
/// ));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeamRef {
    /// The team's UUID.
    Id(TeamId),
    /// The team's label.
    Label(TeamLabel),
}

impl FromStr for TeamRef {
    type Err = InvalidTeamLabel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A label can never be a UUID (36 characters with dashes are allowed by the slug rule,
        // so try the UUID form first: a UUID-shaped string always means an id).
        match s.parse::<TeamId>() {
            Ok(id) => Ok(Self::Id(id)),
            Err(_) => s.parse().map(Self::Label),
        }
    }
}

impl fmt::Display for TeamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Label(label) => label.fmt(f),
        }
    }
}
