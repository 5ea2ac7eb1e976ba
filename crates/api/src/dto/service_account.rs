//! Service accounts and their client credentials on the wire (SPEC §6).
//!
//! The request types document the bodies in OpenAPI; the handlers parse bodies by hand
//! (`handlers::service_accounts::input`) so that every unknown key and bad value is reported at
//! once and an omitted `description` stays apart from `null`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credvault_domain::authz::permissions;
use credvault_domain::principal::Role;
use credvault_domain::secret::SecretValue;
use credvault_domain::service_account::{ClientCredential, ServiceAccount};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::dto::token::serialize_shown_once;

/// The caller's permissions: resource type → permission name → granted.
pub type Permissions = BTreeMap<String, BTreeMap<String, bool>>;

/// The permissions view of a caller holding `role` in the team, as `authz::authorize` decides.
pub fn permissions_of(role: Role) -> Permissions {
    owned(permissions(Some(role)))
}

/// A permissions view of `domain::authz` in its wire form.
pub fn owned(view: BTreeMap<&'static str, BTreeMap<&'static str, bool>>) -> Permissions {
    view.into_iter()
        .map(|(resource, granted)| {
            let granted = granted
                .into_iter()
                .map(|(permission, allowed)| (permission.to_owned(), allowed))
                .collect();
            (resource.to_owned(), granted)
        })
        .collect()
}

/// A role in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role, example = "member")]
pub enum RoleDto {
    /// Reads credentials and service accounts, tests credentials.
    Member,
    /// Everything a member may do, plus create, PATCH and DELETE.
    Owner,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => Self::Member,
            Role::Owner => Self::Owner,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Member => Self::Member,
            RoleDto::Owner => Self::Owner,
        }
    }
}

/// A service account: a non-human principal of a team that signs in with client credentials and
/// acts with its own role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServiceAccount, example = json!({
    "id": "0192f3a4-2222-7000-8000-000000000001", "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "principal_id": "0192f3a4-3333-7000-8000-000000000001", "name": "nightly-etl",
    "description": "Loads the warehouse every night", "role": "member",
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T11:00:00Z"
}))]
pub struct ServiceAccountResponse {
    /// The account's id (UUID v7).
    #[schema(example = "0192f3a4-2222-7000-8000-000000000001")]
    pub id: Uuid,
    /// The team it belongs to.
    #[schema(example = "0192f3a4-0000-7000-8000-000000000001")]
    pub team_id: Uuid,
    /// The principal its tokens act as; audit events name it as their actor.
    #[schema(example = "0192f3a4-3333-7000-8000-000000000001")]
    pub principal_id: Uuid,
    /// Display name, 1–200 characters.
    #[schema(example = "nightly-etl")]
    pub name: String,
    /// Free text, at most 500 characters.
    #[schema(example = "Loads the warehouse every night")]
    pub description: Option<String>,
    /// The role its tokens hold in the team; fixed at creation.
    pub role: RoleDto,
    /// Creation time.
    #[schema(example = "2026-11-23T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    #[schema(example = "2026-11-23T11:00:00Z")]
    pub updated_at: DateTime<Utc>,
    /// The caller's permissions in the team: resource type → permission → granted. Only present
    /// with `expand[]=permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        value_type = Option<BTreeMap<String, BTreeMap<String, bool>>>,
        example = json!({"service_accounts": {"read": true, "create": false, "update": false, "delete": false}})
    )]
    pub permissions: Option<Permissions>,
}

impl ServiceAccountResponse {
    /// The wire form of an account, with the caller's permissions when asked for.
    pub fn new(account: ServiceAccount, permissions: Option<Permissions>) -> Self {
        let ServiceAccount {
            id,
            team_id,
            principal_id,
            name,
            description,
            role,
            created_at,
            updated_at,
        } = account;
        Self {
            id: id.into(),
            team_id: team_id.into(),
            principal_id: principal_id.into(),
            name,
            description,
            role: role.into(),
            created_at,
            updated_at,
            permissions,
        }
    }
}

/// The body of a service account create.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = CreateServiceAccount, example = json!({
    "name": "nightly-etl", "description": "Loads the warehouse every night", "role": "member"
}))]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    /// Display name, 1–200 characters (trimmed).
    #[schema(example = "nightly-etl", min_length = 1, max_length = 200)]
    pub name: String,
    /// Free text, at most 500 characters.
    #[schema(example = "Loads the warehouse every night", max_length = 500)]
    pub description: Option<String>,
    /// The role its tokens hold in the team; `member` when omitted.
    pub role: Option<RoleDto>,
}

/// A partial update of a service account; an omitted field keeps its stored value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = PatchServiceAccount, example = json!({"description": null}))]
#[serde(deny_unknown_fields)]
pub struct PatchServiceAccountRequest {
    /// Display name, 1–200 characters (trimmed); `null` is refused.
    #[schema(value_type = String, required = false, example = "nightly-etl-v2", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// At most 500 characters; `null` clears it.
    #[schema(example = json!(null), max_length = 500)]
    pub description: Option<String>,
}

/// A service account credential (without secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServiceAccountCredential, example = json!({
    "id": "0192f3a4-4444-7000-8000-000000000001",
    "client_id": "cvc_Xq3v9Rk2mP0sT7wYbN4hJ8cL1dF6gA5eZ2uI9oK3r0Q",
    "created_at": "2026-11-23T10:00:00Z", "name": "ci", "description": "GitHub Actions",
    "last_used_at": "2026-11-23T12:00:00Z"
}))]
pub struct ServiceAccountCredentialResponse {
    /// The credential's id (UUID v7).
    #[schema(example = "0192f3a4-4444-7000-8000-000000000001")]
    pub id: Uuid,
    /// The client id for authentication; public, sent to `POST /api/v1/auth/token`.
    #[schema(example = "cvc_Xq3v9Rk2mP0sT7wYbN4hJ8cL1dF6gA5eZ2uI9oK3r0Q")]
    pub client_id: String,
    /// The time the credential was created, in UTC.
    #[schema(example = "2026-11-23T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// A name for the credential to be displayed in UI.
    #[schema(example = "ci")]
    pub name: String,
    /// Optional description of the credential, at most 500 characters.
    #[schema(example = "GitHub Actions")]
    pub description: Option<String>,
    /// When the credential was last exchanged for a token; `null` if never.
    #[schema(example = "2026-11-23T12:00:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Permissions granted to the caller in the team: resource type → permission → granted. Only
    /// present with `expand[]=permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        value_type = Option<BTreeMap<String, BTreeMap<String, bool>>>,
        example = json!({"service_accounts": {"read": true, "create": true, "update": true, "delete": true}})
    )]
    pub permissions: Option<Permissions>,
}

impl ServiceAccountCredentialResponse {
    /// The wire form of a client credential, with the caller's permissions when asked for.
    pub fn new(credential: ClientCredential, permissions: Option<Permissions>) -> Self {
        let ClientCredential {
            id,
            service_account_id: _,
            client_id,
            name,
            description,
            created_at,
            last_used_at,
        } = credential;
        Self {
            id: id.into(),
            client_id,
            created_at,
            name,
            description,
            last_used_at,
            permissions,
        }
    }
}

/// A newly created service account credential: the only response that holds its secret.
// No `Debug`: it holds the client secret.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceAccountCredentialWithSecret, example = json!({
    "id": "0192f3a4-4444-7000-8000-000000000001",
    "client_id": "cvc_Xq3v9Rk2mP0sT7wYbN4hJ8cL1dF6gA5eZ2uI9oK3r0Q",
    "client_secret": "cvs_bG9uZy1yYW5kb20tc2VjcmV0LXNob3duLW9uY2UtMDAw",
    "created_at": "2026-11-23T10:00:00Z", "name": "ci", "description": "GitHub Actions",
    "last_used_at": null
}))]
pub struct CreatedServiceAccountCredentialResponse {
    /// The stored credential.
    #[serde(flatten)]
    pub credential: ServiceAccountCredentialResponse,
    /// The client secret. Shown in this response only: it is stored as a hash and cannot be
    /// read again; lose it and create a new credential.
    #[serde(serialize_with = "serialize_shown_once")]
    #[schema(value_type = String, example = "cvs_bG9uZy1yYW5kb20tc2VjcmV0LXNob3duLW9uY2UtMDAw")]
    pub client_secret: SecretValue,
}

/// The body of a service account credential create.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = CreateServiceAccountCredential, example = json!({"name": "ci", "description": "GitHub Actions"}))]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountCredentialRequest {
    /// Credential name, 1–200 characters (trimmed).
    #[schema(example = "ci", min_length = 1, max_length = 200)]
    pub name: String,
    /// Optional description of the credential, at most 500 characters.
    #[schema(example = "GitHub Actions", max_length = 500)]
    pub description: Option<String>,
}

/// A partial update of a service account credential; an omitted field keeps its stored value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = PatchServiceAccountCredential, example = json!({"name": "ci-main", "description": null}))]
#[serde(deny_unknown_fields)]
pub struct PatchServiceAccountCredentialRequest {
    /// Credential name, 1–200 characters (trimmed); `null` is refused.
    #[schema(value_type = String, required = false, example = "ci-main", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Optional description of the credential, at most 500 characters; `null` clears it.
    #[schema(example = json!(null), max_length = 500)]
    pub description: Option<String>,
}

/// A page of service accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServiceAccountPage)]
pub struct ServiceAccountPage {
    /// The accounts, oldest first.
    pub items: Vec<ServiceAccountResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
}

/// A page of service account credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServiceAccountCredentialPage)]
pub struct ServiceAccountCredentialPage {
    /// The credentials, oldest first.
    pub items: Vec<ServiceAccountCredentialResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
}

/// An optional part of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Expand, example = "permissions")]
pub enum ExpandDto {
    /// The caller's permissions in the team.
    Permissions,
}

/// The `expand[]` query parameter, for OpenAPI; the handlers read it with
/// `handlers::service_accounts::Expand`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandQuery {
    /// Optional parts to add to the response: `permissions` adds the caller's `permissions`.
    /// `expand=permissions` is accepted too; an unknown value is a `400`.
    #[serde(rename = "expand[]")]
    #[param(rename = "expand[]", value_type = Option<Vec<ExpandDto>>, inline, style = Form, explode, example = json!(["permissions"]))]
    pub expand: Option<Vec<String>>,
}
