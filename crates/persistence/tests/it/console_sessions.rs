//! Web console sessions: sign-in with a user token, idle and absolute expiry, sign-out, and the
//! end of every session of a revoked or expired token.

use chrono::TimeDelta;
use credvault_domain::principal::Role;
use credvault_domain::secret::SecretValue;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{NewConsoleSession, NewUserToken};

const IDLE: TimeDelta = TimeDelta::minutes(30);

fn session<'a>(
    token_hash: &'a str,
    id_hash: &'a str,
    csrf: &'a SecretValue,
) -> NewConsoleSession<'a> {
    NewConsoleSession {
        token_hash,
        id_hash,
        csrf_secret: csrf,
        lifetime: TimeDelta::hours(12),
    }
}

credvault_persistence::backend_tests! {
    fn a_user_token_opens_a_session_in_its_team_that_ends_idle_or_at_its_end(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let principal = store.create_user(team.id, Role::Owner, "user-hash").unwrap();
        let csrf = SecretValue::from("csrf-1");
        let now = credvault_domain::time::now();

        let opened = store
            .open_console_session(&session("user-hash", "session-1", &csrf), now, IDLE)
            .unwrap()
            .unwrap();
        assert_eq!(opened.team_id, team.id);
        assert_eq!(opened.principal_id, principal);
        assert_eq!(opened.expires_at, now + TimeDelta::hours(12));
        assert!(opened.csrf_secret.constant_time_eq(&csrf));
        assert!(!format!("{opened:?}").contains("csrf-1"));

        // An unknown token opens nothing.
        assert!(store
            .open_console_session(&session("other-hash", "session-2", &csrf), now, IDLE)
            .unwrap()
            .is_none());
        assert!(store.console_session("session-2", now, IDLE).unwrap().is_none());

        // Used within the idle timeout it lives on, and each use moves the idle clock.
        let later = now + TimeDelta::minutes(29);
        let found = store.console_session("session-1", later, IDLE).unwrap().unwrap();
        assert_eq!(found.principal_id, principal);
        assert_eq!(found.last_seen_at, later);
        let even_later = later + TimeDelta::minutes(29);
        assert!(store.console_session("session-1", even_later, IDLE).unwrap().is_some());
        // Idle for the whole timeout, it is over.
        assert!(store
            .console_session("session-1", even_later + IDLE, IDLE)
            .unwrap()
            .is_none());

        // However busy, a session ends at its absolute end.
        store
            .open_console_session(&session("user-hash", "session-3", &csrf), now, IDLE)
            .unwrap()
            .unwrap();
        let mut at = now;
        while at < now + TimeDelta::hours(12) - TimeDelta::minutes(20) {
            at += TimeDelta::minutes(20);
            assert!(store.console_session("session-3", at, IDLE).unwrap().is_some(), "{at}");
        }
        assert!(store
            .console_session("session-3", now + TimeDelta::hours(12), IDLE)
            .unwrap()
            .is_none());
    }

    fn signing_out_or_revoking_the_token_ends_the_session(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let now = credvault_domain::time::now();
        let csrf = SecretValue::from("csrf");
        let token = store
            .issue_user_token(&NewUserToken {
                team_id: team.id,
                role: Role::Member,
                name: "laptop",
                token_hash: "laptop-hash",
                created_by: None,
                expires_at: Some(now + TimeDelta::hours(1)),
            })
            .unwrap();
        for id_hash in ["a", "b", "c"] {
            store
                .open_console_session(&session("laptop-hash", id_hash, &csrf), now, IDLE)
                .unwrap()
                .unwrap();
        }
        // A session never outlives its token.
        let found = store.console_session("a", now, IDLE).unwrap().unwrap();
        assert_eq!(found.expires_at, now + TimeDelta::hours(1));

        assert!(store.end_console_session("a").unwrap());
        assert!(!store.end_console_session("a").unwrap());
        assert!(store.console_session("a", now, IDLE).unwrap().is_none());
        assert!(store.console_session("b", now, IDLE).unwrap().is_some());

        store.revoke_user_token(team.id, token.id).unwrap();
        assert!(store.console_session("b", now, IDLE).unwrap().is_none());
        assert!(store.console_session("c", now, IDLE).unwrap().is_none());
    }

    fn a_service_account_token_opens_no_session(db: &TestDb) {
        let store = db.store();
        let team = store.create_team(&"acme".parse().unwrap()).unwrap();
        let account = store
            .create_service_account(team.id, "ci", None, Role::Owner)
            .unwrap();
        let client = store
            .create_client_credential(team.id, account.id, "ci key", None, "client-1", "secret-hash")
            .unwrap();
        let now = credvault_domain::time::now();
        store
            .issue_access_token(client.id, "access-hash", now, now + TimeDelta::hours(1))
            .unwrap();
        assert!(store.authenticate("access-hash", now).unwrap().is_some());
        let csrf = SecretValue::from("csrf");
        assert!(store
            .open_console_session(&session("access-hash", "s", &csrf), now, IDLE)
            .unwrap()
            .is_none());
    }
}
