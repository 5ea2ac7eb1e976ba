//! Teams, users, tokens and memberships.

use chrono::{TimeDelta, Utc};
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::team::TeamRef;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Backend, Store, StoreError, StoreOptions, constraint};

credvault_persistence::backend_tests! {
    fn user_tokens_expire_and_record_their_last_use_to_the_minute(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let now = credvault_domain::time::now();
        let issued = store
            .issue_user_token(&credvault_persistence::NewUserToken {
                team_id: team.id,
                role: Role::Member,
                name: "laptop",
                token_hash: "laptop-hash",
                created_by: None,
                expires_at: Some(now + TimeDelta::hours(1)),
            })
            .unwrap();
        let last_used = || store.find_user_token(team.id, issued.id).unwrap().unwrap().last_used_at;
        assert_eq!(last_used(), None);

        assert!(store.authenticate("laptop-hash", now).unwrap().is_some());
        assert_eq!(last_used(), Some(now));
        // Within a minute of the recorded use nothing is written.
        let later = now + TimeDelta::seconds(59);
        assert!(store.authenticate("laptop-hash", later).unwrap().is_some());
        assert_eq!(last_used(), Some(now));
        let much_later = now + TimeDelta::seconds(61);
        assert!(store.authenticate("laptop-hash", much_later).unwrap().is_some());
        assert_eq!(last_used(), Some(much_later));

        // At its expiry it stops authenticating, and its last use stays.
        assert!(store.authenticate("laptop-hash", now + TimeDelta::hours(1)).unwrap().is_none());
        assert_eq!(last_used(), Some(much_later));
        // Revoked, it is gone: neither found nor authenticated, and a second revoke is NotFound.
        store.revoke_user_token(team.id, issued.id).unwrap();
        assert!(store.authenticate("laptop-hash", now).unwrap().is_none());
        assert_eq!(store.find_user_token(team.id, issued.id).unwrap(), None);
        assert!(matches!(
            store.revoke_user_token(team.id, issued.id),
            Err(StoreError::NotFound)
        ));
    }

    fn concurrent_first_team_creations_create_one(db: &TestDb) {
        const INSTANCES: usize = 6;
        let label = "demo".parse().unwrap();
        let barrier = std::sync::Barrier::new(INSTANCES);
        let created: Vec<bool> = std::thread::scope(|scope| {
            let running: Vec<_> = (0..INSTANCES)
                .map(|n| {
                    let (barrier, label) = (&barrier, &label);
                    scope.spawn(move || {
                        // Each thread is an instance with its own store over the one database.
                        let store = Store::open(db.url(), &StoreOptions::default()).unwrap();
                        barrier.wait();
                        store
                            .create_first_team(label, &format!("hash-{n}"), "first owner")
                            .unwrap()
                            .is_some()
                    })
                })
                .collect();
            running.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        assert_eq!(created.iter().filter(|created| **created).count(), 1, "{created:?}");
        let store = db.store();
        assert_eq!(store.count_teams().unwrap(), 1);
        let team = store.find_team(&TeamRef::Label(label)).unwrap().unwrap();
        let tokens = store
            .list_user_tokens(team.id, credvault_persistence::PageRequest { after: None, limit: 10 })
            .unwrap();
        assert_eq!(tokens.items.len(), 1);
        assert_eq!(tokens.items[0].role, Role::Owner);
        // Once a team exists, nothing is created.
        let again = store.create_first_team(&"other".parse().unwrap(), "hash-x", "x").unwrap();
        assert!(again.is_none());
        assert_eq!(store.count_teams().unwrap(), 1);
    }

    fn teams_are_found_by_id_and_label(db: &TestDb) {
        let store = db.store();
        assert!(matches!(
            (store.backend(), db.url().starts_with("sqlite")),
            (Backend::Sqlite, true) | (Backend::Postgres, false)
        ));
        store.ping().unwrap();
        assert_eq!(store.count_teams().unwrap(), 0);

        let team = store.create_team(&"acme".parse().unwrap()).unwrap();

        assert_eq!(store.count_teams().unwrap(), 1);
        assert_eq!(
            store.find_team(&TeamRef::Id(team.id)).unwrap(),
            Some(team.clone())
        );
        assert_eq!(
            store.find_team(&"acme".parse().unwrap()).unwrap(),
            Some(team.clone())
        );
        assert_eq!(store.find_team(&"other".parse().unwrap()).unwrap(), None);
    }

    fn a_taken_label_is_a_conflict(db: &TestDb) {
        let store = db.store();
        store.create_team(&"acme".parse().unwrap()).unwrap();

        let again = store.create_team(&"acme".parse().unwrap());

        match again {
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::TEAM_LABEL)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(store.count_teams().unwrap(), 1);
    }

    fn a_user_authenticates_with_its_token_and_holds_its_role(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let member = store
            .create_user(team.id, Role::Member, "member-hash")
            .unwrap();

        let principal = store
            .authenticate("member-hash", Utc::now())
            .unwrap()
            .unwrap();

        assert_eq!(principal.id, member);
        assert_eq!(principal.kind, PrincipalKind::User);
        assert_eq!(principal.service_account, None);
        assert_eq!(
            store.authenticate("unknown-hash", Utc::now()).unwrap(),
            None
        );
        assert_eq!(
            store.membership(&"acme".parse().unwrap(), member).unwrap(),
            Some((team.clone(), Role::Member))
        );
        let duplicate = store.create_user(team.id, Role::Owner, "member-hash");
        match duplicate {
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::TOKEN_HASH)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    fn a_user_of_a_missing_team_is_a_conflict(db: &TestDb) {
        let result =
            db.store()
                .create_user(credvault_domain::ids::TeamId::new(), Role::Owner, "hash");

        match result {
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::FOREIGN_KEY)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(db.store().authenticate("hash", Utc::now()).unwrap(), None);
    }

    fn an_expired_token_does_not_authenticate(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let account = store
            .create_service_account(team.id, "ci", None, Role::Member)
            .unwrap();
        let client = store
            .create_client_credential(team.id, account.id, "main", None, "client-1", "secret-hash")
            .unwrap();
        let now = Utc::now();
        store
            .issue_access_token(
                client.id,
                "expired",
                now - TimeDelta::hours(2),
                now - TimeDelta::seconds(1),
            )
            .unwrap();
        store
            .issue_access_token(client.id, "fresh", now, now + TimeDelta::hours(1))
            .unwrap();

        assert_eq!(store.authenticate("expired", now).unwrap(), None);
        assert!(store.authenticate("fresh", now).unwrap().is_some());
        assert_eq!(
            store
                .authenticate("fresh", now + TimeDelta::hours(2))
                .unwrap(),
            None
        );
    }
}
