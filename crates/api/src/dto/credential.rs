//! The integration credential on the wire: the response, and the create and PATCH bodies.
//!
//! The request types document the bodies in OpenAPI. The handlers do not deserialize into them:
//! they hand the JSON to `NewCredential::from_json` / `CredentialPatch::from_json`, which report
//! every unknown key and type error at once and keep absent apart from `null`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credvault_domain::credential::{Credential, Health};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::secret::MASK;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::enums::{CredentialStatusDto, HealthStatusDto, KindDto, ProviderDto};
use crate::dto::oauth_app::OAuthAppResponse;
use crate::error::ApiError;

/// A stored integration credential. Secret values are never returned: `secrets` lists each stored
/// secret field with the mask `"••••"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Credential, example = json!({
    "id": "0192f3a4-1b2c-7d3e-8f40-123456789abc", "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "provider": "postgresql", "kind": "user_password", "name": "Warehouse", "description": null,
    "account_name": "etl@warehouse", "status": "credentials_saved",
    "extra_data": {"host": "db.internal", "port": 5432, "database": "dw", "username": "etl"},
    "secrets": {"password": "••••"}, "metadata": {"custom_property": 42},
    "health": {"status": "unknown", "notes": [], "checked_at": null}, "version": 3,
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T11:00:00Z",
    "created_by": "0192f3a4-0000-7000-8000-0000000000aa", "modified_by": "0192f3a4-0000-7000-8000-0000000000aa",
    "last_used_at": "2026-11-23T12:00:00Z", "last_used_by": "0192f3a4-0000-7000-8000-0000000000bb",
    "oauth_app_id": null, "oauth_app": null, "health_check_interval_seconds": 3600
}))]
pub struct CredentialResponse {
    /// The credential's id (UUID v7).
    #[schema(example = "0192f3a4-1b2c-7d3e-8f40-123456789abc")]
    pub id: Uuid,
    /// The owning team's id.
    #[schema(example = "0192f3a4-0000-7000-8000-000000000001")]
    pub team_id: Uuid,
    /// The system it reaches; immutable.
    pub provider: ProviderDto,
    /// The shape of its fields; immutable.
    pub kind: KindDto,
    /// Display name, 1–200 characters.
    #[schema(example = "Warehouse")]
    pub name: String,
    /// Free text, at most 500 characters.
    #[schema(example = json!(null))]
    pub description: Option<String>,
    /// The account it signs in as, 1–200 characters: the one given, or else derived from the
    /// non-secret fields (`username@host`, the access key id, the client id, …; at last the
    /// provider's name).
    #[schema(example = "etl@warehouse")]
    pub account_name: String,
    /// Life-cycle status.
    pub status: CredentialStatusDto,
    /// Non-secret connection settings of the kind's schema, plus any undeclared non-secret keys.
    #[schema(value_type = Object, example = json!({"host": "db.internal", "port": 5432, "database": "dw", "username": "etl"}))]
    pub extra_data: Map<String, Value>,
    /// Each stored secret field, masked. An unset secret field is absent.
    #[schema(example = json!({"password": "••••"}))]
    pub secrets: BTreeMap<String, String>,
    /// Free-form client data, changed by RFC 7396 merge patches.
    #[schema(value_type = Object, example = json!({"custom_property": 42}))]
    pub metadata: Map<String, Value>,
    /// The outcome of the last connection test.
    pub health: HealthResponse,
    /// Starts at 1 and rises on every change; also sent as `ETag: "<version>"`.
    #[schema(example = 3)]
    pub version: i64,
    /// Creation time.
    #[schema(example = "2026-11-23T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    #[schema(example = "2026-11-23T11:00:00Z")]
    pub updated_at: DateTime<Utc>,
    /// The principal that created it.
    #[schema(example = "0192f3a4-0000-7000-8000-0000000000aa")]
    pub created_by: Uuid,
    /// The principal that changed it last.
    #[schema(example = "0192f3a4-0000-7000-8000-0000000000aa")]
    pub modified_by: Uuid,
    /// When a service account holding a grant last used it (`POST …/use`); `null` if never.
    /// A use is not a change: it moves neither `version` nor `updated_at`.
    #[schema(example = "2026-11-23T12:00:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The principal (a service account's) that last used it; `null` if never.
    #[schema(example = "0192f3a4-0000-7000-8000-0000000000bb")]
    pub last_used_by: Option<Uuid>,
    /// The caller's permissions: resource type → permission → granted, with `integrations.use`
    /// saying whether the caller may use this credential. Only present with
    /// `expand[]=permissions` on `GET …/integrations/{credential_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        value_type = Option<BTreeMap<String, BTreeMap<String, bool>>>,
        example = json!({"integrations": {"read": true, "update": false, "use": true}})
    )]
    pub permissions: Option<crate::dto::service_account::Permissions>,
    /// The OAuth app of the team this credential is issued through (OAuth kinds only), which
    /// then supplies the client id and secret; `null` when none.
    #[schema(example = json!(null))]
    pub oauth_app_id: Option<Uuid>,
    /// The app `oauth_app_id` names, its client secret masked; `null` when none.
    pub oauth_app: Option<OAuthAppResponse>,
    /// How often, in seconds, credvault runs this credential's connection test by itself and
    /// records its `health` and `status`; `null` when it does not.
    #[schema(example = 3600, minimum = 60, maximum = 604800)]
    pub health_check_interval_seconds: Option<u32>,
}

impl CredentialResponse {
    /// The wire form of a credential and the OAuth app it is linked to (`None` when none),
    /// secrets masked.
    pub fn new(credential: Credential, oauth_app: Option<OAuthApp>) -> Result<Self, ApiError> {
        let Credential {
            id,
            team_id,
            provider,
            kind,
            name,
            description,
            account_name,
            status,
            extra_data,
            secret_fields,
            metadata,
            health,
            version,
            created_at,
            updated_at,
            created_by,
            modified_by,
            last_used,
            oauth_app_id,
            health_check_interval_seconds,
        } = credential;
        let oauth_app = oauth_app
            .filter(|app| Some(app.id) == oauth_app_id)
            .map(OAuthAppResponse::new)
            .transpose()?;
        Ok(Self {
            id: id.into(),
            team_id: team_id.into(),
            provider: provider.into(),
            kind: kind.into(),
            name,
            description,
            account_name,
            status: status.into(),
            extra_data,
            secrets: secret_fields
                .into_iter()
                .map(|field| (field, MASK.to_owned()))
                .collect(),
            metadata,
            health: health.into(),
            version,
            created_at,
            updated_at,
            created_by: created_by.into(),
            modified_by: modified_by.into(),
            last_used_at: last_used.map(|last| last.at),
            last_used_by: last_used.map(|last| last.by.into()),
            permissions: None,
            oauth_app_id: oauth_app_id.map(|id| *id.as_uuid()),
            oauth_app,
            health_check_interval_seconds,
        })
    }
}

/// The credential's health as seen by the last connection test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Health)]
pub struct HealthResponse {
    /// The outcome.
    pub status: HealthStatusDto,
    /// Notes about the outcome; never contain a secret.
    #[schema(example = json!([]))]
    pub notes: Vec<String>,
    /// When the test ran; `null` when never tested since the last relevant change.
    #[schema(example = json!(null))]
    pub checked_at: Option<DateTime<Utc>>,
}

impl From<Health> for HealthResponse {
    fn from(health: Health) -> Self {
        let Health {
            status,
            notes,
            checked_at,
        } = health;
        Self {
            status: status.into(),
            notes,
            checked_at,
        }
    }
}

/// The body of a create. Secrets go inside `extra_data` under their field names; they are
/// encrypted and never stored or returned in plain text.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = CreateCredential, example = json!({
    "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
    "account_name": "etl@warehouse",
    "extra_data": {"host": "db.internal", "port": 5432, "database": "dw", "username": "etl", "password": "s3cret"},
    "metadata": {"custom_property": 42}
}))]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// The system the credential reaches.
    pub provider: ProviderDto,
    /// The shape of its fields; must be one of the provider's kinds.
    pub kind: KindDto,
    /// Display name, 1–200 characters (trimmed).
    #[schema(example = "Warehouse", min_length = 1, max_length = 200)]
    pub name: String,
    /// Free text, at most 500 characters.
    #[schema(example = "Nightly ETL target", max_length = 500)]
    pub description: Option<String>,
    /// The account it signs in as, at most 200 characters; absent, `null` or `""` derives one
    /// from the non-secret fields (`username@host`, the access key id, the client id, …).
    #[schema(example = "etl@warehouse", max_length = 200)]
    pub account_name: Option<String>,
    /// Defaults to `credentials_saved` when every required secret is present, else `pending`.
    pub status: Option<CredentialStatusDto>,
    /// OAuth kinds only: the id of an OAuth app of the team and of the same provider, which then
    /// supplies the client id and secret (`extra_data.client_id` and `client_secret` are then
    /// optional). Another team's app is refused like an unknown id.
    pub oauth_app_id: Option<Uuid>,
    /// PostgreSQL (`postgresql`, `internal_postgresql`) `user_password` and SFTP credentials
    /// only: run the stored connection test every so many seconds (60 to 604800), the first
    /// time right after the write, and record its `health` and `status`; absent or `null` for
    /// no scheduled checks.
    #[schema(example = json!(null), minimum = 60, maximum = 604800)]
    pub health_check_interval_seconds: Option<u32>,
    /// Connection settings and secrets. At most 16 KiB of JSON once secrets are taken out; an
    /// undeclared key whose name looks secret is refused.
    #[schema(value_type = Object, example = json!({"host": "db.internal", "port": 5432, "database": "dw", "username": "etl", "password": "s3cret"}))]
    pub extra_data: Map<String, Value>,
    /// Free-form client data, at most 16 KiB of JSON.
    #[schema(value_type = Option<Object>, example = json!({"custom_property": 42}))]
    pub metadata: Option<Map<String, Value>>,
}

/// A partial update. Every field is optional; an omitted field keeps its stored value.
///
/// - `extra_data` is merged key by key at the top level: a key's new value replaces the old one
///   wholesale (nested objects too), `null` deletes a non-secret key.
/// - A secret key inside `extra_data` sent as `""`, `null` or `"••••"` keeps the stored secret;
///   any other string replaces it (encrypted; never written to `extra_data`).
/// - `metadata` is an RFC 7396 merge patch.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = PatchCredential, example = json!({
    "extra_data": {"host": "db2.internal", "password": "••••"},
    "metadata": {"custom_property": 43, "old_key": null}
}))]
#[serde(deny_unknown_fields)]
pub struct PatchCredentialRequest {
    /// Immutable: accepted only when equal to the stored provider.
    pub provider: Option<ProviderDto>,
    /// Immutable: accepted only when equal to the stored kind.
    pub kind: Option<KindDto>,
    /// Display name, 1–200 characters (trimmed); `null` is refused.
    #[schema(value_type = String, required = false, example = "Warehouse (new)", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// At most 500 characters; `null` clears it.
    #[schema(example = json!(null), max_length = 500)]
    pub description: Option<String>,
    /// At most 200 characters; `null` or `""` derives it from the non-secret fields. Omitted, a
    /// derived name follows changes of those fields, and a name set explicitly stays.
    #[schema(example = "etl@warehouse", max_length = 200)]
    pub account_name: Option<String>,
    /// A new status; `null` keeps the stored one. Without it, changing a secret or connection
    /// field of a `connected`, `error` or `expired` credential moves it to `credentials_saved`.
    pub status: Option<CredentialStatusDto>,
    /// Top-level shallow merge of connection settings and secrets (see above).
    #[schema(value_type = Option<Object>, example = json!({"host": "db2.internal", "password": "••••"}))]
    pub extra_data: Option<Map<String, Value>>,
    /// RFC 7396 merge patch of `metadata`; `null` inside deletes a key.
    #[schema(value_type = Option<Object>, example = json!({"custom_property": 43, "old_key": null}))]
    pub metadata: Option<Value>,
    /// Optional secret fields to remove; naming a required one is a `422`.
    #[schema(example = json!(["passphrase"]))]
    pub clear_secrets: Option<Vec<String>>,
    /// OAuth kinds only: link the credential to an OAuth app of the team and of the same
    /// provider (it then supplies the client id and secret); `null` unlinks it, after which the
    /// credential needs its own `client_id` (and, to stay `credentials_saved`, `client_secret`).
    /// Another team's app is refused like an unknown id.
    pub oauth_app_id: Option<Uuid>,
    /// PostgreSQL (`postgresql`, `internal_postgresql`) `user_password` and SFTP credentials
    /// only: run the stored connection test every so many seconds (60 to 604800), the first
    /// time right after the write; `null` turns the scheduled checks off. Changing it keeps the
    /// status and health.
    #[schema(example = json!(null), minimum = 60, maximum = 604800)]
    pub health_check_interval_seconds: Option<u32>,
}
