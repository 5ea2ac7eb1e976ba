//! Token requests to an OAuth 2.0 token endpoint (RFC 6749 §4.1.3 and §6) and their outcomes,
//! as plain values, with [`TokenEndpoint`], the port through which the use cases send them.
//!
//! The domain knows no network: `credvault-probe` implements [`TokenEndpoint`] over HTTPS under
//! the outbound policy of connection tests, and the tests implement it against a token server on
//! loopback. Every secret here is a [`SecretValue`], so the `Debug` of a request or an answer
//! shows the mask, never a token.

use std::fmt;

use crate::ids::TeamId;
use crate::secret::{MASK, SecretValue};

/// The refresh-token grant (RFC 6749 §6): a refresh token redeemed for a new access token.
#[derive(Clone)]
pub struct RefreshRequest {
    /// The token endpoint (`https`, or `http` only to a host the operator allows).
    pub token_url: String,
    /// The client the refresh token was issued to.
    pub client_id: String,
    /// The client's secret, sent with HTTP Basic authentication (RFC 6749 §2.3.1).
    pub client_secret: SecretValue,
    /// The refresh token to redeem.
    pub refresh_token: SecretValue,
    /// The scopes to ask for; empty asks for those of the original grant.
    pub scopes: Vec<String>,
}

/// The authorization-code grant (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636).
#[derive(Clone)]
pub struct CodeExchange {
    /// The token endpoint.
    pub token_url: String,
    /// The client the code was issued to.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: SecretValue,
    /// The authorization code the provider redirected with.
    pub code: SecretValue,
    /// The redirect URI of the authorization request, sent again as RFC 6749 requires.
    pub redirect_uri: String,
    /// The PKCE code verifier whose S256 challenge the authorization request carried.
    pub code_verifier: SecretValue,
}

/// A token endpoint's successful answer (RFC 6749 §5.1).
#[derive(Clone)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: SecretValue,
    /// Its lifetime in seconds, when the endpoint said (`expires_in`).
    pub expires_in: Option<u64>,
    /// A new refresh token, when the endpoint rotated it (or issued one, for a code).
    pub refresh_token: Option<SecretValue>,
    /// The scopes granted, when the endpoint said (space-separated).
    pub scope: Option<String>,
}

// `Debug` by hand, so that no field holding a secret can print it, whatever its type becomes.
impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &MASK)
            .field("refresh_token", &MASK)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeExchange")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &MASK)
            .field("code", &MASK)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &MASK)
            .finish()
    }
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &MASK)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| MASK))
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why a token request did not return a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// `invalid_grant` (RFC 6749 §5.2): the refresh token (or code) is expired, revoked, already
    /// used or was issued to another client. Retrying does not help; the user must reconnect.
    InvalidGrant {
        /// The provider's `error_description`, cleaned ([`clean_description`]).
        description: Option<String>,
    },
    /// `invalid_client` or `unauthorized_client`: the provider refuses the app itself (its
    /// secret was rotated, or the app was disabled or revoked). Retrying does not help.
    InvalidClient {
        /// The provider's `error` code.
        code: String,
        /// The provider's `error_description`, cleaned.
        description: Option<String>,
    },
    /// Any other OAuth error (`invalid_request`, `invalid_scope`, `unsupported_grant_type`, …),
    /// or a 4xx answer that is not one: a mistake that retrying does not fix.
    Rejected {
        /// The provider's `error` code, or `http_<status>` when it gave none.
        code: String,
        /// The provider's `error_description`, cleaned.
        description: Option<String>,
    },
    /// The outbound policy refused the token URL (a denied address, plain `http` to a host the
    /// operator does not allow, a malformed URL); nothing was sent.
    Refused {
        /// Why, in words, naming the host and never a secret.
        reason: String,
    },
    /// A network error, a timeout, a 5xx or 429 answer, or an answer that is not a token
    /// response: worth trying again later.
    Transient {
        /// What happened, in words, never quoting a secret.
        reason: String,
    },
}

impl TokenError {
    /// Whether trying again later may succeed.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let described = |f: &mut fmt::Formatter<'_>, code: &str, description: &Option<String>| {
            match description {
                Some(description) => write!(f, "{code}: {description}"),
                None => f.write_str(code),
            }
        };
        match self {
            Self::InvalidGrant { description } => described(f, "invalid_grant", description),
            Self::InvalidClient { code, description } | Self::Rejected { code, description } => {
                described(f, code, description)
            }
            Self::Refused { reason } | Self::Transient { reason } => f.write_str(reason),
        }
    }
}

/// The most characters of a provider's `error_description` that are kept.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// A provider's `error_description` made safe to store and show: control characters become
/// spaces, runs of whitespace one space, at most [`MAX_DESCRIPTION_CHARS`] characters, and any
/// of `secrets` it quotes replaced by the mask. `None` when nothing is left.
///
/// ```
/// use credvault_domain::oauth_token::clean_description;
/// use credvault_domain::secret::SecretValue;
///
/// let token = SecretValue::from("rt-123");
/// assert_eq!(
///     clean_description("Token rt-123\nhas\texpired.", &[&token]).as_deref(),
///     Some("Token •••• has expired.")
/// );
/// assert_eq!(clean_description(" \n ", &[]), None);
/// ```
pub fn clean_description(text: &str, secrets: &[&SecretValue]) -> Option<String> {
    let mut text = text.to_owned();
    for secret in secrets {
        let value = secret.expose();
        if !value.is_empty() {
            text = text.replace(value, crate::secret::MASK);
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    let joined = words.join(" ");
    Some(joined.chars().take(MAX_DESCRIPTION_CHARS).collect())
}

/// Sends token requests for a team. Implemented over the network by `credvault-probe`; the
/// use cases take it as `&dyn TokenEndpoint`, so they stay free of the network.
///
/// Implementations bound the time of each request and never follow a redirect.
pub trait TokenEndpoint: Send + Sync {
    /// Redeems a refresh token (RFC 6749 §6) on behalf of `team`.
    fn refresh(&self, team: TeamId, request: &RefreshRequest) -> Result<TokenGrant, TokenError>;

    /// Exchanges an authorization code (RFC 6749 §4.1.3) on behalf of `team`.
    fn exchange_code(&self, team: TeamId, request: &CodeExchange)
    -> Result<TokenGrant, TokenError>;
}
