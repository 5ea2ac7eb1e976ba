//! Fixtures for tests, benches and documentation examples: stored credentials built by hand
//! or through the real create path.
//!
//! Compiled for this crate's own tests and, elsewhere, with the `testing` feature (which other
//! crates enable in their `[dev-dependencies]` only).

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::credential::{Credential, CredentialStatus, Health, HealthStatus};
use crate::ids::{CredentialId, PrincipalId, TeamId};
use crate::patch::{NewCredential, new_credential};
use crate::schema::{Kind, Provider};
use crate::secret::SecretMap;

/// A connected PostgreSQL credential with a stored password, and its secrets.
pub fn stored_postgres_credential() -> (Credential, SecretMap) {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let principal = PrincipalId::new();
    let credential = Credential {
        id: CredentialId::new(),
        team_id: TeamId::new(),
        provider: Provider::Postgresql,
        kind: Kind::UserPassword,
        name: "Warehouse".to_owned(),
        description: None,
        account_name: "etl@warehouse".to_owned(),
        status: CredentialStatus::Connected,
        extra_data:
            json!({"host": "db.internal", "port": 5432, "database": "dw", "username": "etl"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        secret_fields: BTreeSet::from(["password".to_owned()]),
        metadata: serde_json::Map::new(),
        oauth_app_id: None,
        health_check_interval_seconds: None,
        health: Health {
            status: HealthStatus::Healthy,
            notes: Vec::new(),
            checked_at: Some(at),
        },
        version: 3,
        created_at: at,
        updated_at: at,
        created_by: principal,
        modified_by: principal,
        last_used: None,
    };
    let mut secrets = SecretMap::new();
    secrets.insert("password".to_owned(), "s3cret".into());
    (credential, secrets)
}

/// A connected Google OAuth credential that stores a client secret, an access token and a
/// refresh token (without `expires_at`); built from [`stored_postgres_credential`].
pub fn stored_oauth_credential() -> Credential {
    let (template, _) = stored_postgres_credential();
    Credential {
        provider: Provider::Google,
        kind: Kind::GoogleOauth,
        name: "Drive".to_owned(),
        account_name: "etl@example.com".to_owned(),
        extra_data: json!({"client_id": "client-1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        secret_fields: BTreeSet::from([
            "access_token".to_owned(),
            "client_secret".to_owned(),
            "refresh_token".to_owned(),
        ]),
        ..template
    }
}

/// A credential created from a create `body` through the real parse and create path, with its
/// secrets, in a fresh team. Panics when the body is refused.
///
/// ```
/// use credvault_domain::testing::created_credential;
/// use serde_json::json;
///
/// let (credential, secrets) = created_credential(json!({
///     "provider": "stripe", "kind": "api_key", "name": "billing",
///     "extra_data": {"api_key": "sk_test_1"}
/// }));
/// assert_eq!(credential.status.as_str(), "credentials_saved");
/// assert_eq!(secrets.get("api_key").unwrap().expose(), "sk_test_1");
/// ```
#[expect(
    clippy::expect_used,
    reason = "a fixture that cannot be built fails the test loudly"
)]
pub fn created_credential(body: Value) -> (Credential, SecretMap) {
    let input = NewCredential::from_json(body).expect("create body parses");
    let created = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        Utc::now(),
    )
    .expect("create validates");
    (created.credential, created.secrets)
}
