//! Kinds: the shape of a credential (password, key file, API key, OAuth client).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The shape of a credential's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// User name and password, or a connection string.
    UserPassword,
    /// User name and a PEM private key with an optional passphrase.
    KeyFile,
    /// One or more API keys or tokens.
    ApiKey,
    /// A generic OAuth 2.0 client with its tokens.
    Oauth2,
    /// A Google OAuth client with its tokens.
    GoogleOauth,
    /// A SharePoint (Microsoft identity platform) OAuth client with its tokens.
    SharepointOauth,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Self::UserPassword,
        Self::KeyFile,
        Self::ApiKey,
        Self::Oauth2,
        Self::GoogleOauth,
        Self::SharepointOauth,
    ];

    /// The wire name, e.g. `user_password`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserPassword => "user_password",
            Self::KeyFile => "key_file",
            Self::ApiKey => "api_key",
            Self::Oauth2 => "oauth2",
            Self::GoogleOauth => "google_oauth",
            Self::SharepointOauth => "sharepoint_oauth",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(UnknownKind)
    }
}

/// The text names no kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind")]
pub struct UnknownKind;
