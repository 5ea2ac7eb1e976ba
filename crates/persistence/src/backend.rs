//! The few places where SQLite and PostgreSQL need different code, each a `match` on [`DbConn`]:
//! migrations, write transactions, the row lock of a read-decide-write update and the
//! single-statement write of a PATCH on PostgreSQL.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Nullable, Text, Timestamp};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;
use crate::conn::DbConn;
use crate::error::db_error;
use crate::rows::{AuditEventRow, CredentialRow};
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

/// The credential's row as it is now, without a lock (PostgreSQL: one round trip outside any
/// transaction, for the optimistic first attempt of an update).
pub(crate) fn read_credential(
    conn: &mut DbConn,
    team_id: &str,
    id: &str,
) -> Result<Option<CredentialRow>, StoreError> {
    match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::team_id.eq(team_id))
            .select(CredentialRow::as_select())
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

/// Writes an updated credential and appends its audit event, only if the stored row is still at
/// `expected_version`: one `UPDATE … WHERE version = ?` feeding an `INSERT … SELECT` in a single
/// PostgreSQL statement (one round trip, atomic on its own, in or out of a transaction).
///
/// With `keep_ciphertext` the statement leaves the ciphertext columns as they are in the
/// database, whatever `row` holds: a key rotation may have resealed them since they were read,
/// and writing the old bytes back would put the row on the old key again.
///
/// Returns whether the row was written (`false`: another writer changed or deleted it).
pub(crate) fn pg_update_if_version(
    conn: &mut DbConn,
    row: &CredentialRow,
    expected_version: i64,
    keep_ciphertext: bool,
    event: &AuditEventRow,
) -> Result<bool, StoreError> {
    let DbConn::Pg(pg) = conn else {
        return Err(StoreError::Database(
            "the single-statement update is PostgreSQL's".to_owned(),
        ));
    };
    let written = if keep_ciphertext {
        PgUpdateIfVersion::<true> {
            row,
            expected_version,
            event,
        }
        .execute(pg)
    } else {
        PgUpdateIfVersion::<false> {
            row,
            expected_version,
            event,
        }
        .execute(pg)
    }
    .map_err(db_error)?;
    Ok(written == 1)
}

/// `WITH updated AS (UPDATE credentials SET … WHERE id, team_id, version RETURNING id)
/// INSERT INTO audit_events … SELECT … FROM updated`. Its SQL is fixed for each value of
/// `KEEP_CIPHERTEXT`, so each variant is prepared once per connection.
struct PgUpdateIfVersion<'a, const KEEP_CIPHERTEXT: bool> {
    row: &'a CredentialRow,
    expected_version: i64,
    event: &'a AuditEventRow,
}

/// The statement cache's key for [`PgUpdateIfVersion`].
struct PgUpdateIfVersionId<const KEEP_CIPHERTEXT: bool>;

impl<const KEEP_CIPHERTEXT: bool> QueryId for PgUpdateIfVersion<'_, KEEP_CIPHERTEXT> {
    type QueryId = PgUpdateIfVersionId<KEEP_CIPHERTEXT>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const KEEP_CIPHERTEXT: bool, Conn> RunQueryDsl<Conn>
    for PgUpdateIfVersion<'_, KEEP_CIPHERTEXT>
{
}

impl<const KEEP_CIPHERTEXT: bool> QueryFragment<Pg> for PgUpdateIfVersion<'_, KEEP_CIPHERTEXT> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let row = self.row;
        let event = self.event;
        out.push_sql("WITH updated AS (UPDATE credentials SET provider = ");
        out.push_bind_param::<Text, _>(&row.provider)?;
        out.push_sql(", kind = ");
        out.push_bind_param::<Text, _>(&row.kind)?;
        out.push_sql(", name = ");
        out.push_bind_param::<Text, _>(&row.name)?;
        out.push_sql(", description = ");
        out.push_bind_param::<Nullable<Text>, _>(&row.description)?;
        out.push_sql(", account_name = ");
        out.push_bind_param::<Nullable<Text>, _>(&row.account_name)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Text, _>(&row.status)?;
        out.push_sql(", extra_data = ");
        out.push_bind_param::<Text, _>(&row.extra_data)?;
        out.push_sql(", metadata = ");
        out.push_bind_param::<Text, _>(&row.metadata)?;
        out.push_sql(", secret_fields = ");
        out.push_bind_param::<Text, _>(&row.secret_fields)?;
        if !KEEP_CIPHERTEXT {
            out.push_sql(", secret_key_id = ");
            out.push_bind_param::<Nullable<Text>, _>(&row.secret_key_id)?;
            out.push_sql(", secret_ciphertext = ");
            out.push_bind_param::<Nullable<Binary>, _>(&row.secret_ciphertext)?;
        }
        out.push_sql(", health_status = ");
        out.push_bind_param::<Text, _>(&row.health_status)?;
        out.push_sql(", health_notes = ");
        out.push_bind_param::<Text, _>(&row.health_notes)?;
        out.push_sql(", health_checked_at = ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&row.health_checked_at)?;
        out.push_sql(", version = ");
        out.push_bind_param::<BigInt, _>(&row.version)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&row.updated_at)?;
        out.push_sql(", modified_by = ");
        out.push_bind_param::<Text, _>(&row.modified_by)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(&row.id)?;
        out.push_sql(" AND team_id = ");
        out.push_bind_param::<Text, _>(&row.team_id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, _>(&self.expected_version)?;
        out.push_sql(
            " RETURNING team_id, id) INSERT INTO audit_events (id, team_id, credential_id, \
             action, actor_id, actor_kind, changed_fields, secrets, request_id, at) SELECT ",
        );
        out.push_bind_param::<Text, _>(&event.id)?;
        out.push_sql(", updated.team_id, updated.id, ");
        out.push_bind_param::<Text, _>(&event.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.actor_kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.changed_fields)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.secrets)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&event.at)?;
        out.push_sql(" FROM updated");
        Ok(())
    }
}
