//! The answer of a *use* (`POST …/integrations/{credential_id}/use`, SPEC §10): the one response
//! of the API that holds plaintext secrets of a stored credential. No type here derives `Debug`.

use chrono::{DateTime, Utc};
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_probe::connection::{Connection, PostgresConnection, SftpConnection};
use credvault_usecases::credentials::Release;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::enums::{KindDto, ProviderDto};
use crate::dto::oauth_app::OAuthAppResponse;
use crate::dto::token::serialize_shown_once;
use crate::error::ApiError;

/// A credential released for use: its connection fields and plaintext secrets.
#[derive(Serialize, ToSchema)]
#[schema(as = CredentialUse, example = json!({
    "credential_id": "0192f3a4-1b2c-7d3e-8f40-123456789abc",
    "team_id": "0192f3a4-0000-7000-8000-000000000001",
    "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
    "account_name": "etl@db.internal", "version": 3,
    "extra_data": {"host": "db.internal", "port": 5432, "database": "dw", "username": "etl", "ssl_mode": "require"},
    "secrets": {"password": "s3cret"},
    "connection": {"type": "postgresql",
        "uri": "postgresql://etl:s3cret@db.internal:5432/dw?sslmode=require",
        "params": {"host": "db.internal", "port": "5432", "dbname": "dw", "user": "etl", "password": "s3cret", "sslmode": "require"}},
    "expires_at": null,
    "used_at": "2026-12-02T10:00:00.123456Z",
    "oauth_app_id": null, "oauth_app": null
}))]
pub struct CredentialUseResponse {
    /// The credential's id.
    pub credential_id: Uuid,
    /// The team's id.
    pub team_id: Uuid,
    /// The system it reaches.
    pub provider: ProviderDto,
    /// The shape of its fields.
    pub kind: KindDto,
    /// Display name.
    pub name: String,
    /// The account it signs in as.
    pub account_name: String,
    /// The version released.
    pub version: i64,
    /// The non-secret fields, as `GET` shows them.
    #[schema(value_type = Object)]
    pub extra_data: Map<String, Value>,
    /// The released secrets in plaintext: every stored secret, except for OAuth kinds, which
    /// release only `access_token` (their client secret and refresh token stay in the vault).
    #[serde(serialize_with = "serialize_secret_map")]
    #[schema(value_type = BTreeMap<String, String>, example = json!({"password": "s3cret"}))]
    pub secrets: SecretMap,
    /// How to connect, for PostgreSQL and SFTP credentials; `null` for the others.
    pub connection: Option<ConnectionDto>,
    /// For OAuth kinds, when the access token expires (`extra_data.expires_at`), if known.
    #[schema(example = json!(null))]
    pub expires_at: Option<String>,
    /// When this use was recorded (the `used` event's `at`, and `last_used_at`).
    pub used_at: DateTime<Utc>,
    /// The OAuth app the credential is issued through; `null` when none.
    #[schema(example = json!(null))]
    pub oauth_app_id: Option<Uuid>,
    /// That app, its client secret masked (a use never releases it); `null` when none.
    pub oauth_app: Option<OAuthAppResponse>,
}

impl CredentialUseResponse {
    /// The wire form of a release and its connection.
    pub fn new(release: Release, connection: Option<Connection>) -> Result<Self, ApiError> {
        let Release {
            credential,
            secrets,
            used_at,
            oauth_app,
        } = release;
        let oauth_app_id = credential.oauth_app_id;
        let oauth_app = oauth_app
            .filter(|app| Some(app.id) == oauth_app_id)
            .map(OAuthAppResponse::new)
            .transpose()?;
        let expires_at = credvault_domain::release::is_oauth(credential.kind)
            .then(|| {
                credential
                    .extra_data
                    .get(credvault_domain::release::EXPIRES_AT)
            })
            .flatten()
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            credential_id: credential.id.into(),
            team_id: credential.team_id.into(),
            provider: credential.provider.into(),
            kind: credential.kind.into(),
            name: credential.name,
            account_name: credential.account_name,
            version: credential.version,
            extra_data: credential.extra_data,
            secrets,
            connection: connection.map(ConnectionDto::from),
            expires_at,
            used_at,
            oauth_app_id: oauth_app_id.map(|id| *id.as_uuid()),
            oauth_app,
        })
    }
}

/// How to connect to what the credential points at.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = Connection)]
pub enum ConnectionDto {
    /// A PostgreSQL server: a libpq URI and the same parameters by libpq keyword.
    Postgresql {
        /// `postgresql://user:password@host:port/dbname?sslmode=…`, percent-encoded.
        #[serde(serialize_with = "serialize_shown_once")]
        #[schema(value_type = String)]
        uri: SecretValue,
        /// libpq keyword → value (`host`, `port`, `dbname`, `user`, `password`, `sslmode`, …).
        #[serde(serialize_with = "serialize_params")]
        #[schema(value_type = BTreeMap<String, String>)]
        params: Vec<(String, SecretValue)>,
    },
    /// An SFTP server; the password or private key is in `secrets`.
    Sftp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// User name.
        username: String,
        /// The pinned host key (`SHA256:…`), if any: check the server's key against it.
        host_key_sha256: Option<String>,
    },
}

impl From<Connection> for ConnectionDto {
    fn from(connection: Connection) -> Self {
        match connection {
            Connection::Postgresql(PostgresConnection { uri, params }) => {
                Self::Postgresql { uri, params }
            }
            Connection::Sftp(SftpConnection {
                host,
                port,
                username,
                host_key_sha256,
            }) => Self::Sftp {
                host,
                port,
                username,
                host_key_sha256,
            },
        }
    }
}

fn serialize_secret_map<S: Serializer>(
    secrets: &SecretMap,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(secrets.len()))?;
    for (name, value) in secrets.iter() {
        map.serialize_entry(name, value.expose())?;
    }
    map.end()
}

fn serialize_params<S: Serializer>(
    params: &[(String, SecretValue)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(params.len()))?;
    for (name, value) in params {
        map.serialize_entry(name, value.expose())?;
    }
    map.end()
}
