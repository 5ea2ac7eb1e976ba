//! Re-encryption of the OAuth apps' client secrets to the active key, in batches, beside the
//! credentials' ciphertexts.

use credvault_domain::ids::OAuthAppId;
use credvault_domain::oauth_app::{NewOAuthApp, OAuthApp};
use credvault_domain::team::Team;
use credvault_domain::time::now;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Ciphertext, StoredOAuthApp, UpdateError};
use serde_json::json;

use crate::support::{ciphertext, insert_credential, team_with_owner};

/// A new app of `team` (not stored).
fn new_app(team: &Team, name: &str) -> OAuthApp {
    NewOAuthApp::from_json(json!({
        "name": name,
        "provider": "google",
        "client_id": format!("{name}-client"),
        "client_secret": "unused here: the store takes ciphertext",
    }))
    .unwrap()
    .into_app(team.id, now())
    .0
}

/// Stores an app whose client secret is `ciphertext(name)`, under key `k1`.
fn insert_app(db: &TestDb, team: &Team, name: &str) -> StoredOAuthApp {
    db.store()
        .create_oauth_app(&new_app(team, name), &ciphertext(name))
        .unwrap()
}

/// What the fake reseal writes: the old bytes behind a marker, under key `k2`.
fn reseal_to_k2(old: &Ciphertext) -> Ciphertext {
    let mut bytes = b"k2:".to_vec();
    bytes.extend(&old.bytes);
    Ciphertext {
        key_id: "k2".to_owned(),
        bytes,
    }
}

/// A client secret a PATCH sealed under the active key `k2`.
fn patched_secret() -> Ciphertext {
    Ciphertext {
        key_id: "k2".to_owned(),
        bytes: b"sealed by the PATCH".to_vec(),
    }
}

/// Runs app batches of `limit` from `after` until none is left; returns how many rows each
/// batch rewrote.
fn rotate_apps(db: &TestDb, after: Option<OAuthAppId>, limit: u32) -> Vec<u64> {
    let mut after = after;
    let mut counts = Vec::new();
    loop {
        let batch = db
            .store()
            .reencrypt_oauth_app_batch("k2", after, limit, |_, _, old| {
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

fn stored_app(db: &TestDb, app: &StoredOAuthApp) -> StoredOAuthApp {
    db.store()
        .find_oauth_app(app.app.team_id, app.app.id)
        .unwrap()
        .unwrap()
}

credvault_persistence::backend_tests! {
    fn a_patch_that_keeps_the_secret_does_not_undo_a_rotation_since_its_read(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let read = insert_app(db, &team, "Drive");
        // The rotation reseals the secret between the PATCH's read and its write.
        assert_eq!(rotate_apps(db, None, 10), [1]);
        let renamed = OAuthApp {
            name: "Drive 2".to_owned(),
            ..read.app.clone()
        };
        let written = db.store().update_oauth_app(&renamed, None).unwrap();
        let stored = stored_app(db, &read);
        assert_eq!(stored.app.name, "Drive 2");
        assert_eq!(stored.ciphertext, reseal_to_k2(&ciphertext("Drive")));
        assert_eq!(written.ciphertext, stored.ciphertext);
        assert_eq!(written.app, stored.app);
    }

    fn app_secrets_are_counted_with_credentials_and_move_in_batches(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other_team, _) = team_with_owner(db, "other");
        insert_credential(db, &team, owner, "Warehouse");
        let mut apps: Vec<_> = (0..4).map(|index| insert_app(db, &team, &format!("a{index}"))).collect();
        apps.push(insert_app(db, &other_team, "o1"));
        let on_active = db
            .store()
            .create_oauth_app(&new_app(&team, "already"), &patched_secret())
            .unwrap();
        assert_eq!(
            db.store().ciphertext_counts().unwrap(),
            [("k1".to_owned(), 6), ("k2".to_owned(), 1)],
            "one credential and five apps on k1, one app on k2"
        );

        let counts = rotate_apps(db, None, 2);
        assert_eq!(counts, [2, 2, 1], "5 apps off the active key, in batches of 2");
        assert_eq!(
            db.store().ciphertext_counts().unwrap(),
            [("k1".to_owned(), 1), ("k2".to_owned(), 6)],
            "the credential is left to the credential batches"
        );
        for app in &apps {
            let stored = stored_app(db, app);
            assert_eq!(stored.ciphertext, reseal_to_k2(&app.ciphertext));
            assert_eq!(stored.app, app.app, "version and updated_at unchanged: same secret");
        }
        assert_eq!(stored_app(db, &on_active).ciphertext, patched_secret(), "skipped");
        // A second run finds nothing to do: never doubly encrypted.
        assert_eq!(rotate_apps(db, None, 2).iter().sum::<u64>(), 0);
    }

    fn a_full_app_batch_deleted_under_the_rotation_does_not_end_it(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let mut apps: Vec<_> = (0..5).map(|index| insert_app(db, &team, &format!("a{index}"))).collect();
        apps.sort_by_key(|app| *app.app.id.as_uuid());

        let batch = db
            .store()
            .reencrypt_oauth_app_batch_losing_every_candidate("k2", None, 2, |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!(batch.reencrypted, 0);
        assert_eq!(batch.next_after, Some(apps[1].app.id), "rows are left: not done");
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 3)]);

        assert_eq!(rotate_apps(db, batch.next_after, 2).iter().sum::<u64>(), 3);
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k2".to_owned(), 3)]);
    }

    fn an_app_whose_key_is_missing_fails_its_batch_and_rolls_it_back(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let mut apps: Vec<_> = (0..3).map(|index| insert_app(db, &team, &format!("a{index}"))).collect();
        apps.sort_by_key(|app| *app.app.id.as_uuid());
        let missing = apps[1].app.id;

        let result = db.store().reencrypt_oauth_app_batch("k2", None, 10, |_, id, old| {
            if id == missing { Err("key k1 is not configured") } else { Ok(reseal_to_k2(old)) }
        });
        assert!(matches!(result, Err(UpdateError::Rejected("key k1 is not configured"))));
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 3)], "rolled back");
        for app in &apps {
            assert_eq!(stored_app(db, app).ciphertext, app.ciphertext);
        }

        // One batch before the broken row commits; a rerun from the start stops at it again.
        let first = db
            .store()
            .reencrypt_oauth_app_batch("k2", None, 1, |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!((first.reencrypted, first.next_after), (1, Some(apps[0].app.id)));
        assert_eq!(
            db.store().ciphertext_counts().unwrap(),
            [("k1".to_owned(), 2), ("k2".to_owned(), 1)]
        );
    }

    fn a_secret_a_patch_replaced_before_the_lock_is_not_resealed(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let app = insert_app(db, &team, "Drive");

        // Selected under k1; replaced by a PATCH (under the active key) before the row is locked.
        let batch = db
            .store()
            .reencrypt_oauth_app_batch_racing_a_new_secret("k2", None, 10, &patched_secret(), |_, _, old| {
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!(batch.reencrypted, 0, "checked again under the lock: already on k2");
        assert_eq!(stored_app(db, &app).ciphertext, patched_secret(), "the PATCH stands");
    }
}

/// A PATCH from another process while a batch holds an app's row lock (PostgreSQL: `FOR UPDATE`;
/// on SQLite the batch holds the database's write lock, so nothing can come between).
mod postgres_lock {
    use std::time::Duration;

    use credvault_domain::oauth_app::OAuthApp;
    use credvault_persistence::testing::TestDb;
    use credvault_persistence::{Store, StoreOptions};

    use super::{insert_app, patched_secret, reseal_to_k2, stored_app};
    use crate::support::team_with_owner;

    #[test]
    fn a_patch_waits_for_the_batch_and_its_new_secret_is_not_undone() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (team, _) = team_with_owner(&db, "acme");
        let app = insert_app(&db, &team, "Drive");
        let options = StoreOptions {
            pool_size: 2,
            connection_timeout: Duration::from_secs(30),
            ..StoreOptions::default()
        };
        let other = Store::open(db.url(), &options).unwrap();

        let mut patch = None;
        let batch = db
            .store()
            .reencrypt_oauth_app_batch("k2", None, 10, |_, _, old| {
                // The row is locked and its old secret read: a PATCH that replaces the secret
                // now must wait for this batch, not commit under it and be overwritten.
                let renamed = OAuthApp {
                    name: "Drive (prod)".to_owned(),
                    ..app.app.clone()
                };
                let other = other.clone();
                patch = Some(std::thread::spawn(move || {
                    other.update_oauth_app(&renamed, Some(&patched_secret()))
                }));
                std::thread::sleep(Duration::from_millis(300));
                Ok::<_, std::convert::Infallible>(reseal_to_k2(old))
            })
            .unwrap();
        assert_eq!(batch.reencrypted, 1);
        let patched = patch.unwrap().join().unwrap().unwrap();
        assert_eq!(patched.app.version, 2);

        let stored = stored_app(&db, &app);
        assert_eq!(stored.app.name, "Drive (prod)");
        assert_eq!(
            stored.ciphertext,
            patched_secret(),
            "the PATCH's secret stands"
        );
    }
}
