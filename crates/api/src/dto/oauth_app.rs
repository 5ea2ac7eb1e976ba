//! OAuth apps on the wire (SPEC §11): a team's OAuth 2.0 clients. The client secret is
//! write-only: every response shows the mask.
//!
//! The request types document the bodies in OpenAPI; the handlers parse bodies with
//! `domain::oauth_app` (`NewOAuthApp`, `OAuthAppPatch`), which report every problem at once.

use chrono::{DateTime, Utc};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::schema::Provider;
use credvault_domain::secret::MASK;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// The providers an OAuth app may be for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OAuthProvider, example = "microsoft")]
pub enum OAuthProviderDto {
    /// Microsoft 365 / Graph (the Microsoft identity platform).
    Microsoft,
    /// SharePoint Online (the Microsoft identity platform).
    Sharepoint,
    /// Google APIs.
    Google,
}

impl OAuthProviderDto {
    /// The wire form of an app's provider; `None` for a provider no app can have.
    pub fn from_domain(provider: Provider) -> Option<Self> {
        match provider {
            Provider::Microsoft => Some(Self::Microsoft),
            Provider::Sharepoint => Some(Self::Sharepoint),
            Provider::Google => Some(Self::Google),
            _ => None,
        }
    }
}

/// The body of `POST /api/v1/teams/{team}/oauth-apps`, for OpenAPI.
#[derive(Clone, Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateOAuthApp, example = json!({
    "name": "Contoso Graph", "provider": "microsoft",
    "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "client_secret": "<client secret>",
    "scopes": ["offline_access", "User.Read"], "metadata": {"owner": "it-ops"}
}))]
pub struct CreateOAuthAppRequest {
    /// Display name, 1–200 characters once trimmed.
    pub name: String,
    /// The provider; fixed at creation.
    pub provider: OAuthProviderDto,
    /// The client id the provider issued, 1–512 characters on one line.
    pub client_id: String,
    /// The client secret the provider issued (required, at most 2048 characters). Stored
    /// sealed; never returned.
    pub client_secret: String,
    /// The token endpoint, an absolute `https` URL without user information (at most 2048
    /// characters). Defaults to the provider's: Microsoft and SharePoint
    /// `https://login.microsoftonline.com/common/oauth2/v2.0/token`, Google
    /// `https://oauth2.googleapis.com/token`.
    #[schema(example = "https://login.microsoftonline.com/common/oauth2/v2.0/token")]
    pub token_url: Option<String>,
    /// The authorization endpoint, like `token_url`. Defaults to the provider's: Microsoft and
    /// SharePoint `https://login.microsoftonline.com/common/oauth2/v2.0/authorize`, Google
    /// `https://accounts.google.com/o/oauth2/v2/auth`.
    #[schema(example = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")]
    pub authorize_url: Option<String>,
    /// The scopes asked for by default: at most 100 scope tokens (RFC 6749 §3.3), duplicates
    /// dropped. Empty when omitted.
    pub scopes: Option<Vec<String>>,
    /// Free-form, non-secret metadata (an object, at most 16 KiB of JSON).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// The body of `PATCH /api/v1/teams/{team}/oauth-apps/{oauth_app_id}`, for OpenAPI. Every field
/// is optional; an omitted one keeps its value. The provider is fixed at creation.
#[derive(Clone, Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PatchOAuthApp, example = json!({
    "name": "Contoso Graph (prod)", "client_secret": "••••", "metadata": {"owner": null}
}))]
pub struct PatchOAuthAppRequest {
    /// A new name; `null` is refused.
    pub name: Option<String>,
    /// A new client id; `null` is refused.
    pub client_id: Option<String>,
    /// A new client secret replaces the stored one; `""`, `null` or the mask `"••••"` keeps it.
    pub client_secret: Option<String>,
    /// A new token URL; `null` is the provider's default again.
    pub token_url: Option<String>,
    /// A new authorize URL; `null` is the provider's default again.
    pub authorize_url: Option<String>,
    /// The new default scopes, replacing the list; `null` empties it.
    pub scopes: Option<Vec<String>>,
    /// An RFC 7396 merge patch of `metadata`: a key set to `null` is removed; `metadata: null`
    /// empties it.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// An OAuth app: a team's OAuth 2.0 client. The client secret is always the mask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = OAuthApp, example = json!({
    "id": "0192f3a4-5555-7000-8000-000000000001", "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "name": "Contoso Graph", "provider": "microsoft",
    "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "client_secret": "••••",
    "token_url": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    "authorize_url": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "scopes": ["offline_access", "User.Read"], "metadata": {"owner": "it-ops"},
    "created_at": "2026-12-02T10:00:00Z", "updated_at": "2026-12-02T10:00:00Z", "version": 1
}))]
pub struct OAuthAppResponse {
    /// The app's id (UUID v7).
    pub id: Uuid,
    /// The team it belongs to.
    pub team_id: Uuid,
    /// Display name.
    pub name: String,
    /// The provider.
    pub provider: OAuthProviderDto,
    /// The public client id.
    pub client_id: String,
    /// Always `"••••"`: a client secret is stored, and never shown.
    #[schema(example = "••••")]
    pub client_secret: String,
    /// The token endpoint.
    pub token_url: String,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The default scopes.
    pub scopes: Vec<String>,
    /// Free-form metadata.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and moves on with each change; the `ETag`.
    pub version: i64,
}

impl OAuthAppResponse {
    /// The wire form of an app, its client secret masked; an internal error for a provider no
    /// app can have (the store refuses such a row already).
    pub fn new(app: OAuthApp) -> Result<Self, ApiError> {
        let OAuthApp {
            id,
            team_id,
            name,
            provider,
            client_id,
            token_url,
            authorize_url,
            scopes,
            metadata,
            created_at,
            updated_at,
            version,
        } = app;
        let provider = OAuthProviderDto::from_domain(provider)
            .ok_or_else(|| ApiError::Internal("an OAuth app of a non-OAuth provider".to_owned()))?;
        Ok(Self {
            id: *id.as_uuid(),
            team_id: *team_id.as_uuid(),
            name,
            provider,
            client_id,
            client_secret: MASK.to_owned(),
            token_url,
            authorize_url,
            scopes,
            metadata,
            created_at,
            updated_at,
            version,
        })
    }
}

/// A page of OAuth apps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = OAuthAppPage)]
pub struct OAuthAppPage {
    /// The apps, oldest first.
    pub items: Vec<OAuthAppResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
}
