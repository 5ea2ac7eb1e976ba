//! Fixtures shared by the test modules.

use std::collections::BTreeMap;

use chrono::Utc;
use credvault_domain::audit::{Actor, AuditAction, AuditEvent, SecretEffect};
use credvault_domain::credential::{Credential, CredentialStatus, Health, HealthStatus};
use credvault_domain::edit::{AuditNote, CredentialEdit};
use credvault_domain::ids::{CredentialId, EventId, PrincipalId, RequestId};
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::team::Team;
use credvault_domain::testing::stored_postgres_credential;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Ciphertext, CredentialChange, PageRequest, SecretsUpdate};
use serde_json::json;

/// A team with an owner; returns the team and the owner's principal id.
pub(crate) fn team_with_owner(db: &TestDb, label: &str) -> (Team, PrincipalId) {
    let team = db.store().create_team(&label.parse().unwrap()).unwrap();
    let owner = db
        .store()
        .create_user(
            team.id,
            Role::Owner,
            &format!("token-hash-of-{label}-owner"),
        )
        .unwrap();
    (team, owner)
}

/// A PostgreSQL credential with every field set, timestamps at full (ns) precision: the domain's
/// stored PostgreSQL fixture, in `team`, named `name`, with a description and nested metadata.
pub(crate) fn postgres_credential(team: &Team, actor: PrincipalId, name: &str) -> Credential {
    let now = Utc::now();
    let (template, _) = stored_postgres_credential();
    Credential {
        id: CredentialId::new(),
        team_id: team.id,
        name: name.to_owned(),
        description: Some("the main warehouse".to_owned()),
        status: CredentialStatus::CredentialsSaved,
        metadata: json!({"custom_property": 42, "nested": {"list": [1, "two", null]}})
            .as_object()
            .unwrap()
            .clone(),
        health: Health {
            status: HealthStatus::Healthy,
            notes: vec!["connected in 3 ms".to_owned()],
            checked_at: Some(now),
        },
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: actor,
        modified_by: actor,
        last_used: None,
        ..template
    }
}

pub(crate) fn ciphertext(marker: &str) -> Ciphertext {
    let mut bytes = vec![0x01, 0x00, 0xfe];
    bytes.extend(marker.as_bytes());
    Ciphertext {
        key_id: "k1".to_owned(),
        bytes,
    }
}

/// What the store's audit notes say in these tests: an `action` by user `actor` that changed a
/// host and set a password.
pub(crate) fn note(action: AuditAction, actor: PrincipalId) -> AuditNote {
    AuditNote {
        changed_fields: vec!["extra_data.host".to_owned(), "secrets.password".to_owned()],
        secrets: BTreeMap::from([("password".to_owned(), SecretEffect::Set)]),
        ..AuditNote::new(
            action,
            Actor {
                id: actor,
                kind: PrincipalKind::User,
            },
            RequestId::new(),
        )
    }
}

/// The event of the [`note`] fixture about `credential`, with a new id, stamped now.
pub(crate) fn event(
    credential: &Credential,
    action: AuditAction,
    actor: PrincipalId,
) -> AuditEvent {
    note(action, actor).into_event(
        EventId::new(),
        credential.team_id,
        credential.id,
        Utc::now(),
    )
}

/// An update closure's decision to write `credential`'s caller-owned fields, with the [`note`]
/// fixture's change by `actor`.
pub(crate) fn update(
    credential: Credential,
    secrets: SecretsUpdate,
    actor: PrincipalId,
) -> CredentialChange {
    CredentialChange::Update {
        edit: CredentialEdit::from(credential),
        secrets,
        audit: note(AuditAction::Updated, actor),
    }
}

/// Stores a credential with a ciphertext and its `created` event.
pub(crate) fn insert_credential(
    db: &TestDb,
    team: &Team,
    actor: PrincipalId,
    name: &str,
) -> Credential {
    let credential = postgres_credential(team, actor, name);
    db.store()
        .insert_credential(
            &credential,
            Some(&ciphertext(name)),
            note(AuditAction::Created, actor),
        )
        .unwrap();
    credential
}

pub(crate) fn first_page(limit: u32) -> PageRequest {
    PageRequest { after: None, limit }
}

pub(crate) fn all_events(db: &TestDb, credential: &Credential) -> Vec<AuditEvent> {
    db.store()
        .list_events(credential.team_id, credential.id, first_page(100))
        .unwrap()
        .items
}
