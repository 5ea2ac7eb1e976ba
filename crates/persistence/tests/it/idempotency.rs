//! Idempotency records: a claim decides which request runs, the response is stored with the
//! write it records, stale claims and day-old records give the key back.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::audit::AuditAction;
use credvault_domain::ids::PrincipalId;
use credvault_domain::principal::Role;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{
    CredentialChange, IDEMPOTENCY_CLAIM_TIMEOUT, IDEMPOTENCY_RETENTION, IdempotencyClaim,
    IdempotencyRecord, Reservation, SecretsUpdate, Store, StoreError, StoreOptions, StoredResponse,
    UpdateError, constraint,
};

use crate::support::{
    all_events, ciphertext, first_page, insert_credential, note, postgres_credential,
    team_with_owner,
};

const FINGERPRINT: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn reserve(store: &Store, principal_id: PrincipalId, key: &str, now: DateTime<Utc>) -> Reservation {
    store
        .reserve_idempotency(principal_id, key, FINGERPRINT, "k1", now)
        .unwrap()
}

fn claimed(reservation: Reservation) -> IdempotencyClaim {
    match reservation {
        Reservation::Claimed(claim) => claim,
        Reservation::Taken(record) => panic!("expected a claim, the key is taken: {record:?}"),
    }
}

fn taken(reservation: Reservation) -> IdempotencyRecord {
    match reservation {
        Reservation::Taken(record) => record,
        Reservation::Claimed(claim) => panic!("expected the key taken, got {claim:?}"),
    }
}

fn response(body: &[u8]) -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("etag".to_owned(), "\"1\"".to_owned()),
        ],
        body: body.to_vec(),
    }
}

fn assert_lost_claim<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict { constraint }) => {
            assert_eq!(constraint, constraint::IDEMPOTENCY_KEY)
        }
        other => panic!("expected the lost-claim conflict, got {other:?}"),
    }
}

/// A second store on the same database: another server instance.
fn other_instance(db: &TestDb) -> Store {
    let options = StoreOptions {
        pool_size: 4,
        connection_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    };
    Store::open(db.url(), &options).unwrap()
}

credvault_persistence::backend_tests! {
    fn a_claim_holds_the_key_per_principal_until_released(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let other = db.store().create_user(team.id, Role::Owner, "other-hash").unwrap();
        let store = db.store();
        let now = credvault_domain::time::now();

        let claim = claimed(reserve(store, owner, "key-1", now));
        assert_eq!((claim.principal_id, claim.key.as_str()), (owner, "key-1"));
        let record = taken(reserve(store, owner, "key-1", now + TimeDelta::seconds(1)));
        assert_eq!(
            record,
            IdempotencyRecord {
                principal_id: owner,
                key: "key-1".to_owned(),
                fingerprint: FINGERPRINT.to_owned(),
                fingerprint_key_id: "k1".to_owned(),
                response: None,
                created_at: now,
            }
        );
        // Keys are per principal.
        claimed(reserve(store, other, "key-1", now));

        store.release_idempotency(&claim).unwrap();
        assert_eq!(store.find_idempotency(owner, "key-1", now).unwrap(), None);
        let again = claimed(reserve(store, owner, "key-1", now));
        assert_ne!(again, claim, "a new claim has a new id");
        // The old claim can no longer release the new one.
        store.release_idempotency(&claim).unwrap();
        taken(reserve(store, owner, "key-1", now));
    }

    fn the_response_is_stored_in_the_transaction_of_the_insert(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let now = credvault_domain::time::now();
        let claim = claimed(reserve(store, owner, "create-1", now));
        let credential = postgres_credential(&team, owner, "Warehouse");
        let created = note(AuditAction::Created, owner);
        let first = response(b"{\"id\":\"x\",\"secrets\":{\"password\":\"\xe2\x80\xa2\"}}\x00\xff");

        store
            .insert_credential_completing(
                &credential, Some(&ciphertext("w")), created, &claim, &first,
            )
            .unwrap();

        assert!(store.find_credential(team.id, credential.id).unwrap().is_some());
        let record = taken(reserve(store, owner, "create-1", now + TimeDelta::seconds(1)));
        assert_eq!(record.response, Some(first.clone()));
        // Completed is final: releasing it does nothing.
        store.release_idempotency(&claim).unwrap();
        assert_eq!(
            store.find_idempotency(owner, "create-1", now).unwrap().unwrap().response,
            Some(first)
        );
    }

    fn a_failed_insert_completes_nothing(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let now = credvault_domain::time::now();
        let existing = insert_credential(db, &team, owner, "Warehouse");
        let claim = claimed(reserve(store, owner, "create-2", now));

        // The same id again: the insert fails, so the record must not say it succeeded.
        let error = store
            .insert_credential_completing(
                &existing,
                None,
                note(AuditAction::Created, owner),
                &claim,
                &response(b"{}"),
            )
            .unwrap_err();
        assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
        let record = store.find_idempotency(owner, "create-2", now).unwrap().unwrap();
        assert_eq!(record.response, None);
        assert_eq!(all_events(db, &existing).len(), 1);
    }

    fn a_stale_claim_is_taken_over_and_its_late_write_rolls_back(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let reserved_at = credvault_domain::time::now() - TimeDelta::minutes(10);
        let crashed = claimed(reserve(store, owner, "create-3", reserved_at));

        // Still fresh just before the timeout...
        let before_timeout = reserved_at + IDEMPOTENCY_CLAIM_TIMEOUT - TimeDelta::seconds(1);
        assert_eq!(taken(reserve(store, owner, "create-3", before_timeout)).response, None);
        // ...and free again after it.
        let after_timeout = reserved_at + IDEMPOTENCY_CLAIM_TIMEOUT + TimeDelta::seconds(1);
        let successor = claimed(reserve(store, owner, "create-3", after_timeout));

        // The first holder wakes up and tries to write: it no longer holds the key.
        let credential = postgres_credential(&team, owner, "Late");
        let late = store.insert_credential_completing(
            &credential,
            None,
            note(AuditAction::Created, owner),
            &crashed,
            &response(b"late"),
        );
        assert_lost_claim(late);
        assert!(store.find_credential(team.id, credential.id).unwrap().is_none());
        // No event either: the team never held the credential.
        assert!(matches!(
            store.list_events(team.id, credential.id, first_page(100)),
            Err(StoreError::NotFound)
        ));

        // The successor completes.
        let credential = postgres_credential(&team, owner, "On time");
        store
            .insert_credential_completing(
                &credential,
                None,
                note(AuditAction::Created, owner),
                &successor,
                &response(b"on time"),
            )
            .unwrap();
        let record = store.find_idempotency(owner, "create-3", after_timeout).unwrap().unwrap();
        assert_eq!(record.response, Some(response(b"on time")));
    }

    fn an_update_stores_its_response_in_its_transaction(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let now = credvault_domain::time::now();
        let claim = claimed(reserve(store, owner, "patch-1", now));

        let updated = store
            .update_credential_completing(
                team.id,
                credential.id,
                Some(1),
                &claim,
                |stored| {
                    let mut changed = stored.credential.clone();
                    changed.name = "Renamed".to_owned();
                    Ok::<_, String>(crate::support::update(changed, SecretsUpdate::Keep, owner))
                },
                |stored| {
                    Ok(response(
                        format!("version {}", stored.credential.version).as_bytes(),
                    ))
                },
            )
            .unwrap();

        assert_eq!(updated.credential.version, 2);
        let record = store.find_idempotency(owner, "patch-1", now).unwrap().unwrap();
        assert_eq!(record.response, Some(response(b"version 2")));
        assert_eq!(all_events(db, &credential).len(), 2);
    }

    fn an_unchanged_update_still_stores_its_response(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let now = credvault_domain::time::now();
        let claim = claimed(reserve(store, owner, "patch-2", now));

        let stored = store
            .update_credential_completing(
                team.id,
                credential.id,
                None,
                &claim,
                |_| Ok::<_, String>(CredentialChange::Unchanged),
                |stored| Ok(response(stored.credential.name.as_bytes())),
            )
            .unwrap();

        assert_eq!(stored.credential.version, 1);
        let record = store.find_idempotency(owner, "patch-2", now).unwrap().unwrap();
        assert_eq!(record.response, Some(response(b"Warehouse")));
        assert_eq!(all_events(db, &credential).len(), 1);
    }

    fn a_failed_update_writes_nothing_and_keeps_the_claim_for_release(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let now = credvault_domain::time::now();
        let claim = claimed(reserve(store, owner, "patch-3", now));
        let rename = |stored: &credvault_persistence::StoredCredential| {
            let mut changed = stored.credential.clone();
            changed.name = "Renamed".to_owned();
            Ok::<_, String>(crate::support::update(changed, SecretsUpdate::Keep, owner))
        };

        // The response cannot be rendered: the update it would record rolls back.
        let failed = store.update_credential_completing(
            team.id, credential.id, None, &claim, rename, |_| Err("no body".to_owned()),
        );
        assert!(matches!(failed, Err(UpdateError::Rejected(ref why)) if why == "no body"));
        // A stale If-Match: nothing is decided or written.
        let stale = store.update_credential_completing(
            team.id, credential.id, Some(7), &claim, rename, |_| Ok(response(b"")),
        );
        assert!(matches!(
            stale,
            Err(UpdateError::Store(StoreError::VersionMismatch { current: 1 }))
        ));

        let stored = store.find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!((stored.credential.version, stored.credential.name.as_str()), (1, "Warehouse"));
        assert_eq!(all_events(db, &credential).len(), 1);
        let record = store.find_idempotency(owner, "patch-3", now).unwrap().unwrap();
        assert_eq!(record.response, None);
        store.release_idempotency(&claim).unwrap();
        assert_eq!(store.find_idempotency(owner, "patch-3", now).unwrap(), None);
    }

    fn a_lost_claim_rolls_back_an_update(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let reserved_at = credvault_domain::time::now() - TimeDelta::minutes(10);
        let crashed = claimed(reserve(store, owner, "patch-4", reserved_at));
        claimed(reserve(store, owner, "patch-4", reserved_at + TimeDelta::minutes(5)));

        let late = store.update_credential_completing(
            team.id,
            credential.id,
            None,
            &crashed,
            |stored| {
                let mut changed = stored.credential.clone();
                changed.name = "Late".to_owned();
                Ok::<_, String>(crate::support::update(changed, SecretsUpdate::Keep, owner))
            },
            |_| Ok(response(b"late")),
        );
        assert!(matches!(
            late,
            Err(UpdateError::Store(StoreError::Conflict { ref constraint }))
                if constraint == constraint::IDEMPOTENCY_KEY
        ));
        let stored = store.find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!((stored.credential.version, stored.credential.name.as_str()), (1, "Warehouse"));
        assert_eq!(all_events(db, &credential).len(), 1);
    }

    fn concurrent_reservations_on_two_instances_admit_exactly_one(db: &TestDb) {
        let (_, owner) = team_with_owner(db, "acme");
        let stores = [db.store().clone(), other_instance(db)];
        let barrier = Arc::new(Barrier::new(8));
        let now = credvault_domain::time::now();
        let threads: Vec<_> = (0..8)
            .map(|index| {
                let store = stores[index % 2].clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    reserve(&store, owner, "concurrent", now)
                })
            })
            .collect();
        let reservations: Vec<Reservation> =
            threads.into_iter().map(|thread| thread.join().unwrap()).collect();

        let claims = reservations
            .iter()
            .filter(|reservation| matches!(reservation, Reservation::Claimed(_)))
            .count();
        assert_eq!(claims, 1, "{reservations:?}");
        for reservation in reservations {
            if let Reservation::Taken(record) = reservation {
                assert_eq!((record.response, record.created_at), (None, now));
            }
        }
    }

    fn records_expire_after_a_day_and_are_purged_by_later_claims(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let old_at = credvault_domain::time::now() - TimeDelta::hours(30);
        let credential = postgres_credential(&team, owner, "Warehouse");
        let claim = claimed(reserve(store, owner, "old", old_at));
        store
            .insert_credential_completing(
                &credential,
                None,
                note(AuditAction::Created, owner),
                &claim,
                &response(b"old"),
            )
            .unwrap();
        claimed(reserve(store, owner, "recent", old_at + TimeDelta::hours(2)));

        // Within the retention the completed record answers, even long after its claim's timeout.
        let almost_a_day = old_at + IDEMPOTENCY_RETENTION - TimeDelta::seconds(1);
        assert_eq!(
            taken(reserve(store, owner, "old", almost_a_day)).response,
            Some(response(b"old"))
        );

        // Claiming another key a day later purges every record older than a day...
        claimed(reserve(store, owner, "new", old_at + TimeDelta::hours(25)));
        // ...asked as of their own time, so only the purge explains the absence of "old".
        assert_eq!(store.find_idempotency(owner, "old", old_at).unwrap(), None);
        assert!(store.find_idempotency(owner, "recent", old_at).unwrap().is_some());
        // A lookup a day after a record was made deletes it as well.
        let recent_expired = old_at + TimeDelta::hours(2) + IDEMPOTENCY_RETENTION;
        assert_eq!(store.find_idempotency(owner, "recent", recent_expired).unwrap(), None);
        assert_eq!(store.find_idempotency(owner, "recent", old_at).unwrap(), None);
        // And the expired key can be claimed afresh.
        claimed(reserve(store, owner, "old", old_at + TimeDelta::hours(25)));
    }
}
