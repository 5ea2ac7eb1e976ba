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
