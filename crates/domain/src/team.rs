//! Teams, the tenants of credvault.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TeamId;

/// A team's unique slug: `^[a-z0-9][a-z0-9-]{0,62}$`, and not a UUID.
///
/// A `{team}` path segment that parses as a UUID is read as a team id (see [`TeamRef`]), so a
/// UUID-shaped label (32 hex digits, or hyphenated) could never be addressed; it is refused.
///
/// ```
/// use credvault_domain::team::{InvalidTeamLabel, TeamLabel};
///
/// assert!("acme-data".parse::<TeamLabel>().is_ok());
/// assert!("-acme".parse::<TeamLabel>().is_err());
/// assert!("Acme".parse::<TeamLabel>().is_err());
/// assert_eq!(
///     "0192f3a4-0000-7000-8000-000000000000".parse::<TeamLabel>(),
///     Err(InvalidTeamLabel::UuidShaped)
/// );
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
        if !(first_ok && rest_ok && s.len() <= 63) {
            Err(InvalidTeamLabel::Syntax)
        } else if uuid::Uuid::parse_str(s).is_ok() {
            Err(InvalidTeamLabel::UuidShaped)
        } else {
            Ok(Self(s.to_owned()))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTeamLabel {
    /// Not 1-63 characters of lowercase letters, digits and `-`, or starting with `-`.
    #[error(
        "team label must be 1-63 characters of lowercase letters, digits and '-', not starting with '-'"
    )]
    Syntax,
    /// 32 hexadecimal digits, or a hyphenated UUID: `{team}` paths would read it as a team id.
    #[error(
        "team label must not have the form of a UUID (32 hex digits, or hyphenated), because a \
         UUID in a path is read as a team id; add a letter outside a-f or change the dashes"
    )]
    UuidShaped,
}

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
        // A UUID-shaped string always means an id; `TeamLabel` refuses such labels, so every
        // label stays addressable.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_that_parse_as_uuids_are_refused() {
        for uuid_shaped in [
            "0192f3a400007000800000000000abcd",
            "0192f3a4-0000-7000-8000-00000000abcd",
            "00000000-0000-0000-0000-000000000000",
            "ffffffffffffffffffffffffffffffff",
        ] {
            assert_eq!(
                uuid_shaped.parse::<TeamLabel>(),
                Err(InvalidTeamLabel::UuidShaped),
                "{uuid_shaped}"
            );
            assert!(uuid::Uuid::parse_str(uuid_shaped).is_ok());
        }
        // Braced and urn forms need characters the slug rule refuses anyway.
        for other_form in [
            "{0192f3a4-0000-7000-8000-00000000abcd}",
            "urn:uuid:0192f3a4-0000-7000-8000-00000000abcd",
        ] {
            assert_eq!(
                other_form.parse::<TeamLabel>(),
                Err(InvalidTeamLabel::Syntax)
            );
        }
    }

    #[test]
    fn labels_close_to_a_uuid_are_still_labels() {
        for label in [
            "0192f3a400007000800000000000abc",   // 31 hex digits
            "0192f3a400007000800000000000abcde", // 33
            "0192f3a400007000800000000000abcg",  // not hex
            "0192f3a4-0000-7000-8000-00000000abc",
        ] {
            let parsed: TeamLabel = label
                .parse()
                .unwrap_or_else(|error| panic!("{label}: {error}"));
            assert!(
                matches!(label.parse::<TeamRef>(), Ok(TeamRef::Label(found)) if found == parsed)
            );
        }
    }
}
