//! Re-encryption of stored ciphertexts to the active key, in batches.

use credvault_domain::audit::AuditAction;
use credvault_domain::ids::CredentialId;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Ciphertext, UpdateError};

use crate::support::{insert_credential, note, postgres_credential, team_with_owner};

/// What the fake reseal writes: the old bytes behind a marker, under key `k2`.
fn reseal_to_k2(old: &Ciphertext) -> Ciphertext {
    let mut bytes = b"k2:".to_vec();
    bytes.extend(&old.bytes);
    Ciphertext {
        key_id: "k2".to_owned(),
        bytes,
    }
}

/// Runs batches of `limit` until none is left; returns how many rows each batch rewrote.
fn rotate_all(db: &TestDb, limit: u32) -> Vec<u64> {
    rotate_all_after(db, None, limit)
}

/// [`rotate_all`] from a cursor.
fn rotate_all_after(db: &TestDb, after: Option<CredentialId>, limit: u32) -> Vec<u64> {
    let mut after = after;
    let mut counts = Vec::new();
    loop {
        let batch = db
            .store()
            .reencrypt_batch("k2", after, limit, |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        counts.push(batch.reencrypted);
        match batch.next_after {
            Some(next) => after = Some(next),
            None => return counts,
        }
    }
}

credvault_persistence::backend_tests! {
    fn rotation_moves_every_ciphertext_to_the_active_key_in_batches(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other_team, other_owner) = team_with_owner(db, "other");
        let mut credentials = Vec::new();
        for index in 0..4 {
            credentials.push(insert_credential(db, &team, owner, &format!("c{index}")));
        }
        credentials.push(insert_credential(db, &other_team, other_owner, "o1"));
        let no_secrets = postgres_credential(&team, owner, "plain");
        db.store()
            .insert_credential(&no_secrets, None, note(AuditAction::Created, owner))
            .unwrap();
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 5)]);

        let counts = rotate_all(db, 2);
        assert_eq!(counts.iter().sum::<u64>(), 5);
        assert_eq!(counts.len(), 3, "5 rows in batches of 2: {counts:?}");
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k2".to_owned(), 5)]);

        for credential in &credentials {
            let stored = db
                .store()
                .find_credential(credential.team_id, credential.id)
                .unwrap()
                .unwrap();
            let ciphertext = stored.ciphertext.unwrap();
            assert_eq!(ciphertext.key_id, "k2");
            assert!(ciphertext.bytes.starts_with(b"k2:"));
            assert_eq!(stored.credential.version, credential.version, "content unchanged");
        }
        // A second run finds nothing to do: never doubly encrypted.
        assert_eq!(rotate_all(db, 2).iter().sum::<u64>(), 0);
    }

    fn a_full_batch_deleted_under_the_rotation_does_not_end_it(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let mut credentials: Vec<_> = (0..5)
            .map(|index| insert_credential(db, &team, owner, &format!("c{index}")))
            .collect();
        credentials.sort_by_key(|credential| *credential.id.as_uuid());

        // The first batch's two candidates are deleted between its select and its locks.
        let batch = db
            .store()
            .reencrypt_batch_losing_every_candidate("k2", None, 2, |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!(batch.reencrypted, 0);
        assert_eq!(batch.next_after, Some(credentials[1].id), "rows are left: not done");
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 3)]);

        // Resuming from that cursor rotates the rest.
        assert_eq!(rotate_all_after(db, batch.next_after, 2).iter().sum::<u64>(), 3);
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k2".to_owned(), 3)]);
    }

    fn a_failing_reseal_rolls_its_batch_back_and_a_rerun_resumes(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        for index in 0..3 {
            insert_credential(db, &team, owner, &format!("c{index}"));
        }
        let mut calls = 0;
        let result = db.store().reencrypt_batch("k2", None, 10, |_, _, old| {
            calls += 1;
            if calls == 2 { Err("interrupted") } else { Ok(reseal_to_k2(old)) }
        });
        assert!(matches!(result, Err(UpdateError::Rejected("interrupted"))));
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 3)], "rolled back");

        // Interrupt after one committed batch, then start again from the beginning.
        let first = db
            .store()
            .reencrypt_batch("k2", None, 1, |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!(first.reencrypted, 1);
        assert_eq!(
            db.store().ciphertext_counts().unwrap(),
            [("k1".to_owned(), 2), ("k2".to_owned(), 1)]
        );
        assert_eq!(rotate_all(db, 10).iter().sum::<u64>(), 2);
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k2".to_owned(), 3)]);
    }
}
