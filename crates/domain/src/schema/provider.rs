//! Providers: the systems a credential reaches.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::schema::kind::Kind;

/// The system a credential is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// An SFTP server (password or private key).
    Sftp,
    /// A PostgreSQL database.
    Postgresql,
    /// A PostgreSQL database run by the organisation itself.
    InternalPostgresql,
    /// Amazon Simple Email Service.
    AwsSes,
    /// Microsoft 365 / Graph.
    Microsoft,
    /// SharePoint Online.
    Sharepoint,
    /// Google APIs.
    Google,
    /// Keystatic CMS backed by a GitHub repository.
    Keystatic,
    /// A WordPress site.
    Wordpress,
    /// GitHub.
    Github,
    /// Stripe.
    Stripe,
}

impl Provider {
    /// Every provider, in wire-name order of declaration.
    pub const ALL: [Provider; 11] = [
        Self::Sftp,
        Self::Postgresql,
        Self::InternalPostgresql,
        Self::AwsSes,
        Self::Microsoft,
        Self::Sharepoint,
        Self::Google,
        Self::Keystatic,
        Self::Wordpress,
        Self::Github,
        Self::Stripe,
    ];

    /// The wire name, e.g. `aws_ses`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sftp => "sftp",
            Self::Postgresql => "postgresql",
            Self::InternalPostgresql => "internal_postgresql",
            Self::AwsSes => "aws_ses",
            Self::Microsoft => "microsoft",
            Self::Sharepoint => "sharepoint",
            Self::Google => "google",
            Self::Keystatic => "keystatic",
            Self::Wordpress => "wordpress",
            Self::Github => "github",
            Self::Stripe => "stripe",
        }
    }

    /// The kinds this provider accepts, the first being the usual one.
    pub const fn kinds(self) -> &'static [Kind] {
        match self {
            Self::Sftp => &[Kind::UserPassword, Kind::KeyFile],
            Self::Postgresql | Self::InternalPostgresql => &[Kind::UserPassword],
            Self::AwsSes | Self::Keystatic | Self::Github | Self::Stripe => &[Kind::ApiKey],
            Self::Microsoft | Self::Sharepoint => &[Kind::Oauth2, Kind::SharepointOauth],
            Self::Google => &[Kind::Oauth2, Kind::GoogleOauth],
            Self::Wordpress => &[Kind::UserPassword, Kind::ApiKey],
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|provider| provider.as_str() == s)
            .ok_or(UnknownProvider)
    }
}

/// The text names no provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider")]
pub struct UnknownProvider;
