//! The credential use cases: what an update stamps, that a dry run and a test's preparation
//! write nothing, and what a test records.

use credvault_domain::audit::AuditAction;
use credvault_domain::authz::Denied;
use credvault_domain::credential::{CredentialStatus, HealthStatus};
use credvault_domain::patch::CredentialPatch;
use credvault_domain::principal::Role;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, StoreError};
use credvault_usecases::Error;
use credvault_usecases::credentials::{self, PatchRequest};
use serde_json::json;

use crate::support::{key_ring, team, warehouse};

fn patch(body: serde_json::Value) -> CredentialPatch {
    CredentialPatch::from_json(body).unwrap()
}

fn events(
    db: &TestDb,
    credential: &credvault_domain::credential::Credential,
) -> Vec<credvault_domain::audit::AuditEvent> {
    db.store()
        .list_events(
            credential.team_id,
            credential.id,
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .unwrap()
        .items
}

credvault_persistence::backend_tests! {
    fn create_stamps_one_instant_for_the_row_and_its_event(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential, created);
        let trail = events(db, &created);
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].action, AuditAction::Created);
        assert_eq!(trail[0].at, created.created_at);
        assert_eq!(created.updated_at, created.created_at);
        assert_eq!(trail[0].actor, team.owner.actor);
    }

    fn update_is_stamped_by_the_store_with_one_instant(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let body = patch(json!({"name": "Renamed", "extra_data": {"password": "second"}}));
        let mut editor = team.owner;
        editor.request_id = credvault_domain::ids::RequestId::new();
        let request = PatchRequest {
            team_id: team.id,
            credential_id: created.id,
            expected_version: Some(1),
            patch: &body,
            caller: editor,
        };
        let updated = credentials::update(db.store(), &key_ring, &request)
            .unwrap()
            .credential;

        assert_eq!((updated.version, updated.name.as_str()), (2, "Renamed"));
        assert_eq!((updated.id, updated.created_at), (created.id, created.created_at));
        assert_eq!(updated.modified_by, editor.actor.id);
        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential, updated, "what is returned is what is stored");
        let opened = credvault_usecases::secrets::open(&key_ring, &stored).unwrap();
        assert_eq!(opened.get("password").unwrap().expose(), "second");
        let trail = events(db, &created);
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[1].at, updated.updated_at);
        assert_eq!(trail[1].request_id, editor.request_id);
        assert_eq!(trail[1].changed_fields, ["name", "secrets.password"]);

        // A stale If-Match is the store's VersionMismatch; nothing is written.
        let stale = credentials::update(db.store(), &key_ring, &request);
        assert!(
            matches!(stale, Err(Error::Store(StoreError::VersionMismatch { current: 2 }))),
            "{stale:?}"
        );
        // A patch that changes nothing writes nothing.
        let same = patch(json!({"name": "Renamed"}));
        let unchanged = credentials::update(
            db.store(),
            &key_ring,
            &PatchRequest { patch: &same, expected_version: None, ..request },
        )
        .unwrap();
        assert_eq!(unchanged.credential, updated);
        assert_eq!(events(db, &created).len(), 2);
    }

    fn dry_run_answers_the_would_be_credential_and_writes_nothing(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let body = patch(json!({"extra_data": {"host": "db2.internal", "password": "other"}}));
        let request = PatchRequest {
            team_id: team.id,
            credential_id: created.id,
            expected_version: Some(1),
            patch: &body,
            caller: team.owner,
        };
        let would_be = credentials::dry_run(db.store(), &key_ring, &request)
            .unwrap()
            .credential;
        assert_eq!(would_be.extra_data["host"], "db2.internal");
        assert_eq!(would_be.version, 1);

        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential, created);
        let opened = credvault_usecases::secrets::open(&key_ring, &stored).unwrap();
        assert_eq!(opened.get("password").unwrap().expose(), "first");
        assert_eq!(events(db, &created).len(), 1);

        // The same If-Match check as a real PATCH, and the same validation.
        let stale = credentials::dry_run(
            db.store(),
            &key_ring,
            &PatchRequest { expected_version: Some(7), ..request },
        );
        assert!(
            matches!(stale, Err(Error::Store(StoreError::VersionMismatch { current: 1 }))),
            "{stale:?}"
        );
        let invalid = patch(json!({"extra_data": {"port": "not a port"}}));
        let refused = credentials::dry_run(
            db.store(),
            &key_ring,
            &PatchRequest { patch: &invalid, ..request },
        );
        assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
        let missing = credentials::dry_run(
            db.store(),
            &key_ring,
            &PatchRequest { credential_id: credvault_domain::ids::CredentialId::new(), ..request },
        );
        assert!(matches!(missing, Err(Error::Store(StoreError::NotFound))), "{missing:?}");
    }

    fn a_test_records_its_outcome_without_a_new_version(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let prepared = credentials::prepare_test(
            db.store(), &key_ring, team.id, created.id, Role::Member, team.member, None,
        )
        .unwrap();
        assert_eq!(prepared.subject.credential, created);
        assert_eq!(prepared.subject.secrets.get("password").unwrap().expose(), "first");
        assert!(!prepared.pending.tests_changes());
        assert_eq!(events(db, &created).len(), 1, "preparing writes nothing");

        credentials::record_test(db.store(), prepared.pending, true, "connected".to_owned())
            .unwrap();
        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential.version, 1);
        assert_eq!(stored.credential.status, CredentialStatus::Connected);
        assert_eq!(stored.credential.health.status, HealthStatus::Healthy);
        let trail = events(db, &created);
        assert_eq!(trail[1].action, AuditAction::Tested);
        assert_eq!(trail[1].actor, team.member.actor);
        assert_eq!(trail[1].changed_fields, ["status", "health"]);
        assert_eq!(Some(trail[1].at), stored.credential.health.checked_at);
    }

    fn a_test_body_is_planned_like_a_patch_and_saves_nothing(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let elsewhere = patch(json!({"extra_data": {"host": "attacker.example"}}));
        // A member may not send the stored password to another host.
        let denied = credentials::prepare_test(
            db.store(), &key_ring, team.id, created.id, Role::Member, team.member, Some(&elsewhere),
        );
        assert!(matches!(denied, Err(Error::Denied(Denied::Forbidden))), "{denied:?}");

        let prepared = credentials::prepare_test(
            db.store(), &key_ring, team.id, created.id, Role::Owner, team.owner, Some(&elsewhere),
        )
        .unwrap();
        assert!(prepared.pending.tests_changes());
        assert_eq!(prepared.subject.credential.extra_data["host"], "attacker.example");
        assert_eq!(prepared.subject.secrets.get("password").unwrap().expose(), "first");
        credentials::record_test(db.store(), prepared.pending, false, "refused".to_owned())
            .unwrap();

        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential, created, "a body's test saves nothing on the credential");
        let trail = events(db, &created);
        // The warehouse's account name was derived (`username@host`), so it follows the host.
        assert_eq!(
            trail[1].changed_fields,
            ["body", "body.account_name", "body.extra_data.host"]
        );
    }

    fn delete_removes_the_credential_and_ends_its_trail(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        credentials::delete(db.store(), team.id, created.id, team.owner).unwrap();
        assert!(db.store().find_credential(team.id, created.id).unwrap().is_none());
        let trail = events(db, &created);
        assert_eq!(trail.last().unwrap().action, AuditAction::Deleted);
        let again = credentials::delete(db.store(), team.id, created.id, team.owner);
        assert!(matches!(again, Err(Error::Store(StoreError::NotFound))), "{again:?}");
    }
}

#[test]
fn plan_is_pure_and_says_whether_anything_changes() {
    let (stored, stored_secrets) = credvault_domain::testing::stored_postgres_credential();
    let same = credentials::plan(&stored, None, &patch(json!({"name": stored.name}))).unwrap();
    assert!(!same.changes_anything());
    assert_eq!(same.credential(), &stored);

    let moved = patch(json!({"extra_data": {"host": "db2.internal"}}));
    let plan = credentials::plan(&stored, None, &moved).unwrap();
    assert!(plan.changes_anything());
    assert_eq!(
        plan.changed_fields(),
        ["extra_data.host", "status", "health"]
    );
    assert_eq!(plan.credential().status, CredentialStatus::CredentialsSaved);

    // A secret change needs the stored secrets; without them it is a broken invariant, not
    // the caller's fault.
    let rotate = patch(json!({"extra_data": {"password": "new"}}));
    let unloaded = credentials::plan(&stored, None, &rotate);
    assert!(
        matches!(unloaded, Err(Error::Inconsistent(_))),
        "{unloaded:?}"
    );
    let rotated = credentials::plan(&stored, Some(&stored_secrets), &rotate).unwrap();
    assert_eq!(rotated.secret_effects().len(), 1);
}
