//! Fixtures for the documentation examples (hidden from the docs).

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::credential::{Credential, CredentialStatus, Health, HealthStatus};
use crate::ids::{CredentialId, PrincipalId, TeamId};
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
        account_name: Some("etl@warehouse".to_owned()),
        status: CredentialStatus::Connected,
        extra_data:
            json!({"host": "db.internal", "port": 5432, "database": "dw", "username": "etl"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        secret_fields: BTreeSet::from(["password".to_owned()]),
        metadata: serde_json::Map::new(),
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
    };
    let mut secrets = SecretMap::new();
    secrets.insert("password".to_owned(), "s3cret".into());
    (credential, secrets)
}
