//! Another process writing between an update's read and its write, on PostgreSQL, where an
//! update reads without a lock and writes only if the version it read is still stored.
//! (On SQLite the update holds the write lock from its read on, so nothing can come between.)

mod postgres {
    use std::convert::Infallible;
    use std::time::Duration;

    use credvault_domain::audit::AuditAction;
    use credvault_persistence::testing::TestDb;
    use credvault_persistence::{Ciphertext, SecretsUpdate, Store, StoreOptions};
    use serde_json::json;

    use credvault_domain::credential::LastUse;
    use credvault_persistence::{StoreError, UseOutcome};

    use crate::grants::{actions, grant, service_account, stored, use_note};
    use crate::support::{all_events, insert_credential, team_with_owner};

    /// A second store on the same database: another process, with its own pool and queues.
    fn other_process(db: &TestDb) -> Store {
        let options = StoreOptions {
            pool_size: 2,
            connection_timeout: Duration::from_secs(30),
            ..StoreOptions::default()
        };
        Store::open(db.url(), &options).unwrap()
    }

    #[test]
    fn a_write_from_another_process_between_read_and_write_is_not_lost() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, owner) = team_with_owner(&db, "acme");
        let credential = insert_credential(&db, &team, owner, "Warehouse");
        let other = other_process(&db);

        let mut seen_versions = Vec::new();
        let updated = db
            .store()
            .update_credential(team.id, credential.id, None, |stored| {
                seen_versions.push(stored.credential.version);
                if seen_versions.len() == 1 {
                    // The other process writes after this update has read version 1.
                    other
                        .update_credential(team.id, credential.id, None, |stored| {
                            let mut changed = stored.credential.clone();
                            changed.extra_data.insert("other".to_owned(), json!(true));
                            Ok::<_, Infallible>(crate::support::update(
                                changed,
                                SecretsUpdate::Keep,
                                owner,
                            ))
                        })
                        .unwrap();
                }
                let mut changed = stored.credential.clone();
                changed.extra_data.insert("mine".to_owned(), json!(true));
                Ok::<_, Infallible>(crate::support::update(changed, SecretsUpdate::Keep, owner))
            })
            .unwrap();

        // The first decision was made on version 1 and thrown away; the second saw the other
        // process's write.
        assert_eq!(seen_versions, [1, 2]);
        assert_eq!(updated.credential.version, 3);
        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.version, 3);
        assert_eq!(stored.credential.extra_data["other"], json!(true));
        assert_eq!(stored.credential.extra_data["mine"], json!(true));
        let actions: Vec<_> = all_events(&db, &credential)
            .iter()
            .map(|event| event.action)
            .collect();
        assert_eq!(
            actions,
            [
                AuditAction::Created,
                AuditAction::Updated,
                AuditAction::Updated
            ],
            "one event per write, none for the discarded decision"
        );
    }

    #[test]
    fn a_rotation_between_read_and_write_is_not_undone() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, owner) = team_with_owner(&db, "acme");
        let credential = insert_credential(&db, &team, owner, "Warehouse");
        let other = other_process(&db);
        let mut calls = 0;

        db.store()
            .update_credential(team.id, credential.id, None, |stored| {
                calls += 1;
                assert_eq!(stored.ciphertext.as_ref().unwrap().key_id, "k1");
                // A key rotation (another process) reseals the row after this update read it;
                // the version stays, so the write below still applies.
                let batch = other
                    .reencrypt_batch("k2", None, 10, |_, _, old| {
                        Ok::<_, Infallible>(Ciphertext {
                            key_id: "k2".to_owned(),
                            bytes: old.bytes.clone(),
                        })
                    })
                    .unwrap();
                assert_eq!(batch.reencrypted, 1);
                let mut changed = stored.credential.clone();
                changed.name = "Renamed".to_owned();
                Ok::<_, Infallible>(crate::support::update(changed, SecretsUpdate::Keep, owner))
            })
            .unwrap();

        assert_eq!(calls, 1);
        let stored = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.name, "Renamed");
        assert_eq!(stored.credential.version, 2);
        assert_eq!(
            stored.ciphertext.unwrap().key_id,
            "k2",
            "the update kept the secrets, so it must not write the old ciphertext back"
        );
        assert_eq!(
            db.store().ciphertext_counts().unwrap(),
            [("k2".to_owned(), 1)]
        );
    }

    /// A use lands between a PATCH's read and its write: a use is not a new version, so the
    /// PATCH's write applies, and it leaves the use's `last_used` as it is.
    #[test]
    fn a_use_racing_a_patch_leaves_both() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, owner) = team_with_owner(&db, "acme");
        let credential = insert_credential(&db, &team, owner, "Warehouse");
        let account = service_account(&db, &team, "etl");
        grant(&db, &credential, &account, owner);
        let other = other_process(&db);

        let mut recorded = None;
        let mut seen_versions = Vec::new();
        let patched = db
            .store()
            .update_credential(team.id, credential.id, None, |stored| {
                seen_versions.push(stored.credential.version);
                if recorded.is_none() {
                    recorded = Some(
                        other
                            .record_use(team.id, credential.id, account.id, use_note(&account))
                            .unwrap(),
                    );
                }
                let mut changed = stored.credential.clone();
                changed.name = "Renamed".to_owned();
                Ok::<_, Infallible>(crate::support::update(changed, SecretsUpdate::Keep, owner))
            })
            .unwrap();
        let Some(UseOutcome::Recorded(at)) = recorded else {
            panic!("the use was not recorded: {recorded:?}");
        };

        // A use is not a new version: the PATCH decided once and its write applied.
        assert_eq!(seen_versions, [1]);
        assert_eq!(patched.credential.version, 2);
        let after = stored(&db, &credential);
        assert_eq!(after.name, "Renamed");
        assert_eq!(after.version, 2);
        assert_eq!(
            after.last_used,
            Some(LastUse {
                at,
                by: account.principal_id,
            })
        );
        assert_eq!(
            actions(&all_events(&db, &credential)),
            [
                AuditAction::Created,
                AuditAction::UseGranted,
                AuditAction::Used,
                AuditAction::Updated,
            ]
        );
    }

    /// A use that runs while a revoke has deleted the grant but not yet committed waits for the
    /// revoke and then finds no grant, though its statement began while the grant was there:
    /// nothing is released or recorded after a revoke.
    #[test]
    fn a_use_during_a_revoke_waits_and_is_not_granted() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, owner) = team_with_owner(&db, "acme");
        let credential = insert_credential(&db, &team, owner, "Warehouse");
        let account = service_account(&db, &team, "etl");
        let granted = grant(&db, &credential, &account, owner);
        let before = stored(&db, &credential);

        // The first half of a revoke, on another connection: the grant deleted, uncommitted.
        let revoke = db.open_transaction(&format!(
            "DELETE FROM use_grants WHERE id = '{}'",
            granted.id
        ));
        let store = db.store().clone();
        let user = account.clone();
        let used = std::thread::spawn(move || {
            store.record_use(team.id, credential.id, user.id, use_note(&user))
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(!used.is_finished(), "the use waits for the revoke");
        revoke.commit();
        assert_eq!(used.join().unwrap().unwrap(), UseOutcome::NotGranted);
        assert_eq!(stored(&db, &credential), before);
        assert_eq!(
            actions(&all_events(&db, &credential)),
            [AuditAction::Created, AuditAction::UseGranted]
        );
    }

    /// Uses racing revokes and deletes of the same credentials, from two instances: every call
    /// ends with an answer (no deadlock between a use, which takes the grant's row and then the
    /// credential's, and a revoke or delete), and no `used` event follows a credential's
    /// `use_revoked` or `deleted` one.
    #[test]
    fn uses_racing_revokes_and_deletes_end_without_a_deadlock() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, owner) = team_with_owner(&db, "acme");
        let account = service_account(&db, &team, "etl");
        let credentials: Vec<_> = (0..20)
            .map(|n| {
                let credential = insert_credential(&db, &team, owner, &format!("c{n}"));
                let granted = grant(&db, &credential, &account, owner);
                (credential, granted)
            })
            .collect();
        let other = other_process(&db);
        let user = account.clone();
        let targets: Vec<_> = credentials.iter().map(|(c, _)| c.id).collect();
        let uses = std::thread::spawn(move || {
            for _ in 0..5 {
                for id in &targets {
                    match other.record_use(team.id, *id, user.id, use_note(&user)) {
                        Ok(_) | Err(StoreError::NotFound) => {}
                        Err(error) => panic!("a use failed: {error}"),
                    }
                }
            }
        });
        for (n, (credential, granted)) in credentials.iter().enumerate() {
            if n % 2 == 0 {
                db.store()
                    .revoke_grant(
                        team.id,
                        credential.id,
                        granted.id,
                        crate::grants::owner_note(AuditAction::UseRevoked, owner),
                    )
                    .unwrap();
            } else {
                db.store()
                    .delete_credential(
                        team.id,
                        credential.id,
                        crate::grants::owner_note(AuditAction::Deleted, owner),
                    )
                    .unwrap();
            }
        }
        uses.join().unwrap();
        for (credential, _) in &credentials {
            let actions = actions(&all_events(&db, credential));
            let end = actions
                .iter()
                .position(|action| matches!(action, AuditAction::UseRevoked | AuditAction::Deleted))
                .unwrap();
            assert_eq!(end, actions.len() - 1, "{actions:?}");
        }
    }
}
