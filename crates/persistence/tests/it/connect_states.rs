//! Pending OAuth connects: stored by hash, taken once (also by concurrent callers), not taken
//! once expired, scoped to an existing credential of the team, and gone with their credential.

use chrono::TimeDelta;
use credvault_domain::audit::AuditAction;
use credvault_domain::ids::CredentialId;
use credvault_domain::principal::PrincipalKind;
use credvault_domain::team::Team;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{ConnectReturn, NewConnectState, StoreError};

use crate::support::{ciphertext, insert_credential, note, team_with_owner};

fn pending<'a>(
    state_hash: &'a str,
    team: &Team,
    credential_id: CredentialId,
    principal_id: credvault_domain::ids::PrincipalId,
    lifetime: TimeDelta,
) -> NewConnectState<'a> {
    let now = credvault_domain::time::now();
    NewConnectState {
        state_hash,
        team_id: team.id,
        credential_id,
        principal_id,
        verifier: ciphertext("verifier"),
        redirect_uri: "https://vault.example.test/api/v1/oauth/callback",
        return_to: ConnectReturn::Console,
        created_at: now,
        expires_at: now + lifetime,
    }
}

credvault_persistence::backend_tests! {
    fn a_pending_connect_is_taken_once(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Drive");
        store
            .begin_connect(&pending("state-1", &team, credential.id, owner, TimeDelta::minutes(10)))
            .unwrap();

        let now = credvault_domain::time::now();
        assert!(store.take_connect("state-2", now).unwrap().is_none(), "unknown state");
        let taken = store.take_connect("state-1", now).unwrap().unwrap();
        assert_eq!(taken.team_id, team.id);
        assert_eq!(taken.credential_id, credential.id);
        assert_eq!(taken.principal.id, owner);
        assert_eq!(taken.principal.kind, PrincipalKind::User);
        assert_eq!(taken.verifier, ciphertext("verifier"));
        assert_eq!(taken.redirect_uri, "https://vault.example.test/api/v1/oauth/callback");
        assert_eq!(taken.return_to, ConnectReturn::Console);
        assert!(!format!("{taken:?}").contains("verifier\""), "{taken:?}");
        assert!(store.take_connect("state-1", now).unwrap().is_none(), "used state");
    }

    fn an_expired_connect_is_not_taken(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Drive");
        store
            .begin_connect(&pending("state-1", &team, credential.id, owner, TimeDelta::minutes(10)))
            .unwrap();
        let later = credvault_domain::time::now() + TimeDelta::minutes(11);
        assert!(store.take_connect("state-1", later).unwrap().is_none());
        // Deleted by the refused take: not taken even at a time it would have been live.
        assert!(store.take_connect("state-1", credvault_domain::time::now()).unwrap().is_none());
    }

    fn expired_connects_are_purged_by_later_starts(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Drive");
        store
            .begin_connect(&pending("old", &team, credential.id, owner, TimeDelta::seconds(-1)))
            .unwrap();
        store
            .begin_connect(&pending("new", &team, credential.id, owner, TimeDelta::minutes(10)))
            .unwrap();
        // The expired one went with the second start, whatever time the take says.
        let long_ago = credvault_domain::time::now() - TimeDelta::hours(1);
        assert!(store.take_connect("old", long_ago).unwrap().is_none());
        assert!(store.take_connect("new", long_ago).unwrap().is_some());
    }

    fn a_connect_needs_a_credential_of_the_team(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let (other, other_owner) = team_with_owner(db, "globex");
        let theirs = insert_credential(db, &other, other_owner, "Theirs");
        let refused = store
            .begin_connect(&pending("state-1", &team, theirs.id, owner, TimeDelta::minutes(10)));
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
        let refused = store.begin_connect(&pending(
            "state-2", &team, CredentialId::new(), owner, TimeDelta::minutes(10),
        ));
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    }

    fn a_deleted_credential_takes_its_pending_connects(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Drive");
        store
            .begin_connect(&pending("state-1", &team, credential.id, owner, TimeDelta::minutes(10)))
            .unwrap();
        store
            .delete_credential(team.id, credential.id, note(AuditAction::Deleted, owner))
            .unwrap();
        assert!(store.take_connect("state-1", credvault_domain::time::now()).unwrap().is_none());
    }

    fn concurrent_callbacks_take_a_state_once(db: &TestDb) {
        let store = db.store();
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_credential(db, &team, owner, "Drive");
        store
            .begin_connect(&pending("state-1", &team, credential.id, owner, TimeDelta::minutes(10)))
            .unwrap();
        let now = credvault_domain::time::now();
        let barrier = std::sync::Barrier::new(8);
        let taken = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        store.take_connect("state-1", now).unwrap().is_some()
                    })
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).filter(|taken| *taken).count()
        });
        assert_eq!(taken, 1);
    }
}
