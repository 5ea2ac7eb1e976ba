//! Credentials: round trip, the read-decide-write update, pagination, deletion, raw contents.

use std::cell::Cell;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use credvault_domain::audit::AuditAction;
use credvault_domain::credential::{Credential, CredentialStatus};
use credvault_domain::schema::{Kind, Provider};
use credvault_domain::time::to_micros;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{
    CredentialChange, CredentialFilter, PageRequest, SecretsUpdate, Store, StoreError,
    StoreOptions, UpdateError,
};
use serde_json::json;

use crate::support::{
    all_events, ciphertext, event, first_page, insert_credential, note, postgres_credential,
    team_with_owner, update,
};

/// The credential as the store keeps it: timestamps at µs.
fn as_stored(credential: &Credential) -> Credential {
    let mut expected = credential.clone();
    expected.created_at = to_micros(expected.created_at);
    expected.updated_at = to_micros(expected.updated_at);
    expected.health.checked_at = expected.health.checked_at.map(to_micros);
    expected
}

/// An update that sets `extra_data[key] = value`.
fn set_extra(
    key: String,
    value: serde_json::Value,
) -> impl FnMut(&credvault_persistence::StoredCredential) -> Result<CredentialChange, Infallible> {
    move |stored| {
        let mut credential = stored.credential.clone();
        credential.extra_data.insert(key.clone(), value.clone());
        let actor = credential.modified_by;
        Ok(update(credential, SecretsUpdate::Keep, actor))
    }
}

credvault_persistence::backend_tests! {
    fn credential_reads_back_equal_at_microsecond_precision(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");

        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        assert_eq!(stored.credential, as_stored(&credential));
        assert_eq!(stored.ciphertext, Some(ciphertext("Warehouse")));
        let events = all_events(db, &credential);
        assert_eq!(events.len(), 1);
        let mut expected_event = event(&credential, AuditAction::Created, owner);
        expected_event.id = events[0].id;
        expected_event.request_id = events[0].request_id;
        expected_event.at = events[0].at;
        assert_eq!(events[0], expected_event);
    }

    fn credential_without_secrets_has_no_ciphertext(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let mut credential = postgres_credential(&team, owner, "No secrets");
        credential.secret_fields.clear();
        credential.description = None;
        credential.account_name = "postgresql".to_owned();
        credential.health.checked_at = None;
        let created = note(AuditAction::Created, owner);
        db.store()
            .insert_credential(&credential, None, created)
            .unwrap();

        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        assert_eq!(stored.credential, as_stored(&credential));
        assert_eq!(stored.ciphertext, None);
    }

    fn a_null_account_name_is_derived_on_read(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let touched = db.execute_sql(&format!(
            "UPDATE credentials SET account_name = NULL WHERE id = '{}'",
            credential.id
        ));
        assert_eq!(touched, 1);
        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.account_name, "etl@db.internal");
    }

    fn update_writes_a_new_version_and_event(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let before = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        let updated = db
            .store()
            .update_credential(team.id, credential.id, Some(1), |stored| {
                let mut next = stored.credential.clone();
                next.name = "Renamed".to_owned();
                next.description = None;
                next.status = CredentialStatus::Connected;
                Ok::<_, Infallible>(update(
                    next,
                    SecretsUpdate::Replace(ciphertext("rotated")),
                    owner,
                ))
            })
            .unwrap();

        assert_eq!(updated.credential.version, 2);
        assert_eq!(updated.credential.name, "Renamed");
        assert_eq!(updated.credential.description, None);
        assert!(updated.credential.updated_at >= before.credential.updated_at);
        assert_eq!(updated.credential.created_at, before.credential.created_at);
        assert_eq!(updated.ciphertext, Some(ciphertext("rotated")));
        let reloaded = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.credential, updated.credential);
        assert_eq!(reloaded.ciphertext, updated.ciphertext);
        let events = all_events(db, &credential);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].action, AuditAction::Updated);
        // The store stamps one instant for the row and its event, and the actor as modifier.
        assert_eq!(events[1].at, updated.credential.updated_at);
        assert_eq!(updated.credential.modified_by, owner);
        assert_eq!(events[1].actor.id, owner);
    }

    fn update_can_keep_and_remove_the_ciphertext(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");

        let kept = db
            .store()
            .update_credential(
                team.id,
                credential.id,
                None,
                set_extra("host".to_owned(), json!("db2")),
            )
            .unwrap();
        assert_eq!(kept.ciphertext, Some(ciphertext("Warehouse")));

        let removed = db
            .store()
            .update_credential(team.id, credential.id, None, |stored| {
                let mut next = stored.credential.clone();
                next.secret_fields.clear();
                Ok::<_, Infallible>(update(next, SecretsUpdate::Remove, owner))
            })
            .unwrap();
        assert_eq!(removed.ciphertext, None);
        let reloaded = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.ciphertext, None);
        assert_eq!(reloaded.credential.version, 3);
    }

    fn unchanged_update_writes_nothing(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let before = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        let after = db
            .store()
            .update_credential(team.id, credential.id, Some(1), |_| {
                Ok::<_, Infallible>(CredentialChange::Unchanged)
            })
            .unwrap();

        assert_eq!(after.credential, before.credential);
        let reloaded = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.credential, before.credential);
        assert_eq!(all_events(db, &credential).len(), 1);
    }

    fn rejected_update_writes_nothing(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let before = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        let result = db
            .store()
            .update_credential(team.id, credential.id, None, |stored| {
                assert_eq!(stored.credential.version, 1);
                Err::<CredentialChange, _>("invalid port")
            });

        assert!(matches!(result, Err(UpdateError::Rejected("invalid port"))));
        let reloaded = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.credential, before.credential);
        assert_eq!(reloaded.ciphertext, before.ciphertext);
        assert_eq!(all_events(db, &credential).len(), 1);
    }

    fn stale_expected_version_is_a_mismatch_and_skips_the_closure(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        db.store()
            .update_credential(
                team.id,
                credential.id,
                Some(1),
                set_extra("a".to_owned(), json!(1)),
            )
            .unwrap();
        let called = Cell::new(false);

        let result = db
            .store()
            .update_credential(team.id, credential.id, Some(1), |_| {
                called.set(true);
                Ok::<_, Infallible>(CredentialChange::Unchanged)
            });

        assert!(
            matches!(
                result,
                Err(UpdateError::Store(StoreError::VersionMismatch {
                    current: 2
                }))
            ),
            "{result:?}"
        );
        assert!(!called.get());
        let reloaded = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(reloaded.credential.version, 2);
    }

    fn update_of_a_missing_credential_is_not_found(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let never_stored = postgres_credential(&team, owner, "Ghost");

        let result = db.store().update_credential(
            team.id,
            never_stored.id,
            None,
            |_| -> Result<CredentialChange, Infallible> {
                panic!("the closure must not run for a missing row")
            },
        );

        assert!(
            matches!(result, Err(UpdateError::Store(StoreError::NotFound))),
            "{result:?}"
        );
    }

    fn concurrent_updates_of_different_keys_all_survive(db: &TestDb) {
        const THREADS: usize = 50;
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let started = Instant::now();

        let threads: Vec<_> = (0..THREADS)
            .map(|index| {
                let store = db.store().clone();
                let (team_id, id) = (team.id, credential.id);
                std::thread::spawn(move || {
                    store
                        .update_credential(
                            team_id,
                            id,
                            None,
                            set_extra(format!("key_{index}"), json!(index)),
                        )
                        .map(|stored| stored.credential.version)
                })
            })
            .collect();
        let mut versions: Vec<i64> = threads
            .into_iter()
            .map(|thread| thread.join().unwrap().unwrap())
            .collect();
        eprintln!(
            "{THREADS} concurrent updates on {:?} took {:?}",
            db.store().backend(),
            started.elapsed()
        );

        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.version, 1 + THREADS as i64);
        for index in 0..THREADS {
            assert_eq!(
                stored.credential.extra_data[&format!("key_{index}")],
                json!(index)
            );
        }
        assert_eq!(stored.credential.extra_data["host"], json!("db.internal"));
        versions.sort_unstable();
        assert_eq!(versions, (2..=1 + THREADS as i64).collect::<Vec<_>>());
        assert_eq!(all_events(db, &credential).len(), 1 + THREADS);
    }

    fn two_stores_on_one_database_serialize_their_updates(db: &TestDb) {
        // Two processes (say the server and an admin command) over one database: on SQLite they
        // meet in SQLite's own locking, which BEGIN IMMEDIATE and busy_timeout must get right.
        const THREADS_PER_STORE: usize = 10;
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let options = StoreOptions {
            pool_size: 4,
            connection_timeout: Duration::from_secs(30),
                    ..StoreOptions::default()
        };
        let second = Store::open(db.url(), &options).unwrap();

        let threads: Vec<_> = [db.store().clone(), second]
            .into_iter()
            .enumerate()
            .flat_map(|(store_index, store)| {
                (0..THREADS_PER_STORE)
                    .map(move |index| (store.clone(), format!("store{store_index}_{index}")))
            })
            .map(|(store, key)| {
                let (team_id, id) = (team.id, credential.id);
                std::thread::spawn(move || {
                    store.update_credential(team_id, id, None, set_extra(key, json!(true)))
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }

        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.version, 1 + 2 * THREADS_PER_STORE as i64);
        for store_index in 0..2 {
            for index in 0..THREADS_PER_STORE {
                assert!(
                    stored
                        .credential
                        .extra_data
                        .contains_key(&format!("store{store_index}_{index}"))
                );
            }
        }
    }

    fn list_pages_through_the_filtered_credentials_in_id_order(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other_team, other_owner) = team_with_owner(db, "other");
        let mut wanted = Vec::new();
        for index in 0..7 {
            let mut credential = postgres_credential(&team, owner, &format!("pg {index}"));
            if index % 3 == 2 {
                credential.provider = Provider::Sftp;
            }
            if index == 4 {
                credential.status = CredentialStatus::Error;
            }
            let created = note(AuditAction::Created, owner);
            db.store()
                .insert_credential(&credential, None, created)
                .unwrap();
            if credential.provider == Provider::Postgresql {
                wanted.push(credential.id);
            }
            // Interleave another team's rows: they must never show up.
            insert_credential(db, &other_team, other_owner, &format!("theirs {index}"));
        }
        wanted.sort();
        let filter = CredentialFilter {
            provider: Some(Provider::Postgresql),
            status: None,
        };

        let mut seen = Vec::new();
        let mut page = PageRequest {
            after: None,
            limit: 2,
        };
        let mut pages = 0;
        loop {
            let result = db.store().list_credentials(team.id, &filter, page).unwrap();
            pages += 1;
            assert!(result.items.len() <= 2);
            assert!(result.items.iter().all(|item| item.team_id == team.id));
            seen.extend(result.items.iter().map(|item| item.id));
            match result.next_after {
                Some(after) => {
                    assert_eq!(
                        Some(&after),
                        result.items.last().map(|item| item.id.as_uuid())
                    );
                    page.after = Some(after);
                }
                None => break,
            }
        }
        assert_eq!(seen, wanted);
        assert_eq!(pages, 3, "5 items in pages of 2");

        let errors = db
            .store()
            .list_credentials(
                team.id,
                &CredentialFilter {
                    provider: None,
                    status: Some(CredentialStatus::Error),
                },
                first_page(10),
            )
            .unwrap();
        assert_eq!(errors.items.len(), 1);
        assert_eq!(errors.items[0].name, "pg 4");
        assert_eq!(errors.next_after, None);

        let exact = db
            .store()
            .list_credentials(team.id, &CredentialFilter::default(), first_page(7))
            .unwrap();
        assert_eq!(exact.items.len(), 7);
        assert_eq!(
            exact.next_after, None,
            "no further page when the page is exactly full"
        );
        let sftp = db
            .store()
            .list_credentials(
                team.id,
                &CredentialFilter {
                    provider: Some(Provider::Sftp),
                    status: None,
                },
                first_page(10),
            )
            .unwrap();
        assert!(
            sftp.items
                .iter()
                .all(|item| item.provider == Provider::Sftp && item.kind == Kind::UserPassword)
        );
        assert_eq!(sftp.items.len(), 2);
    }

    fn events_page_in_order(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        for index in 0..4 {
            db.store()
                .update_credential(
                    team.id,
                    credential.id,
                    None,
                    set_extra(format!("k{index}"), json!(index)),
                )
                .unwrap();
        }

        let first = db
            .store()
            .list_events(team.id, credential.id, first_page(3))
            .unwrap();
        let second = db
            .store()
            .list_events(
                team.id,
                credential.id,
                PageRequest {
                    after: first.next_after,
                    limit: 3,
                },
            )
            .unwrap();

        assert_eq!(first.items.len(), 3);
        assert_eq!(first.items[0].action, AuditAction::Created);
        assert_eq!(second.items.len(), 2);
        assert_eq!(second.next_after, None);
        let ids: Vec<_> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|event| event.id)
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    fn events_page_in_write_order_even_when_their_ids_are_not(db: &TestDb) {
        // Another instance (or a lagging clock) can make an event id that sorts before an id
        // already written; paging by id would then skip that event for a consumer holding a
        // cursor. The trail is paged in the order the database wrote it instead.
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let early_id = credvault_domain::ids::EventId::new();
        db.store()
            .update_credential(team.id, credential.id, None, set_extra("a".to_owned(), json!(1)))
            .unwrap();
        let first = db
            .store()
            .list_events(team.id, credential.id, first_page(2))
            .unwrap();
        assert_eq!(first.items.len(), 2);
        assert!(first.next_after.is_none());
        let cursor = first.items[1].id;
        assert!(*early_id.as_uuid() < *cursor.as_uuid());

        // A late event from elsewhere (here a connection test's) with that early id. The store
        // stamps every event it writes with a new id, so the test appends this one directly.
        let mut late_event = event(&credential, AuditAction::Tested, owner);
        late_event.id = early_id;
        db.append_event(&late_event);

        let next = db
            .store()
            .list_events(
                team.id,
                credential.id,
                PageRequest {
                    after: Some(*cursor.as_uuid()),
                    limit: 2,
                },
            )
            .unwrap();
        let ids: Vec<_> = next.items.iter().map(|event| event.id).collect();
        assert_eq!(ids, [early_id], "the late event is on the next page");
        let all: Vec<_> = all_events(db, &credential).iter().map(|event| event.id).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], cursor);
        assert_eq!(all[2], early_id, "listed in write order");
    }

    fn delete_removes_the_row_and_its_ciphertext_but_keeps_the_events(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Doomed");
        let keeper = insert_credential(db, &team, owner, "Keeper");
        let sealed = ciphertext("Doomed");
        assert!(db.contains_bytes(&sealed.bytes));

        db.store()
            .delete_credential(
                team.id,
                credential.id,
                note(AuditAction::Deleted, owner),
            )
            .unwrap();

        assert!(
            db.store()
                .find_credential(team.id, credential.id)
                .unwrap()
                .is_none()
        );
        let actions: Vec<_> = all_events(db, &credential)
            .iter()
            .map(|event| event.action)
            .collect();
        assert_eq!(actions, [AuditAction::Created, AuditAction::Deleted]);
        assert!(
            !db.contains_bytes(&sealed.bytes),
            "the deleted ciphertext is still in the database"
        );
        assert!(db.contains_bytes(&ciphertext("Keeper").bytes));
        assert!(
            db.store()
                .find_credential(team.id, keeper.id)
                .unwrap()
                .is_some()
        );
        let again = db.store().delete_credential(
            team.id,
            credential.id,
            note(AuditAction::Deleted, owner),
        );
        assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
        assert_eq!(all_events(db, &credential).len(), 2);
    }

    fn raw_contents_hold_the_ciphertext_and_names_but_no_plaintext(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        insert_credential(db, &team, owner, "Plainly-Named-Credential");

        assert!(
            db.contains_bytes(b"Plainly-Named-Credential"),
            "raw contents miss stored data"
        );
        assert!(db.contains_bytes(&ciphertext("Plainly-Named-Credential").bytes));
        assert!(!db.contains_bytes(b"never-stored-plaintext-4711"));
    }
}
