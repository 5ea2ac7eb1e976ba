//! The OAuth 2.0 token endpoint on the wire (RFC 6749 §4.4 and §5): the form it reads, the token
//! it returns and its error body, which is RFC 6749's and not problem+json.

use credvault_domain::secret::{MASK, SecretValue};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

/// Serializes a secret that a response deliberately shows once (a new client secret or an access
/// token). Everywhere else secrets have no `Serialize` at all.
pub fn serialize_shown_once<S: Serializer>(
    secret: &SecretValue,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}

/// The form of a client credentials grant (`application/x-www-form-urlencoded`).
///
/// The client authenticates with HTTP Basic (`client_id:client_secret`, each form-url-encoded
/// first) or with `client_id` and `client_secret` in this form, not both. A parameter sent
/// without a value counts as omitted; a repeated parameter is an `invalid_request`.
// `Debug` is written by hand below, so that it masks `client_secret`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = TokenRequest, example = json!({"grant_type": "client_credentials"}))]
pub struct TokenRequest {
    /// Must be `client_credentials`; anything else is `unsupported_grant_type`.
    #[schema(value_type = GrantType, example = "client_credentials")]
    pub grant_type: String,
    /// Accepted and ignored: the token always carries the service account's role.
    #[schema(example = "integrations")]
    pub scope: Option<String>,
    /// The client id, when not sent with HTTP Basic.
    #[schema(example = "cvc_Xq3v9Rk2mP0sT7wYbN4hJ8cL1dF6gA5eZ2uI9oK3r0Q")]
    pub client_id: Option<String>,
    /// The client secret, when not sent with HTTP Basic.
    #[schema(example = "cvs_bG9uZy1yYW5kb20tc2VjcmV0LXNob3duLW9uY2UtMDAw")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            grant_type,
            scope,
            client_id,
            client_secret,
        } = self;
        f.debug_struct("TokenRequest")
            .field("grant_type", grant_type)
            .field("scope", scope)
            .field("client_id", client_id)
            .field("client_secret", &client_secret.as_ref().map(|_| MASK))
            .finish()
    }
}

/// The grant types the token endpoint supports: only the client credentials grant.
///
/// Named in the OpenAPI document only: the form is read by hand, so that another value can be
/// answered with `unsupported_grant_type` as RFC 6749 §5.2 asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.4.
    ClientCredentials,
}

/// An access token (RFC 6749 §5.1). Sent with `Cache-Control: no-store`.
// No `Debug`: it holds the token.
#[derive(Serialize, ToSchema)]
#[schema(as = TokenResponse, example = json!({
    "access_token": "cva_c2VydmljZS1hY2NvdW50LWFjY2Vzcy10b2tlbi0wMDA", "token_type": "Bearer", "expires_in": 3600
}))]
pub struct TokenResponse {
    /// The bearer token: `Authorization: Bearer <access_token>` on API calls. It acts as the
    /// service account with its role in its team.
    #[serde(serialize_with = "serialize_shown_once")]
    #[schema(value_type = String, example = "cva_c2VydmljZS1hY2NvdW50LWFjY2Vzcy10b2tlbi0wMDA")]
    pub access_token: SecretValue,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: u64,
    /// The id of the team the service account belongs to, for the `{team}` of its calls (an
    /// additional parameter, RFC 6749 §5.1).
    #[schema(example = "0192f3a4-0000-7000-8000-000000000001")]
    pub team_id: uuid::Uuid,
}

/// The error codes of RFC 6749 §5.2 this endpoint uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OAuthErrorCode, example = "invalid_client")]
pub enum OAuthErrorCode {
    /// `400`: a missing, repeated or malformed parameter, a body that is not a form, or client
    /// credentials sent both with HTTP Basic and in the body.
    InvalidRequest,
    /// `401`: unknown client id, wrong secret or no client authentication. The same answer for
    /// all three.
    InvalidClient,
    /// `400`: `grant_type` is not `client_credentials`.
    UnsupportedGrantType,
}

/// An error of the token endpoint (RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = OAuthError, example = json!({
    "error": "invalid_client", "error_description": "client authentication failed"
}))]
pub struct OAuthErrorResponse {
    /// The error code.
    pub error: OAuthErrorCode,
    /// What went wrong, for the developer; never quotes a submitted value.
    #[schema(example = "client authentication failed")]
    pub error_description: String,
}

#[cfg(test)]
mod tests;
