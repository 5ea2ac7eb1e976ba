//! Another team's id finds nothing: every scoped method answers as if the row did not exist.

use std::convert::Infallible;

use credvault_domain::audit::AuditAction;
use credvault_domain::ids::ClientCredentialId;
use credvault_domain::patch::Patch;
use credvault_domain::principal::Role;
use credvault_domain::team::TeamRef;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{CredentialChange, CredentialFilter, StoreError, UpdateError};

use crate::support::{first_page, insert_credential, note, team_with_owner};

credvault_persistence::backend_tests! {
    fn credentials_of_another_team_are_invisible(db: &TestDb) {
        let (ours, owner) = team_with_owner(db, "ours");
        let (theirs, _) = team_with_owner(db, "theirs");
        let credential = insert_credential(db, &ours, owner, "Warehouse");
        let store = db.store();

        assert!(
            store
                .find_credential(theirs.id, credential.id)
                .unwrap()
                .is_none()
        );
        let update = store.update_credential(
            theirs.id,
            credential.id,
            None,
            |_| -> Result<CredentialChange, Infallible> {
                panic!("the closure must not see another team's row")
            },
        );
        assert!(
            matches!(update, Err(UpdateError::Store(StoreError::NotFound))),
            "{update:?}"
        );
        let delete = store.delete_credential(
            theirs.id,
            credential.id,
            note(AuditAction::Deleted, owner),
        );
        assert!(matches!(delete, Err(StoreError::NotFound)), "{delete:?}");
        let listed = store
            .list_credentials(theirs.id, &CredentialFilter::default(), first_page(100))
            .unwrap();
        assert!(listed.items.is_empty());
        let events = store.list_events(theirs.id, credential.id, first_page(100));
        assert!(matches!(events, Err(StoreError::NotFound)), "{events:?}");

        // Nothing happened to the row or its trail.
        let stored = store
            .find_credential(ours.id, credential.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.credential.version, 1);
        assert_eq!(
            store
                .list_events(ours.id, credential.id, first_page(100))
                .unwrap()
                .items
                .len(),
            1
        );
    }

    fn service_accounts_of_another_team_are_invisible(db: &TestDb) {
        let (ours, _) = team_with_owner(db, "ours");
        let (theirs, _) = team_with_owner(db, "theirs");
        let store = db.store();
        let account = store
            .create_service_account(ours.id, "ci", None, Role::Member)
            .unwrap();
        let client = store
            .create_client_credential(ours.id, account.id, "main", None, "client-1", "hash-1")
            .unwrap();

        assert!(
            store
                .find_service_account(theirs.id, account.id)
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .list_service_accounts(theirs.id, first_page(100))
                .unwrap()
                .items
                .is_empty()
        );
        let update = store.update_service_account(theirs.id, account.id, Some("x"), &Patch::Null);
        assert!(matches!(update, Err(StoreError::NotFound)), "{update:?}");
        let delete = store.delete_service_account(theirs.id, account.id);
        assert!(matches!(delete, Err(StoreError::NotFound)), "{delete:?}");
        let create =
            store.create_client_credential(theirs.id, account.id, "x", None, "client-2", "h");
        assert!(matches!(create, Err(StoreError::NotFound)), "{create:?}");
        assert!(
            store
                .list_client_credentials(theirs.id, account.id, first_page(100))
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            store
                .find_client_credential(theirs.id, account.id, client.id)
                .unwrap()
                .is_none()
        );
        let update = store.update_client_credential(
            theirs.id,
            account.id,
            client.id,
            Some("x"),
            &Patch::Absent,
        );
        assert!(matches!(update, Err(StoreError::NotFound)), "{update:?}");
        let delete = store.delete_client_credential(theirs.id, account.id, client.id);
        assert!(matches!(delete, Err(StoreError::NotFound)), "{delete:?}");
        // A client credential id under the wrong account of the right team is not found either.
        let other_account = store
            .create_service_account(ours.id, "other", None, Role::Member)
            .unwrap();
        assert!(
            store
                .find_client_credential(ours.id, other_account.id, client.id)
                .unwrap()
                .is_none()
        );
        let delete = store.delete_client_credential(ours.id, other_account.id, client.id);
        assert!(matches!(delete, Err(StoreError::NotFound)), "{delete:?}");
        let missing =
            store.delete_client_credential(ours.id, account.id, ClientCredentialId::new());
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

        let unchanged = store
            .find_service_account(ours.id, account.id)
            .unwrap()
            .unwrap();
        assert_eq!(unchanged, account);
        let unchanged = store
            .find_client_credential(ours.id, account.id, client.id)
            .unwrap()
            .unwrap();
        assert_eq!(unchanged, client);
    }

    fn membership_is_none_for_a_missing_team_and_for_a_non_member_alike(db: &TestDb) {
        let (ours, owner) = team_with_owner(db, "ours");
        let (theirs, _) = team_with_owner(db, "theirs");
        let store = db.store();

        assert_eq!(
            store.membership(&TeamRef::Id(theirs.id), owner).unwrap(),
            None
        );
        assert_eq!(
            store
                .membership(&TeamRef::Label(theirs.label.clone()), owner)
                .unwrap(),
            None
        );
        assert_eq!(
            store.membership(&"nobody".parse().unwrap(), owner).unwrap(),
            None
        );
        assert_eq!(
            store
                .membership(&TeamRef::Id(credvault_domain::ids::TeamId::new()), owner)
                .unwrap(),
            None
        );
        assert_eq!(
            store.membership(&TeamRef::Id(ours.id), owner).unwrap(),
            Some((ours.clone(), Role::Owner))
        );
    }
}
