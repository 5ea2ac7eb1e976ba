//! Opening stores: URL schemes and what an unreachable database looks like.

use std::time::Duration;

use credvault_persistence::{Backend, Store, StoreError, StoreOptions};

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
