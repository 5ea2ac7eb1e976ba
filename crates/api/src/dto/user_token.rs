//! User tokens on the wire: what an owner issues, lists and revokes under
//! `/api/v1/teams/{team}/tokens`.
//!
//! The request type documents the body in OpenAPI; the handler parses it by hand
//! (`handlers::tokens::input`) so that every unknown key and bad value is reported at once.

use chrono::{DateTime, Utc};
use credvault_domain::secret::SecretValue;
use credvault_persistence::UserToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::service_account::RoleDto;
use crate::dto::token::serialize_shown_once;

/// A user token's metadata. The token itself is shown once, when it is issued, and never again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = UserToken, example = json!({
    "id": "0192f3a4-5555-7000-8000-000000000001", "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "name": "deploy script", "role": "member",
    "created_at": "2026-11-23T10:00:00Z", "expires_at": "2027-02-21T10:00:00Z",
    "last_used_at": "2026-11-24T08:00:00Z", "created_by": "0192f3a4-3333-7000-8000-000000000009"
}))]
pub struct UserTokenResponse {
    /// The token's id (UUID v7): also the principal id that audit events name as its actor.
    #[schema(example = "0192f3a4-5555-7000-8000-000000000001")]
    pub id: Uuid,
    /// The team it acts in.
    #[schema(example = "0192f3a4-0000-7000-8000-000000000001")]
    pub team_id: Uuid,
    /// A name for people, 1–200 characters.
    #[schema(example = "deploy script")]
    pub name: String,
    /// The role it holds in the team; fixed at issue.
    pub role: RoleDto,
    /// When it was issued.
    #[schema(example = "2026-11-23T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it stops authenticating; `null` for never.
    #[schema(example = "2027-02-21T10:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it last authenticated, to the minute; `null` if never.
    #[schema(example = "2026-11-24T08:00:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The principal that issued it; `null` when the admin CLI or the first start did.
    #[schema(example = "0192f3a4-3333-7000-8000-000000000009")]
    pub created_by: Option<Uuid>,
}

impl From<UserToken> for UserTokenResponse {
    fn from(token: UserToken) -> Self {
        let UserToken {
            id,
            team_id,
            name,
            role,
            created_by,
            created_at,
            expires_at,
            last_used_at,
        } = token;
        Self {
            id: id.into(),
            team_id: team_id.into(),
            name,
            role: role.into(),
            created_at,
            expires_at,
            last_used_at,
            created_by: created_by.map(Into::into),
        }
    }
}

/// A newly issued user token: the only response that holds the token.
// No `Debug`: it holds the token.
#[derive(Serialize, ToSchema)]
#[schema(as = UserTokenWithSecret, example = json!({
    "id": "0192f3a4-5555-7000-8000-000000000001", "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "name": "deploy script", "role": "member",
    "created_at": "2026-11-23T10:00:00Z", "expires_at": "2027-02-21T10:00:00Z",
    "last_used_at": null, "created_by": "0192f3a4-3333-7000-8000-000000000009",
    "token": "cvu_dXNlci10b2tlbi1zaG93bi1vbmNlLW9ubHktMDAwMDAw"
}))]
pub struct CreatedUserTokenResponse {
    /// The stored metadata.
    #[serde(flatten)]
    pub metadata: UserTokenResponse,
    /// The bearer token: `Authorization: Bearer <token>`. Shown in this response only: it is
    /// stored as a hash and cannot be read again; lose it and issue a new one.
    #[serde(serialize_with = "serialize_shown_once")]
    #[schema(value_type = String, example = "cvu_dXNlci10b2tlbi1zaG93bi1vbmNlLW9ubHktMDAwMDAw")]
    pub token: SecretValue,
}

/// The body of a user token issue. `expires_in` and `expires_at` are alternatives; with
/// neither the token never expires.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = CreateUserToken, example = json!({"name": "deploy script", "role": "member", "expires_in": 7776000}))]
#[serde(deny_unknown_fields)]
pub struct CreateUserTokenRequest {
    /// A name for people, 1–200 characters (trimmed).
    #[schema(example = "deploy script", min_length = 1, max_length = 200)]
    pub name: String,
    /// The role it holds in the team; `member` when omitted.
    pub role: Option<RoleDto>,
    /// Seconds from now until it stops authenticating: 1 to 315360000 (ten years).
    #[schema(example = 7776000, minimum = 1, maximum = 315_360_000)]
    pub expires_in: Option<u64>,
    /// The time it stops authenticating (RFC 3339): in the future, at most ten years away.
    #[schema(example = "2027-02-21T10:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A page of user tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = UserTokenPage)]
pub struct UserTokenPage {
    /// The tokens, oldest first.
    pub items: Vec<UserTokenResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
}
