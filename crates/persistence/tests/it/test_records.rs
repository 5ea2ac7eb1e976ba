//! `Store::record_test`, which records a connection test's outcome without a new version, on
//! both backends.

use credvault_domain::audit::AuditAction;
use credvault_domain::credential::{CredentialStatus, Health, HealthStatus};
use credvault_domain::edit::AuditNote;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{StoreError, TestRecord};

fn record(version: i64) -> TestRecord {
    TestRecord {
        version,
        status: CredentialStatus::Connected,
        health: Health {
            status: HealthStatus::Healthy,
            notes: vec!["connected to PostgreSQL".to_owned()],
            checked_at: Some(credvault_domain::time::now()),
        },
        recorded_fields: vec!["status".to_owned(), "health".to_owned()],
    }
}

/// The instant of `record`'s outcome, which the test's event shares.
fn tested_at(record: &TestRecord) -> chrono::DateTime<chrono::Utc> {
    record.health.checked_at.unwrap()
}

fn tested_note(actor: credvault_domain::ids::PrincipalId) -> AuditNote {
    let mut note = crate::support::note(AuditAction::Tested, actor);
    note.changed_fields = Vec::new();
    note.secrets = Default::default();
    note
}

credvault_persistence::backend_tests! {
    fn a_test_outcome_is_recorded_without_a_new_version(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let tester = credvault_domain::ids::PrincipalId::new();
        let record = record(before.credential.version);

        let recorded = db
            .store()
            .record_test(team.id, credential.id, Some(&record), tested_at(&record), tested_note(tester))
            .unwrap();
        assert!(recorded);

        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential.status, CredentialStatus::Connected);
        assert_eq!(after.credential.health, record.health);
        assert_eq!(after.credential.version, before.credential.version);
        assert_eq!(after.credential.updated_at, before.credential.updated_at);
        assert_eq!(after.credential.modified_by, before.credential.modified_by);
        assert_eq!(after.ciphertext, before.ciphertext);
        let events = crate::support::all_events(db, &credential);
        let last = events.last().unwrap();
        assert_eq!(last.action, AuditAction::Tested);
        assert_eq!(last.actor.id, tester);
        assert_eq!(last.changed_fields, ["status", "health"]);
        assert_eq!(Some(last.at), record.health.checked_at, "the event has the outcome's instant");
    }

    fn a_stale_outcome_is_not_written_but_the_test_is_audited(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let stale = record(credential.version - 1);
        let recorded = db
            .store()
            .record_test(team.id, credential.id, Some(&stale), tested_at(&stale), tested_note(owner))
            .unwrap();
        assert!(!recorded);
        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential, before.credential);
        let events = crate::support::all_events(db, &credential);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].action, AuditAction::Tested);
        assert!(events[1].changed_fields.is_empty());

        // An event without a record (a test with a body) is appended as it is.
        let mut note = tested_note(owner);
        note.changed_fields = vec!["body".to_owned(), "body.extra_data.port".to_owned()];
        let at = credvault_domain::time::now();
        assert!(!db.store().record_test(team.id, credential.id, None, at, note).unwrap());
        let events = crate::support::all_events(db, &credential);
        assert_eq!(events[2].changed_fields, ["body", "body.extra_data.port"]);
    }

    fn another_teams_credential_is_not_found_and_nothing_is_written(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let (other, _) = crate::support::team_with_owner(db, "globex");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let error = db
            .store()
            .record_test(
                other.id,
                credential.id,
                Some(&record(credential.version)),
                credvault_domain::time::now(),
                tested_note(owner),
            )
            .unwrap_err();
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential, before.credential);
        assert_eq!(crate::support::all_events(db, &credential).len(), 1);
        let missing = credvault_domain::ids::CredentialId::new();
        let error = db
            .store()
            .record_test(team.id, missing, None, credvault_domain::time::now(), tested_note(owner))
            .unwrap_err();
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
    }
}

/// A transaction on a connection of its own, as another request's write would hold one.
enum OpenTransaction {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl OpenTransaction {
    /// Begins a write transaction on `db` and runs `sql` in it, without committing.
    fn begin(db: &TestDb, sql: &str) -> OpenTransaction {
        use diesel::Connection as _;
        use diesel::connection::SimpleConnection as _;
        let mut open = match db.url().strip_prefix("sqlite://") {
            Some(path) => {
                OpenTransaction::Sqlite(diesel::SqliteConnection::establish(path).unwrap())
            }
            None => OpenTransaction::Pg(diesel::PgConnection::establish(db.url()).unwrap()),
        };
        match &mut open {
            OpenTransaction::Pg(conn) => conn.batch_execute(&format!("BEGIN; {sql}")).unwrap(),
            OpenTransaction::Sqlite(conn) => {
                conn.batch_execute(&format!("BEGIN IMMEDIATE; {sql}"))
                    .unwrap();
            }
        }
        open
    }

    fn commit(self) {
        use diesel::connection::SimpleConnection as _;
        match self {
            OpenTransaction::Pg(mut conn) => conn.batch_execute("COMMIT").unwrap(),
            OpenTransaction::Sqlite(mut conn) => conn.batch_execute("COMMIT").unwrap(),
        }
    }
}

/// A test racing a delete, in a module of its own (the macro makes `sqlite`/`postgres` modules).
mod racing {
    use super::*;

    credvault_persistence::backend_tests! {
        fn a_test_event_racing_a_delete_waits_for_it_and_is_not_written(db: &TestDb) {
            // A test with a body records no outcome, only its event. While a delete of the
            // credential is in flight, that event must wait for the delete: written before it
            // commits, it would follow the `deleted` event in the trail (SPEC §1: the delete is the
            // last event) or describe a credential that no longer exists.
            let (team, owner) = crate::support::team_with_owner(db, "acme");
            let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
            let deleting = OpenTransaction::begin(
                db,
                &format!("DELETE FROM credentials WHERE id = '{}'", credential.id),
            );
            let store = db.store().clone();
            let mut note = tested_note(owner);
            note.changed_fields = vec!["body".to_owned(), "body.extra_data.port".to_owned()];
            let (team_id, id) = (team.id, credential.id);
            let test = std::thread::spawn(move || {
                store.record_test(team_id, id, None, credvault_domain::time::now(), note)
            });
            // Long enough for the test's transaction to have reached the row if it does not wait.
            std::thread::sleep(std::time::Duration::from_millis(500));
            deleting.commit();

            let outcome = test.join().unwrap();
            assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
            let events = crate::support::all_events(db, &credential);
            assert!(
                events.iter().all(|event| event.action != AuditAction::Tested),
                "a test event was written beside the delete: {events:?}"
            );
        }
    }
}
