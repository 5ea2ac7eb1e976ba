//! What several instances starting at once on one PostgreSQL database must not do twice:
//! migrate, and create the first team. Each takes a PostgreSQL advisory lock, so the instances
//! queue and the later ones find the work done. On SQLite the migration harness and
//! `BEGIN IMMEDIATE` already serialise the writers of the one database file.

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;

use crate::StoreError;
use crate::conn::DbConn;
use crate::error::db_error;

/// The advisory lock key of migrations (the bytes of "cvmigrat").
const MIGRATION_LOCK: i64 = 0x6376_6d69_6772_6174;
/// The advisory lock key of the first-start bootstrap (the bytes of "cvbootst").
const BOOTSTRAP_LOCK: i64 = 0x6376_626f_6f74_7374;

/// Runs `body` holding the migration lock: a session-level advisory lock on `conn`, released
/// when `body` returns (or with the session, should the release itself fail).
pub(crate) fn with_migration_lock<T>(
    conn: &mut DbConn,
    body: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !matches!(conn, DbConn::Pg(_)) {
        return body(conn);
    }
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(conn)
        .map_err(db_error)?;
    let result = body(conn);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(conn)
        .map_err(db_error);
    // A failed release is an error: the caller (start-up) stops, and the lock goes with its
    // session instead of blocking every other instance.
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Takes the bootstrap lock until the current transaction ends (PostgreSQL; nothing on SQLite,
/// whose `BEGIN IMMEDIATE` already holds the database's write lock).
pub(crate) fn lock_bootstrap(conn: &mut DbConn) -> Result<(), StoreError> {
    if matches!(conn, DbConn::Pg(_)) {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(BOOTSTRAP_LOCK)
            .execute(conn)
            .map_err(db_error)?;
    }
    Ok(())
}
