//! Idempotency records: stored per principal and key, answered for 24 hours.

use chrono::{TimeDelta, Utc};
use credvault_domain::principal::Role;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{IdempotencyRecord, StoreError, constraint, truncate_to_micros};

use crate::support::team_with_owner;

credvault_persistence::backend_tests! {
    fn a_record_is_found_conflicts_and_expires_after_a_day(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let other = db
            .store()
            .create_user(team.id, Role::Member, "other-hash")
            .unwrap();
        let store = db.store();
        let created_at = truncate_to_micros(Utc::now());
        let record = IdempotencyRecord {
            principal_id: owner,
            key: "retry-1".to_owned(),
            fingerprint: "sha256:abc".to_owned(),
            status: 201,
            headers: vec![
                ("ETag".to_owned(), "\"1\"".to_owned()),
                (
                    "Location".to_owned(),
                    "/api/v1/teams/acme/integrations/x".to_owned(),
                ),
            ],
            body: b"{\"id\":\"x\",\"secrets\":{\"password\":\"\xe2\x80\xa2\"}}\x00\xff".to_vec(),
            created_at,
        };

        store.insert_idempotency(&record).unwrap();

        assert_eq!(
            store
                .find_idempotency(owner, "retry-1", created_at)
                .unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store
                .find_idempotency(owner, "retry-1", created_at + TimeDelta::hours(23))
                .unwrap(),
            Some(record.clone())
        );
        assert_eq!(
            store
                .find_idempotency(owner, "retry-2", created_at)
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .find_idempotency(other, "retry-1", created_at)
                .unwrap(),
            None
        );
        match store.insert_idempotency(&record) {
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::IDEMPOTENCY_KEY)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        // Keys are per principal.
        store
            .insert_idempotency(&IdempotencyRecord {
                principal_id: other,
                ..record.clone()
            })
            .unwrap();

        let a_day_later = created_at + TimeDelta::hours(24) + TimeDelta::seconds(1);
        assert_eq!(
            store
                .find_idempotency(owner, "retry-1", a_day_later)
                .unwrap(),
            None
        );
        // The expired record is gone, so the key can be used again.
        let renewed = IdempotencyRecord {
            fingerprint: "sha256:def".to_owned(),
            created_at: truncate_to_micros(a_day_later),
            ..record.clone()
        };
        store.insert_idempotency(&renewed).unwrap();
        assert_eq!(
            store
                .find_idempotency(owner, "retry-1", a_day_later)
                .unwrap(),
            Some(renewed)
        );
    }

    fn storing_a_record_purges_those_older_than_a_day(db: &TestDb) {
        let (_, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let old_at = truncate_to_micros(Utc::now()) - TimeDelta::hours(30);
        let old = IdempotencyRecord {
            principal_id: owner,
            key: "old".to_owned(),
            fingerprint: "f".to_owned(),
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
            created_at: old_at,
        };
        store.insert_idempotency(&old).unwrap();
        let recent = IdempotencyRecord {
            key: "recent".to_owned(),
            created_at: old_at + TimeDelta::hours(2),
            ..old.clone()
        };
        store.insert_idempotency(&recent).unwrap();
        assert!(store.find_idempotency(owner, "old", old_at).unwrap().is_some());

        store
            .insert_idempotency(&IdempotencyRecord {
                key: "new".to_owned(),
                created_at: old_at + TimeDelta::hours(25),
                ..old.clone()
            })
            .unwrap();

        // Asked as of the old record's own time, so only the purge can explain its absence.
        assert_eq!(store.find_idempotency(owner, "old", old_at).unwrap(), None);
        assert_eq!(
            store.find_idempotency(owner, "recent", old_at).unwrap(),
            Some(recent)
        );
    }
}
