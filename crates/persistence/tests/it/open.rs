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
        ..StoreOptions::default()
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
    // Every migration of the workspace applies, counted from the directory so that adding one
    // does not break this test.
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/sqlite"
    ))
    .unwrap()
    .count();
    assert_eq!(store.migrate().unwrap().len(), migrations);
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

#[test]
fn sqlite_commits_reach_the_database_file_without_waiting_for_a_full_wal() {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    let db = TestDb::sqlite();
    let (team, owner) = team_with_owner(&db, "acme");
    let credential = insert_credential(&db, &team, owner, "before");
    db.store()
        .update_credential(team.id, credential.id, None, |stored| {
            let mut renamed = stored.credential.clone();
            renamed.name = "after".to_owned();
            Ok::<_, Infallible>(crate::support::update(
                renamed,
                credvault_persistence::SecretsUpdate::Keep,
                owner,
            ))
        })
        .unwrap();

    // A handful of commits are far below the writer's own checkpoint threshold; the store's
    // checkpoint thread copies them into the database file within its interval. `immutable=1`
    // reads the file alone, as if the WAL were gone.
    let path = db.url().strip_prefix("sqlite://").unwrap();
    let read_file = || {
        let mut conn = SqliteConnection::establish(&format!("file:{path}?immutable=1")).unwrap();
        // Before the first checkpoint the file does not even hold the tables.
        diesel::sql_query("SELECT name FROM credentials")
            .load::<Name>(&mut conn)
            .map(|rows| rows.into_iter().map(|row| row.name).collect::<Vec<_>>())
            .map_err(|error| error.to_string())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while read_file() != Ok(vec!["after".to_owned()]) {
        assert!(
            std::time::Instant::now() < deadline,
            "the update never reached the database file: {:?}",
            read_file()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
