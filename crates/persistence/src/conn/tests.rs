//! Database URLs: which backend, and what its driver is given.

use crate::conn::Target;
use crate::{Backend, StoreError};

fn target(url: &str) -> Option<(Backend, String)> {
    Target::parse(url)
        .ok()
        .map(|target| (target.backend, target.address))
}

#[test]
fn sqlite_urls_name_a_path() {
    assert_eq!(
        target("sqlite://credvault.db"),
        Some((Backend::Sqlite, "credvault.db".to_owned()))
    );
    assert_eq!(
        target("sqlite:///var/lib/credvault/vault.db"),
        Some((Backend::Sqlite, "/var/lib/credvault/vault.db".to_owned()))
    );
    assert_eq!(
        target("sqlite::memory:"),
        Some((Backend::Sqlite, ":memory:".to_owned()))
    );
}

#[test]
fn postgres_urls_go_to_libpq_whole() {
    for url in [
        "postgres://u:p@db:5432/vault",
        "postgresql://u@db/vault?sslmode=require",
    ] {
        assert_eq!(target(url), Some((Backend::Postgres, url.to_owned())));
    }
}

#[test]
fn other_urls_are_refused_without_repeating_them() {
    for url in [
        "",
        "sqlite://",
        "mysql://root:hunter2@db/vault",
        "credvault.db",
    ] {
        match Target::parse(url) {
            Err(StoreError::Database(message)) => assert!(!message.contains("hunter2")),
            other => panic!("{url:?} gave {other:?}"),
        }
    }
}

/// `PRAGMA synchronous` as an SQLite connection reports it (1: NORMAL, 2: FULL).
#[derive(diesel::QueryableByName)]
struct Synchronous {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    synchronous: i32,
}

#[test]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
fn sqlite_syncs_every_commit_unless_told_normal() {
    use diesel::RunQueryDsl;

    use crate::conn::DbConn;
    use crate::{SqliteSynchronous, Store, StoreOptions};

    let dir = tempfile::tempdir().unwrap();
    let normal = StoreOptions {
        sqlite_synchronous: SqliteSynchronous::Normal,
        ..StoreOptions::default()
    };
    for (name, options, expected) in [
        ("default.db", StoreOptions::default(), 2),
        ("normal.db", normal, 1),
    ] {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        let store = Store::open(&url, &options).unwrap();
        let mut conn = store.conn().unwrap();
        let DbConn::Sqlite(sqlite) = &mut **conn else {
            panic!("an SQLite URL opened another backend");
        };
        let pragma: Synchronous = diesel::sql_query("PRAGMA synchronous")
            .get_result(sqlite)
            .unwrap();
        assert_eq!(pragma.synchronous, expected, "{name}");
    }
}

#[test]
fn synchronous_settings_parse_in_any_case() {
    use crate::SqliteSynchronous;

    assert_eq!("full".parse(), Ok(SqliteSynchronous::Full));
    assert_eq!("NORMAL".parse(), Ok(SqliteSynchronous::Normal));
    assert!("off".parse::<SqliteSynchronous>().is_err());
}
