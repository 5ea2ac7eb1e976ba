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
    use credvault_persistence::UseOutcome;

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
}
