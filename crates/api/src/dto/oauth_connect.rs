//! OAuth connect on the wire: the answer of a start, and the JSON answer of a callback that was
//! not started from the console.

use chrono::{DateTime, Utc};
use credvault_domain::secret::SecretValue;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::enums::CredentialStatusDto;
use crate::dto::token::serialize_shown_once;

/// A started OAuth connect: send the browser to `authorize_url` before `expires_at`.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthConnectStart)]
pub struct ConnectStartResponse {
    /// The provider's authorization URL, with `response_type=code`, the app's `client_id`, this
    /// server's `redirect_uri`, the app's scopes, the `state` and the PKCE `S256` challenge.
    #[schema(
        example = "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&client_id=…&redirect_uri=https%3A%2F%2Fvault.example.com%2Fapi%2Fv1%2Foauth%2Fcallback&scope=…&state=cvoc_…&code_challenge=…&code_challenge_method=S256&access_type=offline&prompt=consent"
    )]
    pub authorize_url: String,
    /// The single-use state the callback must carry back (also in `authorize_url`).
    #[serde(serialize_with = "serialize_shown_once")]
    #[schema(value_type = String, example = "cvoc_Xq3v9Rk2mP0sT7wYbN4hJ8cL1dF6gA5eZ2uI9oK3r0Q")]
    pub state: SecretValue,
    /// When the connect expires: a callback after it is refused.
    pub expires_at: DateTime<Utc>,
}

/// A completed OAuth connect: the credential's tokens are stored.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthConnectResult)]
pub struct ConnectResultResponse {
    /// The credential's team.
    pub team_id: uuid::Uuid,
    /// The connected credential.
    pub credential_id: uuid::Uuid,
    /// `connected`, or `needs_page_selection` when the kind still needs a choice (a SharePoint
    /// credential without `site_url`).
    pub status: CredentialStatusDto,
}
