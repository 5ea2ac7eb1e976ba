//! The few places where SQLite and PostgreSQL need different code, each a `match` on [`DbConn`]:
//! migrations, write transactions and the row lock of a read-decide-write update.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;
use crate::conn::DbConn;
use crate::error::db_error;
use crate::rows::CredentialRow;
use crate::schema::credentials;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies the pending migrations of the connection's backend; returns their versions.
pub(crate) fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConn::Pg(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|error| StoreError::Database(format!("migration failed: {error}")))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Runs `body` in a transaction that may write: committed when it returns `Ok`, rolled back
/// when it returns `Err`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up front:
/// a deferred `BEGIN` that reads first and writes later can fail with `SQLITE_BUSY` when it
/// upgrades, and the busy timeout does not help there. PostgreSQL's plain `BEGIN` is right; its
/// read-decide-write callers lock the row with [`lock_credential`].
pub(crate) fn write_transaction<T, E>(
    conn: &mut DbConn,
    body: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    match conn {
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
        DbConn::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
    }
    .map_err(db_error)?;
    match body(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(db_error)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) =
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
            {
                // The pool drops a connection whose transaction state is broken.
                log::warn!("rollback failed: {rollback_error}");
            }
            Err(error)
        }
    }
}

/// The credential's row, locked against concurrent writers until the transaction ends.
///
/// Must run inside [`write_transaction`]. PostgreSQL takes a row lock (`FOR UPDATE`, which diesel
/// offers only on the Pg connection itself); on SQLite the `BEGIN IMMEDIATE` of the transaction
/// already holds the database's single write lock.
pub(crate) fn lock_credential(
    conn: &mut DbConn,
    team_id: &str,
    id: &str,
) -> Result<Option<CredentialRow>, StoreError> {
    match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::team_id.eq(team_id))
            .select(CredentialRow::as_select())
            .for_update()
            .get_result(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::team_id.eq(team_id))
            .select(CredentialRow::as_select())
            .get_result(sqlite)
            .optional(),
    }
    .map_err(db_error)
}
