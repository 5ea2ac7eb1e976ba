//! Service accounts and client credentials through their whole life.

use chrono::{TimeDelta, Utc};
use credvault_domain::patch::Patch;
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::team::TeamRef;
use credvault_domain::time::to_micros;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, StoreError, constraint};

use crate::support::{first_page, team_with_owner};

credvault_persistence::backend_tests! {
    fn service_accounts_are_created_listed_and_updated(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let store = db.store();
        let first = store
            .create_service_account(team.id, "ci", Some("the CI pipeline"), Role::Owner)
            .unwrap();
        let second = store
            .create_service_account(team.id, "etl", None, Role::Member)
            .unwrap();

        assert_eq!(
            store.find_service_account(team.id, first.id).unwrap(),
            Some(first.clone())
        );
        assert_eq!(first.created_at, to_micros(first.created_at));
        assert_eq!(
            store
                .membership(&TeamRef::Id(team.id), first.principal_id)
                .unwrap(),
            Some((team.clone(), Role::Owner))
        );
        let page = store.list_service_accounts(team.id, first_page(1)).unwrap();
        assert_eq!(page.items, std::slice::from_ref(&first));
        let rest = store
            .list_service_accounts(
                team.id,
                PageRequest {
                    after: page.next_after,
                    limit: 1,
                },
            )
            .unwrap();
        assert_eq!(rest.items, std::slice::from_ref(&second));
        assert_eq!(rest.next_after, None);

        let renamed = store
            .update_service_account(team.id, first.id, Some("ci-2"), &Patch::Absent)
            .unwrap();
        assert_eq!(renamed.name, "ci-2");
        assert_eq!(renamed.description.as_deref(), Some("the CI pipeline"));
        assert!(renamed.updated_at >= first.updated_at);
        let cleared = store
            .update_service_account(team.id, first.id, None, &Patch::Null)
            .unwrap();
        assert_eq!(cleared.name, "ci-2");
        assert_eq!(cleared.description, None);
        let described = store
            .update_service_account(team.id, first.id, None, &Patch::Value("new".to_owned()))
            .unwrap();
        assert_eq!(described.description.as_deref(), Some("new"));
        assert_eq!(
            store.find_service_account(team.id, first.id).unwrap(),
            Some(described)
        );
    }

    fn client_credentials_issue_tokens_that_die_with_them(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let store = db.store();
        let account = store
            .create_service_account(team.id, "ci", None, Role::Member)
            .unwrap();
        let client = store
            .create_client_credential(
                team.id,
                account.id,
                "main",
                Some("rotate yearly"),
                "client-1",
                "hash-1",
            )
            .unwrap();
        assert_eq!(client.last_used_at, None);
        assert_eq!(
            store
                .find_client_credential(team.id, account.id, client.id)
                .unwrap(),
            Some(client.clone())
        );
        let duplicate =
            store.create_client_credential(team.id, account.id, "dup", None, "client-1", "h");
        match duplicate {
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::CLIENT_ID)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }

        let auth = store
            .find_client_credential_by_client_id("client-1")
            .unwrap()
            .unwrap();
        assert_eq!(auth.credential, client);
        assert_eq!(auth.team_id, team.id);
        assert_eq!(auth.principal_id, account.principal_id);
        assert_eq!(auth.secret_hash, "hash-1");
        assert!(
            store
                .find_client_credential_by_client_id("client-x")
                .unwrap()
                .is_none()
        );

        let now = Utc::now();
        store
            .issue_access_token(client.id, "token-1", now, now + TimeDelta::hours(1))
            .unwrap();
        let used = store
            .find_client_credential(team.id, account.id, client.id)
            .unwrap()
            .unwrap();
        assert_eq!(used.last_used_at, Some(to_micros(now)));
        let principal = store.authenticate("token-1", now).unwrap().unwrap();
        assert_eq!(principal.id, account.principal_id);
        assert_eq!(principal.kind, PrincipalKind::ServiceAccount);
        assert_eq!(principal.service_account, Some(account.id));

        let updated = store
            .update_client_credential(
                team.id,
                account.id,
                client.id,
                Some("renamed"),
                &Patch::Null,
            )
            .unwrap();
        assert_eq!(updated.name, "renamed");
        assert_eq!(updated.description, None);
        assert_eq!(
            store
                .find_client_credential(team.id, account.id, client.id)
                .unwrap(),
            Some(updated)
        );
        let listed = store
            .list_client_credentials(team.id, account.id, first_page(10))
            .unwrap();
        assert_eq!(listed.items.len(), 1);

        store
            .delete_client_credential(team.id, account.id, client.id)
            .unwrap();
        assert_eq!(store.authenticate("token-1", now).unwrap(), None);
        assert!(
            store
                .find_client_credential(team.id, account.id, client.id)
                .unwrap()
                .is_none()
        );
        let late = store.issue_access_token(client.id, "token-2", now, now + TimeDelta::hours(1));
        assert!(matches!(late, Err(StoreError::NotFound)), "{late:?}");
    }

    fn deleting_a_service_account_removes_everything_it_held(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let store = db.store();
        let account = store
            .create_service_account(team.id, "ci", None, Role::Owner)
            .unwrap();
        let keep = store
            .create_service_account(team.id, "keep", None, Role::Owner)
            .unwrap();
        let now = Utc::now();
        for index in 0..2 {
            let client = store
                .create_client_credential(
                    team.id,
                    account.id,
                    "c",
                    None,
                    &format!("client-{index}"),
                    "h",
                )
                .unwrap();
            store
                .issue_access_token(
                    client.id,
                    &format!("token-{index}"),
                    now,
                    now + TimeDelta::hours(1),
                )
                .unwrap();
        }
        let kept_client = store
            .create_client_credential(team.id, keep.id, "k", None, "client-keep", "h")
            .unwrap();
        store
            .issue_access_token(kept_client.id, "token-keep", now, now + TimeDelta::hours(1))
            .unwrap();

        store.delete_service_account(team.id, account.id).unwrap();

        assert!(
            store
                .find_service_account(team.id, account.id)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .membership(&TeamRef::Id(team.id), account.principal_id)
                .unwrap(),
            None
        );
        for index in 0..2 {
            assert_eq!(
                store.authenticate(&format!("token-{index}"), now).unwrap(),
                None
            );
            assert!(
                store
                    .find_client_credential_by_client_id(&format!("client-{index}"))
                    .unwrap()
                    .is_none()
            );
        }
        assert!(
            store
                .list_client_credentials(team.id, account.id, first_page(10))
                .unwrap()
                .items
                .is_empty()
        );
        let again = store.delete_service_account(team.id, account.id);
        assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
        // The other account, its token and the human owner are untouched.
        assert!(store.authenticate("token-keep", now).unwrap().is_some());
        assert_eq!(
            store
                .list_service_accounts(team.id, first_page(10))
                .unwrap()
                .items,
            [keep]
        );
        assert!(
            store
                .membership(&TeamRef::Id(team.id), owner)
                .unwrap()
                .is_some()
        );
    }

    fn issuing_an_access_token_purges_expired_ones_in_bounded_batches(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let store = db.store();
        let account = store
            .create_service_account(team.id, "ci", None, Role::Member)
            .unwrap();
        let credential = store
            .create_client_credential(team.id, account.id, "main", None, "cvc_purge", "hash")
            .unwrap();
        let user_tokens = db.count_rows("api_tokens");
        let now = Utc::now();
        // 150 tokens issued two hours ago for one hour: all expired by now. Each issue purges what
        // had expired at its own time, which was nothing.
        let issued_at = now - TimeDelta::hours(2);
        for n in 0..150 {
            store
                .issue_access_token(
                    credential.id,
                    &format!("expired-{n}"),
                    issued_at,
                    issued_at + TimeDelta::hours(1),
                )
                .unwrap();
        }
        // One that is still valid, and a user token that expired: neither is purged.
        store
            .issue_access_token(credential.id, "valid", issued_at, now + TimeDelta::hours(1))
            .unwrap();
        store
            .issue_user_token(&credvault_persistence::NewUserToken {
                team_id: team.id,
                role: Role::Member,
                name: "expired user token",
                token_hash: "expired-user",
                created_by: None,
                expires_at: Some(now - TimeDelta::hours(1)),
            })
            .unwrap();
        assert_eq!(db.count_rows("api_tokens"), user_tokens + 152);

        // Each issue now deletes at most a batch of the expired ones, until none is left.
        store
            .issue_access_token(credential.id, "fresh-1", now, now + TimeDelta::hours(1))
            .unwrap();
        assert_eq!(db.count_rows("api_tokens"), user_tokens + 152 + 1 - 100);
        store
            .issue_access_token(credential.id, "fresh-2", now, now + TimeDelta::hours(1))
            .unwrap();
        assert_eq!(db.count_rows("api_tokens"), user_tokens + 1 + 3);
        for hash in ["valid", "fresh-1", "fresh-2"] {
            assert!(store.authenticate(hash, now).unwrap().is_some(), "{hash}");
        }
        assert_eq!(
            store.list_user_tokens(team.id, first_page(10)).unwrap().items.len(),
            2,
            "the expired user token is still listed"
        );
    }
}
