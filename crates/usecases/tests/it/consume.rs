//! A use: what it releases, what it records, and that nothing is written or released when it is
//! refused.

use credvault_crypto::CryptoError;
use credvault_domain::audit::{AuditAction, AuditEvent, SecretEffect};
use credvault_domain::authz::Denied;
use credvault_domain::credential::Credential;
use credvault_domain::ids::RequestId;
use credvault_domain::principal::{Principal, PrincipalKind, Role};
use credvault_domain::service_account::ServiceAccount;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, StoreError};
use credvault_usecases::credentials::{self, Caller};
use credvault_usecases::{Error, grants};

use crate::support::{Team, key_ring, team, warehouse};

fn robot(db: &TestDb, team: &Team) -> (ServiceAccount, Principal, Caller) {
    let account = db
        .store()
        .create_service_account(team.id, "robot", None, Role::Member)
        .unwrap();
    let principal = Principal {
        id: account.principal_id,
        kind: PrincipalKind::ServiceAccount,
        service_account: Some(account.id),
    };
    let caller = Caller::new(&principal, RequestId::new());
    (account, principal, caller)
}

fn trail(db: &TestDb, credential: &Credential) -> Vec<AuditEvent> {
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

fn actions(db: &TestDb, credential: &Credential) -> Vec<AuditAction> {
    trail(db, credential)
        .iter()
        .map(|event| event.action)
        .collect()
}

credvault_persistence::backend_tests! {
    fn a_granted_use_releases_the_secrets_and_records_the_use_without_a_new_version(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let (account, principal, caller) = robot(db, &team);
        grants::grant(db.store(), team.id, created.id, account.id, team.owner).unwrap();

        let release = credentials::use_credential(
            db.store(), &key_ring, team.id, created.id, Role::Member, &principal, caller, None,
        )
        .unwrap();
        assert_eq!(release.secrets.get("password").unwrap().expose(), "first");
        assert_eq!(release.secrets.len(), 1);
        let last_used = release.credential.last_used.unwrap();
        assert_eq!((last_used.at, last_used.by), (release.used_at, principal.id));

        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential.last_used, Some(last_used));
        assert_eq!(stored.credential.version, created.version);
        assert_eq!(stored.credential.updated_at, created.updated_at);
        let events = trail(db, &created);
        let used = events.last().unwrap();
        assert_eq!(used.action, AuditAction::Used);
        assert_eq!(used.actor, caller.actor);
        assert_eq!(used.request_id, caller.request_id);
        assert_eq!(used.at, release.used_at);
        assert_eq!(
            used.secrets,
            [("password".to_owned(), SecretEffect::Released)].into()
        );
    }

    fn a_refused_use_releases_nothing_and_writes_nothing(db: &TestDb) {
        let team = team(db);
        let other_ring = key_ring("k2", &["k2"]);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let (account, principal, caller) = robot(db, &team);
        let use_it = |principal: &Principal, caller, ring: &credvault_crypto::KeyRing| {
            credentials::use_credential(
                db.store(), ring, team.id, created.id, Role::Owner, principal, caller, None,
            )
        };

        // No grant yet.
        let refused = use_it(&principal, caller, &key_ring).unwrap_err();
        assert!(matches!(refused, Error::Denied(Denied::NotGranted)), "{refused:?}");
        // A user, even an owner, never uses.
        let owner = Principal {
            id: team.owner.actor.id,
            kind: PrincipalKind::User,
            service_account: None,
        };
        let refused = use_it(&owner, team.owner, &key_ring).unwrap_err();
        assert!(matches!(refused, Error::Denied(Denied::NotGranted)), "{refused:?}");

        // Granted, but the ciphertext's key is not in this ring.
        let (grant, _) =
            grants::grant(db.store(), team.id, created.id, account.id, team.owner).unwrap();
        let refused = use_it(&principal, caller, &other_ring).unwrap_err();
        assert!(
            matches!(refused, Error::Crypto(CryptoError::UnknownKeyId(_))),
            "{refused:?}"
        );

        // Revoked.
        grants::revoke(db.store(), team.id, created.id, grant.id, team.owner).unwrap();
        let refused = use_it(&principal, caller, &key_ring).unwrap_err();
        assert!(matches!(refused, Error::Denied(Denied::NotGranted)), "{refused:?}");

        // Another team's credential is not found.
        let missing = credentials::use_credential(
            db.store(),
            &key_ring,
            credvault_domain::ids::TeamId::new(),
            created.id,
            Role::Owner,
            &principal,
            caller,
            None,
        )
        .unwrap_err();
        assert!(matches!(missing, Error::Store(StoreError::NotFound)), "{missing:?}");

        assert_eq!(
            actions(db, &created),
            [AuditAction::Created, AuditAction::UseGranted, AuditAction::UseRevoked]
        );
        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.credential.last_used, None);
    }

    fn grants_name_the_service_account_on_the_trail_and_only_this_teams_accounts(db: &TestDb) {
        let team = team(db);
        let key_ring = key_ring("k1", &["k1"]);
        let created = warehouse(db, &team, &key_ring);
        let (account, _, _) = robot(db, &team);
        let (grant, new) =
            grants::grant(db.store(), team.id, created.id, account.id, team.owner).unwrap();
        assert!(new);
        let (again, new) =
            grants::grant(db.store(), team.id, created.id, account.id, team.owner).unwrap();
        assert_eq!((again, new), (grant.clone(), false));
        grants::revoke(db.store(), team.id, created.id, grant.id, team.owner).unwrap();
        let events = trail(db, &created);
        let named = [format!("grants.{}", account.id)];
        assert_eq!(events[1].changed_fields, named);
        assert_eq!(events[2].changed_fields, named);
        assert_eq!(events.len(), 3);

        let elsewhere = db.store().create_team(&"globex".parse().unwrap()).unwrap();
        let theirs = db
            .store()
            .create_service_account(elsewhere.id, "theirs", None, Role::Member)
            .unwrap();
        let refused =
            grants::grant(db.store(), team.id, created.id, theirs.id, team.owner).unwrap_err();
        let Error::Invalid(errors) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(errors.errors()[0].field, "service_account_id");
        assert!(grants::list_for_credential(db.store(), team.id, created.id).unwrap().is_empty());
    }
}
