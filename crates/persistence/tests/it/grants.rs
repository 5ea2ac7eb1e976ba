//! Grants of use of a credential to a service account, and the record of each use.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use credvault_domain::audit::{Actor, AuditAction, AuditEvent, SecretEffect};
use credvault_domain::credential::{Credential, LastUse};
use credvault_domain::edit::AuditNote;
use credvault_domain::grant::Grant;
use credvault_domain::ids::{CredentialId, GrantId, PrincipalId, RequestId};
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::service_account::ServiceAccount;
use credvault_domain::team::Team;
use credvault_domain::time::now;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{
    GrantFilter, SecretsUpdate, Store, StoreError, StoreOptions, UseOutcome,
};

use crate::support::{all_events, ciphertext, insert_credential, team_with_owner, update};

/// A second store on the same database: another instance, with its own pool.
pub(crate) fn other_instance(db: &TestDb) -> Store {
    let options = StoreOptions {
        pool_size: 2,
        connection_timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    };
    Store::open(db.url(), &options).unwrap()
}

pub(crate) fn service_account(db: &TestDb, team: &Team, name: &str) -> ServiceAccount {
    db.store()
        .create_service_account(team.id, name, None, Role::Member)
        .unwrap()
}

/// The note of an owner's grant or revocation.
pub(crate) fn owner_note(action: AuditAction, owner: PrincipalId) -> AuditNote {
    AuditNote::new(
        action,
        Actor {
            id: owner,
            kind: PrincipalKind::User,
        },
        RequestId::new(),
    )
}

/// The note of a use by the service account, releasing the password.
pub(crate) fn use_note(account: &ServiceAccount) -> AuditNote {
    AuditNote {
        secrets: BTreeMap::from([("password".to_owned(), SecretEffect::Released)]),
        ..AuditNote::new(
            AuditAction::Used,
            Actor {
                id: account.principal_id,
                kind: PrincipalKind::ServiceAccount,
            },
            RequestId::new(),
        )
    }
}

/// Grants `account` use of `credential`; returns the stored grant.
pub(crate) fn grant(
    db: &TestDb,
    credential: &Credential,
    account: &ServiceAccount,
    owner: PrincipalId,
) -> Grant {
    let (grant, created) = db
        .store()
        .create_grant(
            &Grant::new(credential.team_id, credential.id, account.id, owner, now()),
            owner_note(AuditAction::UseGranted, owner),
        )
        .unwrap();
    assert!(created);
    grant
}

pub(crate) fn stored(db: &TestDb, credential: &Credential) -> Credential {
    db.store()
        .find_credential(credential.team_id, credential.id)
        .unwrap()
        .unwrap()
        .credential
}

pub(crate) fn actions(events: &[AuditEvent]) -> Vec<AuditAction> {
    events.iter().map(|event| event.action).collect()
}

credvault_persistence::backend_tests! {
    fn a_grant_is_stored_once_with_its_event(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let account = service_account(db, &team, "etl");

        let first = Grant::new(team.id, credential.id, account.id, owner, now());
        let (stored_grant, created) = db
            .store()
            .create_grant(&first, owner_note(AuditAction::UseGranted, owner))
            .unwrap();
        assert!(created);
        assert_eq!(stored_grant, first);
        let events = all_events(db, &credential);
        assert_eq!(actions(&events), [AuditAction::Created, AuditAction::UseGranted]);
        let granted = events.last().unwrap();
        assert_eq!(granted.at, first.created_at);
        assert_eq!(granted.actor.id, owner);
        assert!(db.store().holds_grant(team.id, credential.id, account.id).unwrap());

        // The same pair again: the first grant comes back, and nothing is written.
        let again = Grant::new(team.id, credential.id, account.id, owner, now());
        let (existing, created) = db
            .store()
            .create_grant(&again, owner_note(AuditAction::UseGranted, owner))
            .unwrap();
        assert!(!created);
        assert_eq!(existing, first);
        assert_eq!(all_events(db, &credential).len(), 2);
        assert_eq!(
            db.store().list_grants(team.id, GrantFilter::default()).unwrap(),
            [first]
        );
    }

    fn another_teams_credential_or_service_account_is_not_found(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other, other_owner) = team_with_owner(db, "globex");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let account = service_account(db, &team, "etl");
        let their_credential = insert_credential(db, &other, other_owner, "Theirs");
        let their_account = service_account(db, &other, "theirs");

        for (credential_id, account_id) in [
            (their_credential.id, account.id),
            (credential.id, their_account.id),
            (CredentialId::new(), account.id),
        ] {
            let result = db.store().create_grant(
                &Grant::new(team.id, credential_id, account_id, owner, now()),
                owner_note(AuditAction::UseGranted, owner),
            );
            assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
        }
        // Nor from the other side: the grant names the other team, the credential is ours.
        let result = db.store().create_grant(
            &Grant::new(other.id, credential.id, their_account.id, other_owner, now()),
            owner_note(AuditAction::UseGranted, other_owner),
        );
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");

        assert_eq!(db.count_rows("use_grants"), 0);
        assert_eq!(actions(&all_events(db, &credential)), [AuditAction::Created]);
        assert_eq!(actions(&all_events(db, &their_credential)), [AuditAction::Created]);
    }

    fn grants_are_listed_oldest_first_by_filter(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other, other_owner) = team_with_owner(db, "globex");
        let first_credential = insert_credential(db, &team, owner, "Warehouse");
        let second_credential = insert_credential(db, &team, owner, "Lake");
        let etl = service_account(db, &team, "etl");
        let ci = service_account(db, &team, "ci");
        let a = grant(db, &first_credential, &etl, owner);
        let b = grant(db, &first_credential, &ci, owner);
        let c = grant(db, &second_credential, &etl, owner);
        let theirs = insert_credential(db, &other, other_owner, "Theirs");
        let their_account = service_account(db, &other, "theirs");
        grant(db, &theirs, &their_account, other_owner);

        let list = |filter| db.store().list_grants(team.id, filter).unwrap();
        assert_eq!(list(GrantFilter::default()), [a.clone(), b.clone(), c.clone()]);
        assert_eq!(
            list(GrantFilter {
                credential_id: Some(first_credential.id),
                service_account_id: None,
            }),
            [a.clone(), b.clone()]
        );
        assert_eq!(
            list(GrantFilter {
                credential_id: None,
                service_account_id: Some(etl.id),
            }),
            [a.clone(), c.clone()]
        );
        assert_eq!(
            list(GrantFilter {
                credential_id: Some(second_credential.id),
                service_account_id: Some(etl.id),
            }),
            [c]
        );
        // Another team's ids filter nothing in: its grants stay its own.
        assert_eq!(
            list(GrantFilter {
                credential_id: Some(theirs.id),
                service_account_id: None,
            }),
            []
        );
    }

    fn a_revoke_appends_its_event_and_a_second_is_not_found(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let other_credential = insert_credential(db, &team, owner, "Lake");
        let account = service_account(db, &team, "etl");
        let granted = grant(db, &credential, &account, owner);

        // The grant is addressed through its credential: another one's path finds nothing.
        let wrong = db.store().revoke_grant(
            team.id,
            other_credential.id,
            granted.id,
            owner_note(AuditAction::UseRevoked, owner),
        );
        assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
        assert!(db.store().holds_grant(team.id, credential.id, account.id).unwrap());

        let before = now();
        let revoked = db
            .store()
            .revoke_grant(
                team.id,
                credential.id,
                granted.id,
                owner_note(AuditAction::UseRevoked, owner),
            )
            .unwrap();
        assert_eq!(revoked, granted);
        assert!(!db.store().holds_grant(team.id, credential.id, account.id).unwrap());
        let events = all_events(db, &credential);
        assert_eq!(
            actions(&events),
            [AuditAction::Created, AuditAction::UseGranted, AuditAction::UseRevoked]
        );
        assert!(events.last().unwrap().at >= before);
        assert_eq!(actions(&all_events(db, &other_credential)), [AuditAction::Created]);

        let again = db.store().revoke_grant(
            team.id,
            credential.id,
            granted.id,
            owner_note(AuditAction::UseRevoked, owner),
        );
        assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
        let missing = db.store().revoke_grant(
            team.id,
            credential.id,
            GrantId::new(),
            owner_note(AuditAction::UseRevoked, owner),
        );
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        assert_eq!(all_events(db, &credential).len(), 3);
    }

    fn a_use_sets_last_used_and_appends_its_event_without_a_new_version(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let account = service_account(db, &team, "etl");
        grant(db, &credential, &account, owner);
        let before = stored(db, &credential);
        assert_eq!(before.last_used, None);

        let outcome = db
            .store()
            .record_use(team.id, credential.id, account.id, use_note(&account))
            .unwrap();
        let UseOutcome::Recorded(at) = outcome else {
            panic!("the use was not recorded: {outcome:?}");
        };
        let after = stored(db, &credential);
        assert_eq!(
            after.last_used,
            Some(LastUse {
                at,
                by: account.principal_id,
            })
        );
        assert_eq!(
            (after.version, after.updated_at, after.modified_by),
            (before.version, before.updated_at, before.modified_by)
        );
        let events = all_events(db, &credential);
        assert_eq!(
            actions(&events),
            [AuditAction::Created, AuditAction::UseGranted, AuditAction::Used]
        );
        let used = events.last().unwrap();
        assert_eq!(used.at, at);
        assert_eq!(
            used.actor,
            Actor {
                id: account.principal_id,
                kind: PrincipalKind::ServiceAccount,
            }
        );
        assert_eq!(
            used.secrets,
            BTreeMap::from([("password".to_owned(), SecretEffect::Released)])
        );

        // A second use moves last_used on.
        let UseOutcome::Recorded(later) = db
            .store()
            .record_use(team.id, credential.id, account.id, use_note(&account))
            .unwrap()
        else {
            panic!("the second use was not recorded");
        };
        assert!(later >= at);
        assert_eq!(stored(db, &credential).last_used.unwrap().at, later);
        assert_eq!(stored(db, &credential).version, before.version);
    }

    fn a_credential_is_read_for_use_with_its_grant(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other, _) = team_with_owner(db, "globex");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let granted = service_account(db, &team, "etl");
        let not_granted = service_account(db, &team, "ci");
        grant(db, &credential, &granted, owner);
        let expected = db
            .store()
            .find_credential(team.id, credential.id)
            .unwrap()
            .unwrap();

        let read = |account| {
            db.store()
                .find_credential_for_use(team.id, credential.id, account)
                .unwrap()
        };
        let (found, holds) = read(Some(granted.id)).unwrap();
        assert!(holds);
        assert_eq!(found.credential, expected.credential);
        assert_eq!(found.ciphertext, expected.ciphertext);
        assert!(!read(Some(not_granted.id)).unwrap().1);
        assert!(!read(None).unwrap().1);

        assert!(db
            .store()
            .find_credential_for_use(other.id, credential.id, Some(granted.id))
            .unwrap()
            .is_none());
        assert!(db
            .store()
            .find_credential_for_use(team.id, CredentialId::new(), Some(granted.id))
            .unwrap()
            .is_none());
    }

    fn a_use_without_a_grant_writes_nothing(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let (other, _) = team_with_owner(db, "globex");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let account = service_account(db, &team, "etl");
        let never_granted = service_account(db, &team, "ci");
        let granted = grant(db, &credential, &account, owner);

        // Revoked through another instance: this one's next use is refused at once.
        other_instance(db)
            .revoke_grant(
                team.id,
                credential.id,
                granted.id,
                owner_note(AuditAction::UseRevoked, owner),
            )
            .unwrap();
        let before = stored(db, &credential);
        let events_before = all_events(db, &credential).len();
        for account_id in [account.id, never_granted.id] {
            assert_eq!(
                db.store()
                    .record_use(team.id, credential.id, account_id, use_note(&account))
                    .unwrap(),
                UseOutcome::NotGranted
            );
        }
        assert_eq!(stored(db, &credential), before);
        assert_eq!(before.last_used, None);
        assert_eq!(all_events(db, &credential).len(), events_before);

        // No such credential in the team: NotFound, whether it is another team's or gone.
        let theirs = db
            .store()
            .record_use(other.id, credential.id, account.id, use_note(&account));
        assert!(matches!(theirs, Err(StoreError::NotFound)), "{theirs:?}");
        let missing =
            db.store()
                .record_use(team.id, CredentialId::new(), account.id, use_note(&account));
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        assert_eq!(all_events(db, &credential).len(), events_before);
    }

    fn deleting_a_credential_or_a_service_account_removes_its_grants(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let warehouse = insert_credential(db, &team, owner, "Warehouse");
        let lake = insert_credential(db, &team, owner, "Lake");
        let etl = service_account(db, &team, "etl");
        let ci = service_account(db, &team, "ci");
        grant(db, &warehouse, &etl, owner);
        grant(db, &warehouse, &ci, owner);
        let kept = grant(db, &lake, &ci, owner);
        grant(db, &lake, &etl, owner);

        db.store()
            .delete_credential(team.id, warehouse.id, owner_note(AuditAction::Deleted, owner))
            .unwrap();
        db.store().delete_service_account(team.id, etl.id).unwrap();
        assert_eq!(
            db.store().list_grants(team.id, GrantFilter::default()).unwrap(),
            [kept]
        );
        assert_eq!(db.count_rows("use_grants"), 1);
        let used = db
            .store()
            .record_use(team.id, warehouse.id, ci.id, use_note(&ci));
        assert!(matches!(used, Err(StoreError::NotFound)), "{used:?}");
    }

    fn the_foreign_keys_cascade_to_grants(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let warehouse = insert_credential(db, &team, owner, "Warehouse");
        let lake = insert_credential(db, &team, owner, "Lake");
        let etl = service_account(db, &team, "etl");
        let ci = service_account(db, &team, "ci");
        grant(db, &warehouse, &etl, owner);
        grant(db, &lake, &etl, owner);
        let kept = grant(db, &lake, &ci, owner);

        // Below the store's own deletes: the schema alone removes the grants.
        assert_eq!(
            db.execute_sql(&format!("DELETE FROM credentials WHERE id = '{}'", warehouse.id)),
            1
        );
        assert_eq!(db.count_rows("use_grants"), 2);
        assert_eq!(
            db.execute_sql(&format!("DELETE FROM service_accounts WHERE id = '{}'", etl.id)),
            1
        );
        assert_eq!(
            db.store().list_grants(team.id, GrantFilter::default()).unwrap(),
            [kept]
        );
        assert_eq!(db.execute_sql(&format!("DELETE FROM teams WHERE id = '{}'", team.id)), 1);
        assert_eq!(db.count_rows("use_grants"), 0);
    }

    fn a_patch_after_a_use_keeps_last_used(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        let account = service_account(db, &team, "etl");
        grant(db, &credential, &account, owner);
        let UseOutcome::Recorded(at) = db
            .store()
            .record_use(team.id, credential.id, account.id, use_note(&account))
            .unwrap()
        else {
            panic!("the use was not recorded");
        };
        let last_used = Some(LastUse {
            at,
            by: account.principal_id,
        });

        for keep_secrets in [true, false] {
            let patched = db
                .store()
                .update_credential(team.id, credential.id, None, |stored| {
                    let mut changed = stored.credential.clone();
                    changed.name = format!("{} (patched)", changed.name);
                    let secrets = if keep_secrets {
                        SecretsUpdate::Keep
                    } else {
                        SecretsUpdate::Replace(ciphertext("resealed"))
                    };
                    Ok::<_, Infallible>(update(changed, secrets, owner))
                })
                .unwrap();
            assert_eq!(patched.credential.last_used, last_used);
        }
        let after = stored(db, &credential);
        assert_eq!(after.name, "Warehouse (patched) (patched)");
        assert_eq!(after.version, credential.version + 2);
        assert_eq!(after.last_used, last_used);
    }

    fn a_last_use_with_one_column_of_two_is_corrupt(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Warehouse");
        assert_eq!(
            db.execute_sql(&format!(
                "UPDATE credentials SET last_used_by = '{owner}' WHERE id = '{}'",
                credential.id
            )),
            1
        );
        let read = db.store().find_credential(team.id, credential.id);
        assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
        assert_eq!(
            db.execute_sql(&format!(
                "UPDATE credentials SET last_used_at = created_at, last_used_by = NULL \
                 WHERE id = '{}'",
                credential.id
            )),
            1
        );
        let read = db.store().find_credential(team.id, credential.id);
        assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    }
}
