//! The few places where SQLite and PostgreSQL need different code, each a `match` on [`DbConn`]:
//! migrations, write transactions, the row lock of a read-decide-write update and the
//! single-statement writes of a PATCH and of a use on PostgreSQL.

use chrono::NaiveDateTime;
use credvault_domain::ids::{CredentialId, TeamId};
use diesel::backend::Backend;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Integer, Nullable, Text, Timestamp};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::conn::DbConn;
use crate::error::db_error;
use crate::rows::{AuditEventRow, CredentialRow};
use crate::schema::{audit_events, credentials};
use crate::{StoreError, StoredCredential};

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

/// The team's credential, its row locked against concurrent writers until the transaction ends.
///
/// Must run inside [`write_transaction`]. PostgreSQL takes a row lock (`FOR UPDATE`, which diesel
/// offers only on the Pg connection itself); on SQLite the `BEGIN IMMEDIATE` of the transaction
/// already holds the database's single write lock.
pub(crate) fn lock_credential(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<Option<StoredCredential>, StoreError> {
    let row = match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::id.eq(id.to_string()))
            .filter(credentials::team_id.eq(team_id.to_string()))
            .select(CredentialRow::as_select())
            .for_update()
            .get_result(pg)
            .optional(),
        DbConn::Sqlite(_) => return read_credential(conn, team_id, id),
    };
    let stored = row
        .map_err(db_error)?
        .map(CredentialRow::into_domain)
        .transpose()?;
    stored
        .map(|stored| with_oauth_app(conn, stored))
        .transpose()
}

/// `stored` with the OAuth app it is linked to, read on the same connection (one more query,
/// only for a linked credential; within a transaction, in it).
pub(crate) fn with_oauth_app(
    conn: &mut DbConn,
    mut stored: StoredCredential,
) -> Result<StoredCredential, StoreError> {
    if let Some(app_id) = stored.credential.oauth_app_id {
        let team_id = stored.credential.team_id;
        stored.oauth_app =
            crate::repo::oauth_apps::find_in_team(conn, team_id, app_id)?.map(|found| found.app);
    }
    Ok(stored)
}

/// The team's credential as it is now, without a lock: a GET, and the first attempt of an update
/// on PostgreSQL (one round trip, outside any transaction).
///
/// Run on the backend's own connection rather than through `DbConn`: diesel's `MultiConnection`
/// writes a query's SQL text out again on every call, even when its prepared statement is
/// cached, which cost a GET about a tenth of its CPU time.
pub(crate) fn read_credential(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<Option<StoredCredential>, StoreError> {
    let (team_id, id) = (team_id.to_string(), id.to_string());
    let row = match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::id.eq(&id))
            .filter(credentials::team_id.eq(&team_id))
            .select(CredentialRow::as_select())
            .get_result(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => credentials::table
            .filter(credentials::id.eq(&id))
            .filter(credentials::team_id.eq(&team_id))
            .select(CredentialRow::as_select())
            .get_result(sqlite)
            .optional(),
    };
    let stored = row
        .map_err(db_error)?
        .map(CredentialRow::into_domain)
        .transpose()?;
    stored
        .map(|stored| with_oauth_app(conn, stored))
        .transpose()
}

/// Writes an updated credential and appends its audit event, only if the stored row is still at
/// `expected_version`; returns whether it did (`false`: another writer changed or deleted it).
///
/// On PostgreSQL this is one statement (one round trip, atomic on its own, in or out of a
/// transaction): an `UPDATE … WHERE version = ?` feeding an `INSERT … SELECT`. On SQLite it is an
/// `UPDATE` and, if it applied, an `INSERT`; the caller's transaction makes them one.
///
/// With `keep_ciphertext` the ciphertext columns are left as they are in the database, whatever
/// `row` holds: a key rotation may have resealed them since they were read, and writing the old
/// bytes back would put the row on the old key again.
///
/// Both statements are written out here rather than with diesel's DSL: diesel never reuses the
/// prepared statement of an `UPDATE` (a changeset's SQL may vary), and this one runs on every
/// PATCH. Their SQL is fixed for each value of `keep_ciphertext`, so each is prepared once per
/// connection.
pub(crate) fn update_if_version(
    conn: &mut DbConn,
    row: &CredentialRow,
    expected_version: i64,
    expected_ciphertext: Option<&Vec<u8>>,
    keep_ciphertext: bool,
    event: &AuditEventRow,
) -> Result<bool, StoreError> {
    if keep_ciphertext {
        write_if_version(
            conn,
            UpdateIfVersion::<true> {
                row,
                expected_version,
                expected_ciphertext,
            },
            event,
        )
    } else {
        write_if_version(
            conn,
            UpdateIfVersion::<false> {
                row,
                expected_version,
                expected_ciphertext,
            },
            event,
        )
    }
}

/// [`update_if_version`] for one variant of the statement.
fn write_if_version<const KEEP_CIPHERTEXT: bool>(
    conn: &mut DbConn,
    update: UpdateIfVersion<'_, KEEP_CIPHERTEXT>,
    event: &AuditEventRow,
) -> Result<bool, StoreError> {
    match conn {
        DbConn::Pg(pg) => {
            let written = PgUpdateWithEvent { update, event }
                .execute(pg)
                .map_err(db_error)?;
            Ok(written == 1)
        }
        DbConn::Sqlite(sqlite) => {
            if update.execute(sqlite).map_err(db_error)? != 1 {
                return Ok(false);
            }
            diesel::insert_into(audit_events::table)
                .values(event)
                .execute(sqlite)
                .map_err(db_error)?;
            Ok(true)
        }
    }
}

/// `UPDATE credentials SET … WHERE id = ? AND team_id = ? AND version = ?`: every column but the
/// row's identity, the ciphertext columns only unless `KEEP_CIPHERTEXT`.
struct UpdateIfVersion<'a, const KEEP_CIPHERTEXT: bool> {
    row: &'a CredentialRow,
    expected_version: i64,
    /// The ciphertext the update's secrets were made from (used unless `KEEP_CIPHERTEXT`).
    expected_ciphertext: Option<&'a Vec<u8>>,
}

/// The statement cache's key for [`UpdateIfVersion`].
struct UpdateIfVersionId<const KEEP_CIPHERTEXT: bool>;

impl<const KEEP_CIPHERTEXT: bool> QueryId for UpdateIfVersion<'_, KEEP_CIPHERTEXT> {
    type QueryId = UpdateIfVersionId<KEEP_CIPHERTEXT>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const KEEP_CIPHERTEXT: bool, Conn> RunQueryDsl<Conn> for UpdateIfVersion<'_, KEEP_CIPHERTEXT> {}

impl<DB, const KEEP_CIPHERTEXT: bool> QueryFragment<DB> for UpdateIfVersion<'_, KEEP_CIPHERTEXT>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    DB: HasSqlType<Binary> + HasSqlType<Integer>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    Vec<u8>: ToSql<Binary, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Every column is named here, so that a column added to the row does not compile until
        // this statement says whether an update writes it. The identity is not written.
        let CredentialRow {
            id,
            team_id,
            provider,
            kind,
            name,
            description,
            account_name,
            status,
            extra_data,
            metadata,
            secret_fields,
            secret_key_id,
            secret_ciphertext,
            health_status,
            health_notes,
            health_checked_at,
            version,
            created_at: _,
            updated_at,
            created_by: _,
            modified_by,
            // A use's, never a PATCH's: a use racing a PATCH keeps its record.
            last_used_at: _,
            last_used_by: _,
            upkeep_due_at,
            upkeep_failures,
            oauth_app_id,
            health_check_interval_seconds,
        } = self.row;
        out.push_sql("UPDATE credentials SET provider = ");
        out.push_bind_param::<Text, _>(provider)?;
        out.push_sql(", kind = ");
        out.push_bind_param::<Text, _>(kind)?;
        out.push_sql(", name = ");
        out.push_bind_param::<Text, _>(name)?;
        out.push_sql(", description = ");
        out.push_bind_param::<Nullable<Text>, _>(description)?;
        out.push_sql(", account_name = ");
        out.push_bind_param::<Nullable<Text>, _>(account_name)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Text, _>(status)?;
        out.push_sql(", extra_data = ");
        out.push_bind_param::<Text, _>(extra_data)?;
        out.push_sql(", metadata = ");
        out.push_bind_param::<Text, _>(metadata)?;
        out.push_sql(", secret_fields = ");
        out.push_bind_param::<Text, _>(secret_fields)?;
        out.push_sql(", oauth_app_id = ");
        out.push_bind_param::<Nullable<Text>, _>(oauth_app_id)?;
        out.push_sql(", health_check_interval_seconds = ");
        out.push_bind_param::<Nullable<Integer>, _>(health_check_interval_seconds)?;
        if !KEEP_CIPHERTEXT {
            out.push_sql(", secret_key_id = ");
            out.push_bind_param::<Nullable<Text>, _>(secret_key_id)?;
            out.push_sql(", secret_ciphertext = ");
            out.push_bind_param::<Nullable<Binary>, _>(secret_ciphertext)?;
        }
        out.push_sql(", health_status = ");
        out.push_bind_param::<Text, _>(health_status)?;
        out.push_sql(", health_notes = ");
        out.push_bind_param::<Text, _>(health_notes)?;
        out.push_sql(", health_checked_at = ");
        out.push_bind_param::<Nullable<Timestamp>, _>(health_checked_at)?;
        out.push_sql(", version = ");
        out.push_bind_param::<BigInt, _>(version)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(updated_at)?;
        out.push_sql(", modified_by = ");
        out.push_bind_param::<Text, _>(modified_by)?;
        out.push_sql(", upkeep_due_at = ");
        out.push_bind_param::<Nullable<Timestamp>, _>(upkeep_due_at)?;
        out.push_sql(", upkeep_failures = ");
        out.push_bind_param::<Integer, _>(upkeep_failures)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(id)?;
        out.push_sql(" AND team_id = ");
        out.push_bind_param::<Text, _>(team_id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, _>(&self.expected_version)?;
        if !KEEP_CIPHERTEXT {
            // New secrets are made from the ones read; a refresh of an OAuth token writes new
            // ones without a new version, so the ciphertext read must still be the stored one
            // (or the update retries under the row lock, from the refreshed secrets).
            out.push_sql(" AND (secret_ciphertext = ");
            out.push_bind_param::<Nullable<Binary>, _>(&self.expected_ciphertext)?;
            out.push_sql(" OR (secret_ciphertext IS NULL AND ");
            out.push_bind_param::<Nullable<Binary>, _>(&self.expected_ciphertext)?;
            out.push_sql(" IS NULL))");
        }
        Ok(())
    }
}

/// `WITH updated AS (<update> RETURNING team_id, id) INSERT INTO audit_events … SELECT … FROM
/// updated`: the event is inserted exactly when the row was updated.
struct PgUpdateWithEvent<'a, const KEEP_CIPHERTEXT: bool> {
    update: UpdateIfVersion<'a, KEEP_CIPHERTEXT>,
    event: &'a AuditEventRow,
}

/// The statement cache's key for [`PgUpdateWithEvent`].
struct PgUpdateWithEventId<const KEEP_CIPHERTEXT: bool>;

impl<const KEEP_CIPHERTEXT: bool> QueryId for PgUpdateWithEvent<'_, KEEP_CIPHERTEXT> {
    type QueryId = PgUpdateWithEventId<KEEP_CIPHERTEXT>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const KEEP_CIPHERTEXT: bool, Conn> RunQueryDsl<Conn>
    for PgUpdateWithEvent<'_, KEEP_CIPHERTEXT>
{
}

impl<const KEEP_CIPHERTEXT: bool> QueryFragment<Pg> for PgUpdateWithEvent<'_, KEEP_CIPHERTEXT> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // As in `UpdateIfVersion`: every column named, so a new one does not compile unnoticed.
        // The event's team and credential are the updated row's.
        let AuditEventRow {
            id,
            team_id: _,
            credential_id: _,
            action,
            actor_id,
            actor_kind,
            changed_fields,
            secrets,
            request_id,
            at,
        } = self.event;
        out.push_sql("WITH updated AS (");
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(
            " RETURNING team_id, id) INSERT INTO audit_events (id, team_id, credential_id, \
             action, actor_id, actor_kind, changed_fields, secrets, request_id, at) SELECT ",
        );
        out.push_bind_param::<Text, _>(id)?;
        out.push_sql(", updated.team_id, updated.id, ");
        out.push_bind_param::<Text, _>(action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(actor_kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(changed_fields)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(secrets)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(at)?;
        out.push_sql(" FROM updated");
        Ok(())
    }
}

/// Whether the team has the credential, its row locked against concurrent writers until the
/// transaction ends (PostgreSQL: `FOR UPDATE`; SQLite: the transaction's write lock).
///
/// Must run inside [`write_transaction`]. The writes of grants take it so that their events, like
/// every event of the credential, are written under the credential's row lock (the trail's `seq`
/// is then its commit order).
pub(crate) fn lock_credential_id(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<bool, StoreError> {
    let (team_id, id) = (team_id.to_string(), id.to_string());
    let found = match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::id.eq(&id))
            .filter(credentials::team_id.eq(&team_id))
            .select(credentials::id)
            .for_update()
            .get_result::<String>(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => credentials::table
            .filter(credentials::id.eq(&id))
            .filter(credentials::team_id.eq(&team_id))
            .select(credentials::id)
            .get_result::<String>(sqlite)
            .optional(),
    };
    Ok(found.map_err(db_error)?.is_some())
}

/// Records a use: sets the credential's `last_used_at`/`last_used_by` and appends its `used`
/// event, only if the credential is the team's and service account `service_account_id` holds a
/// grant of it. Returns whether it wrote (`false`: nothing was written). `version`, `updated_at`
/// and `modified_by` are not touched.
///
/// On PostgreSQL this is one statement (one round trip, atomic without a transaction):
/// `WITH used AS (UPDATE credentials SET … WHERE … AND EXISTS (grant) RETURNING team_id, id)
/// INSERT INTO audit_events … SELECT … FROM used`; the event is written under the row's lock,
/// like a PATCH's. On SQLite it is the `UPDATE` and, if it applied, the `INSERT`, which the
/// caller's write transaction makes one. Both are written out by hand, so that each is prepared
/// once per connection (see [`update_if_version`]).
///
/// On PostgreSQL the grant is read `FOR KEY SHARE`: a revoke (which deletes the grant, then
/// locks the credential's row) and a use then serialize on the grant's row. A use that comes
/// second finds the grant gone and writes nothing, even if its statement began before the revoke
/// committed (a plain `EXISTS` would still see the grant in its snapshot and record a use after
/// the revoke); a revoke that comes second waits for the use, so its event follows the `used`
/// one. Every writer that deletes grants takes the grant's row before the credential's, as the
/// use does, so the two locks never wait on each other in a cycle.
pub(crate) fn use_if_granted(
    conn: &mut DbConn,
    use_row: &UseRow<'_>,
    event: &AuditEventRow,
) -> Result<bool, StoreError> {
    match conn {
        DbConn::Pg(pg) => {
            let update = UseIfGranted::<true> { row: use_row };
            let written = PgUseWithEvent { update, event }
                .execute(pg)
                .map_err(db_error)?;
            Ok(written == 1)
        }
        DbConn::Sqlite(sqlite) => {
            // The caller's `BEGIN IMMEDIATE` holds the database's one write lock.
            let update = UseIfGranted::<false> { row: use_row };
            if update.execute(sqlite).map_err(db_error)? != 1 {
                return Ok(false);
            }
            diesel::insert_into(audit_events::table)
                .values(event)
                .execute(sqlite)
                .map_err(db_error)?;
            Ok(true)
        }
    }
}

/// What [`use_if_granted`] binds: the credential (team and id), the service account whose grant
/// it needs, and the `last_used` it writes.
pub(crate) struct UseRow<'a> {
    pub(crate) team_id: &'a str,
    pub(crate) credential_id: &'a str,
    pub(crate) service_account_id: &'a str,
    pub(crate) last_used_at: NaiveDateTime,
    pub(crate) last_used_by: &'a str,
}

/// `UPDATE credentials SET last_used_at = ?, last_used_by = ? WHERE id = ? AND team_id = ? AND
/// EXISTS (SELECT 1 FROM use_grants WHERE credential_id = credentials.id AND
/// service_account_id = ? [FOR KEY SHARE])`, the lock with `LOCK_GRANT` (PostgreSQL's syntax).
struct UseIfGranted<'a, const LOCK_GRANT: bool> {
    row: &'a UseRow<'a>,
}

/// The statement cache's key for [`UseIfGranted`].
struct UseIfGrantedId<const LOCK_GRANT: bool>;

impl<const LOCK_GRANT: bool> QueryId for UseIfGranted<'_, LOCK_GRANT> {
    type QueryId = UseIfGrantedId<LOCK_GRANT>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn, const LOCK_GRANT: bool> RunQueryDsl<Conn> for UseIfGranted<'_, LOCK_GRANT> {}

impl<DB, const LOCK_GRANT: bool> QueryFragment<DB> for UseIfGranted<'_, LOCK_GRANT>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let UseRow {
            team_id,
            credential_id,
            service_account_id,
            last_used_at,
            last_used_by,
        } = self.row;
        out.push_sql("UPDATE credentials SET last_used_at = ");
        out.push_bind_param::<Timestamp, _>(last_used_at)?;
        out.push_sql(", last_used_by = ");
        out.push_bind_param::<Text, _>(*last_used_by)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(*credential_id)?;
        out.push_sql(" AND team_id = ");
        out.push_bind_param::<Text, _>(*team_id)?;
        out.push_sql(
            " AND EXISTS (SELECT 1 FROM use_grants WHERE use_grants.credential_id = credentials.id \
             AND use_grants.service_account_id = ",
        );
        out.push_bind_param::<Text, _>(*service_account_id)?;
        out.push_sql(if LOCK_GRANT { " FOR KEY SHARE)" } else { ")" });
        Ok(())
    }
}

/// `WITH used AS (<use> RETURNING team_id, id) INSERT INTO audit_events … SELECT … FROM used`:
/// the event is inserted exactly when the use was recorded.
struct PgUseWithEvent<'a> {
    update: UseIfGranted<'a, true>,
    event: &'a AuditEventRow,
}

impl QueryId for PgUseWithEvent<'_> {
    type QueryId = PgUseWithEvent<'static>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for PgUseWithEvent<'_> {}

impl QueryFragment<Pg> for PgUseWithEvent<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Every column named, as in `PgUpdateWithEvent`; the team and credential are the row's.
        let AuditEventRow {
            id,
            team_id: _,
            credential_id: _,
            action,
            actor_id,
            actor_kind,
            changed_fields,
            secrets,
            request_id,
            at,
        } = self.event;
        out.push_sql("WITH used AS (");
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(
            " RETURNING team_id, id) INSERT INTO audit_events (id, team_id, credential_id, \
             action, actor_id, actor_kind, changed_fields, secrets, request_id, at) SELECT ",
        );
        out.push_bind_param::<Text, _>(id)?;
        out.push_sql(", used.team_id, used.id, ");
        out.push_bind_param::<Text, _>(action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(actor_kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(changed_fields)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(secrets)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(at)?;
        out.push_sql(" FROM used");
        Ok(())
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::sync::{Arc, Mutex};

    use credvault_domain::audit::{Actor, AuditAction, AuditEvent};
    use credvault_domain::credential::Credential;
    use credvault_domain::edit::AuditNote;
    use credvault_domain::grant::Grant;
    use credvault_domain::ids::{CredentialId, EventId, RequestId, ServiceAccountId};
    use credvault_domain::principal::{PrincipalKind, Role};
    use credvault_domain::testing::stored_postgres_credential;
    use diesel::connection::{Instrumentation, InstrumentationEvent};

    use super::*;
    use crate::Store;
    use crate::convert::db_time;
    use crate::testing::TestDb;

    /// Stores one credential; returns its team and id.
    fn one_credential(store: &Store) -> (TeamId, CredentialId) {
        let team = store.create_team(&"cache".parse().unwrap()).unwrap();
        let owner = store.create_user(team.id, Role::Owner, "hash").unwrap();
        let (template, _) = stored_postgres_credential();
        let credential = Credential {
            id: CredentialId::new(),
            team_id: team.id,
            created_by: owner,
            modified_by: owner,
            ..template
        };
        let note = AuditNote::new(
            AuditAction::Created,
            Actor {
                id: owner,
                kind: PrincipalKind::User,
            },
            RequestId::new(),
        );
        store.insert_credential(&credential, None, note).unwrap();
        (team.id, credential.id)
    }

    /// The SQL of every statement the connection prepares into its cache.
    fn record_cached(conn: &mut DbConn) -> Arc<Mutex<Vec<String>>> {
        let cached = Arc::new(Mutex::new(Vec::new()));
        let sink = cached.clone();
        let instrumentation: Box<dyn Instrumentation> =
            Box::new(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                    sink.lock().unwrap().push(sql.to_owned());
                }
            });
        conn.set_instrumentation(instrumentation);
        cached
    }

    /// Two conditional updates in a row: the update statement is prepared once and reused,
    /// and a stale version writes nothing.
    fn update_statement_is_prepared_once(store: &Store) {
        let (team_id, id) = one_credential(store);
        let mut conn = store.conn().unwrap();
        let cached = record_cached(&mut conn);
        let first = read_credential(&mut conn, team_id, id)
            .unwrap()
            .unwrap()
            .credential
            .version;
        for keep_ciphertext in [false, true] {
            for _ in 0..3 {
                let stored = read_credential(&mut conn, team_id, id).unwrap().unwrap();
                let mut row =
                    CredentialRow::from_domain(&stored.credential, stored.ciphertext.as_ref())
                        .unwrap();
                let current = row.version;
                let read = row.secret_ciphertext.clone();
                row.version += 1;
                row.name = format!("v{}", row.version);
                let mut event = AuditEventRow::from_domain(&AuditEvent {
                    id: EventId::new(),
                    team_id,
                    credential_id: id,
                    action: AuditAction::Updated,
                    actor: Actor {
                        id: stored.credential.modified_by,
                        kind: PrincipalKind::User,
                    },
                    changed_fields: vec!["name".to_owned()],
                    secrets: Default::default(),
                    request_id: RequestId::new(),
                    at: credvault_domain::time::now(),
                })
                .unwrap();
                assert!(
                    !update_if_version(
                        &mut conn,
                        &row,
                        current - 1,
                        read.as_ref(),
                        keep_ciphertext,
                        &event
                    )
                    .unwrap()
                );
                event.id = EventId::new().to_string();
                assert!(
                    update_if_version(
                        &mut conn,
                        &row,
                        current,
                        read.as_ref(),
                        keep_ciphertext,
                        &event
                    )
                    .unwrap()
                );
            }
        }
        let stored = read_credential(&mut conn, team_id, id).unwrap().unwrap();
        let last = first + 6;
        assert_eq!(
            (stored.credential.version, stored.credential.name),
            (last, format!("v{last}"))
        );
        let updates = cached
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| sql.contains("UPDATE credentials"))
            .count();
        assert_eq!(updates, 2, "one prepared statement per variant");
    }

    /// Three uses in a row: the use's update statement is prepared once and reused, and a use by
    /// an account without a grant writes nothing.
    fn use_statement_is_prepared_once(store: &Store) {
        let (team_id, id) = one_credential(store);
        let granted = store
            .create_service_account(team_id, "etl", None, Role::Member)
            .unwrap();
        let owner = read_credential(&mut store.conn().unwrap(), team_id, id)
            .unwrap()
            .unwrap()
            .credential
            .created_by;
        let grant = Grant::new(
            team_id,
            id,
            granted.id,
            owner,
            credvault_domain::time::now(),
        );
        let actor = Actor {
            id: granted.principal_id,
            kind: PrincipalKind::ServiceAccount,
        };
        let note = AuditNote::new(AuditAction::UseGranted, actor, RequestId::new());
        store.create_grant(&grant, note).unwrap();
        let mut conn = store.conn().unwrap();
        let cached = record_cached(&mut conn);
        let (team, credential, by) = (team_id.to_string(), id.to_string(), actor.id.to_string());
        for (account, expected) in [
            (granted.id, true),
            (ServiceAccountId::new(), false),
            (granted.id, true),
        ] {
            let account = account.to_string();
            let row = UseRow {
                team_id: &team,
                credential_id: &credential,
                service_account_id: &account,
                last_used_at: db_time(credvault_domain::time::now()),
                last_used_by: &by,
            };
            let event = AuditEventRow::from_domain(&AuditEvent {
                id: EventId::new(),
                team_id,
                credential_id: id,
                action: AuditAction::Used,
                actor,
                changed_fields: Vec::new(),
                secrets: Default::default(),
                request_id: RequestId::new(),
                at: credvault_domain::time::now(),
            })
            .unwrap();
            assert_eq!(use_if_granted(&mut conn, &row, &event).unwrap(), expected);
        }
        let uses = cached
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| sql.contains("SET last_used_at"))
            .count();
        assert_eq!(uses, 1, "one prepared statement");
    }

    #[test]
    fn sqlite_use_statement_is_prepared_once() {
        use_statement_is_prepared_once(TestDb::sqlite().store());
    }

    #[test]
    fn postgres_use_statement_is_prepared_once() {
        if let Some(db) = TestDb::postgres() {
            use_statement_is_prepared_once(db.store());
        }
    }

    #[test]
    fn sqlite_update_statement_is_prepared_once() {
        update_statement_is_prepared_once(TestDb::sqlite().store());
    }

    #[test]
    fn postgres_update_statement_is_prepared_once() {
        if let Some(db) = TestDb::postgres() {
            update_statement_is_prepared_once(db.store());
        }
    }
}
