//! Opening stores: URL schemes and what an unreachable database looks like.

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Duration;

use credvault_persistence::testing::TestDb;
use credvault_persistence::{Backend, CredentialChange, Store, StoreError, StoreOptions};

use crate::support::{insert_credential, team_with_owner};

fn quick() -> StoreOptions {
    StoreOptions {
        pool_size: 2,
        connection_timeout: Duration::from_secs(1),
    }
}

#[test]
fn an_unreachable_postgres_is_unavailable() {
    // Nothing listens on port 1; the real libpq error comes back, without the password.
    let result = Store::open("postgres://postgres:hunter2@127.0.0.1:1/none", &quick());

    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains("hunter2"), "{message}");
            assert!(
                message.contains("127.0.0.1"),
                "the libpq error is lost: {message}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn an_unknown_scheme_is_refused() {
    let result = Store::open("mysql://root:hunter2@localhost/db", &quick());

    match result {
        Err(StoreError::Database(message)) => assert!(!message.contains("hunter2"), "{message}"),
        other => panic!("expected a Database error, got {other:?}"),
    }
}

#[test]
fn an_in_memory_sqlite_store_works_for_its_lifetime() {
    let store = Store::open("sqlite::memory:", &quick()).unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.migrate().unwrap().len(), 2);
    assert!(store.migrate().unwrap().is_empty(), "migrations apply once");

    store.create_team(&"acme".parse().unwrap()).unwrap();

    assert_eq!(store.count_teams().unwrap(), 1);
}

#[test]
fn a_sqlite_file_is_created_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vault.db").display());
    {
        let store = Store::open(&url, &quick()).unwrap();
        store.migrate().unwrap();
        store.create_team(&"acme".parse().unwrap()).unwrap();
    }

    let store = Store::open(&url, &quick()).unwrap();

    assert!(store.migrate().unwrap().is_empty());
    assert!(store.find_team(&"acme".parse().unwrap()).unwrap().is_some());
}

#[test]
fn a_pool_with_no_free_connection_in_time_is_unavailable() {
    // SQLite has one connection; an update that holds it makes every other call wait for it.
    let db = TestDb::sqlite();
    let (team, owner) = team_with_owner(&db, "acme");
    let credential = insert_credential(&db, &team, owner, "Warehouse");
    let store = Store::open(db.url(), &quick()).unwrap();
    let (holding, held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();

    let holder = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.update_credential(team.id, credential.id, None, |_| {
                holding.send(()).unwrap();
                released.recv().unwrap();
                Ok::<_, Infallible>(CredentialChange::Unchanged)
            })
        })
    };
    held.recv().unwrap();
    let waited = store.ping();
    release.send(()).unwrap();

    assert!(
        matches!(waited, Err(StoreError::Unavailable(_))),
        "{waited:?}"
    );
    holder.join().unwrap().unwrap();
    store.ping().unwrap();
}

mod postgres {
    use diesel::connection::SimpleConnection;
    use diesel::dsl::sql;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use credvault_persistence::testing::{POSTGRES_URL_VAR, TestDb};
    use credvault_persistence::{Store, StoreError};

    use super::quick;

    #[test]
    fn a_database_that_goes_away_is_unavailable_until_it_is_back() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let store = Store::open(db.url(), &quick()).unwrap();
        store.ping().unwrap();
        let mut admin = PgConnection::establish(&std::env::var(POSTGRES_URL_VAR).unwrap()).unwrap();
        let database: String = diesel::select(sql::<Text>("current_database()"))
            .get_result(&mut PgConnection::establish(db.url()).unwrap())
            .unwrap();

        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false;
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}';"
            ))
            .unwrap();
        let down = store.ping();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true"
            ))
            .unwrap();

        assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
        store.ping().unwrap();
    }
}
