//! Connections: one enum over both backends, and the r2d2 manager that opens the right one.
//!
//! diesel's derived `MultiConnection::establish` tries each backend in turn and throws the real
//! error away, so the manager picks the backend from the URL scheme itself. It is also where the
//! SQLite PRAGMAs are set, on every new connection.
//!
//! A PostgreSQL connection is checked (`SELECT 1`) when it is taken from the pool only if it has
//! been idle for [`VALIDATE_AFTER_IDLE`] or a query failed on any connection of the pool since it
//! was last checked: under load every request would otherwise pay one more round trip for it.
//! One failure (a terminated backend, a restarted server) is enough to have every connection
//! checked once before its next use, so an outage does not leave dead connections in the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;

use crate::{Backend, SqliteSynchronous, StoreError, StoreOptions};

/// A connection to either backend. Queries written against it run on both; the few spots that
/// must differ match on it in `crate::backend`.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConn {
    // PostgreSQL first: the derived `establish` tries variants in order and SQLite accepts
    // almost any string as a file name. (We do not call it, but keep the safe order anyway.)
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A connection idle for longer than this is checked before it is handed out again.
const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pooled connection, when it was last returned to the pool after use, and the pool's count
/// of failed queries when it was last known to work.
pub(crate) struct ManagedConn {
    conn: DbConn,
    last_used: Instant,
    failures_seen: u64,
}

impl Deref for ManagedConn {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl DerefMut for ManagedConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// The pool of a store.
pub(crate) type Pool = r2d2::Pool<ConnectionManager>;
/// A connection checked out of the pool.
pub(crate) type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Where to connect: the backend and what its driver takes (a libpq URL or an SQLite path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) backend: Backend,
    pub(crate) address: String,
}

impl Target {
    /// Reads `sqlite://PATH` (also `sqlite:PATH` and `sqlite::memory:`) or
    /// `postgres://…`/`postgresql://…`. The error never repeats the URL: it may hold a password.
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target {
                backend: Backend::Postgres,
                address: url.to_owned(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty());
        match path {
            Some(path) => Ok(Target {
                backend: Backend::Sqlite,
                address: path.to_owned(),
            }),
            None => Err(StoreError::Database(
                "unsupported database URL: expected sqlite://PATH or postgres://…".to_owned(),
            )),
        }
    }
}

/// Opens connections for r2d2 with real error messages.
#[derive(Debug)]
pub(crate) struct ConnectionManager {
    target: Target,
    busy_timeout: Duration,
    synchronous: SqliteSynchronous,
    /// Failed queries on any PostgreSQL connection of the pool (constraint violations excepted).
    failures: Arc<AtomicU64>,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = ManagedConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<ManagedConn, Self::Error> {
        let failures_seen = self.failures.load(Ordering::SeqCst);
        let conn = match self.target.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.target.address)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // A failed query may mean dead connections (a terminated backend answers one
                // error before libpq notices that the socket is gone): count it, so that every
                // connection is checked before its next use.
                let failures = self.failures.clone();
                conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::FinishQuery {
                        error: Some(error), ..
                    } = event
                        && !is_constraint_violation(error)
                    {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                });
                DbConn::Pg(conn)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target.address)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: on a new file, switching to WAL takes a lock that another
                // connection (another process) may hold for a moment. `synchronous` decides
                // whether a commit is on disk (FULL) or only in the page cache (NORMAL) when it
                // is acknowledged.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = {};
                     PRAGMA foreign_keys = ON;
                     PRAGMA secure_delete = ON;
                     PRAGMA wal_autocheckpoint = {};",
                    self.busy_timeout.as_millis(),
                    self.synchronous.as_pragma(),
                    crate::checkpoint::BACKSTOP_PAGES,
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                DbConn::Sqlite(conn)
            }
        };
        Ok(ManagedConn {
            conn,
            last_used: Instant::now(),
            failures_seen,
        })
    }

    fn is_valid(&self, conn: &mut ManagedConn) -> Result<(), Self::Error> {
        let failures = self.failures.load(Ordering::SeqCst);
        if failures == conn.failures_seen && conn.last_used.elapsed() < VALIDATE_AFTER_IDLE {
            return Ok(());
        }
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)?;
        conn.last_used = Instant::now();
        conn.failures_seen = failures;
        Ok(())
    }

    fn has_broken(&self, conn: &mut ManagedConn) -> bool {
        // Called as the connection goes back to the pool, after each use.
        conn.last_used = Instant::now();
        conn.conn.is_broken()
    }
}

/// Errors that say nothing about the connection itself.
fn is_constraint_violation(error: &diesel::result::Error) -> bool {
    use diesel::result::DatabaseErrorKind as Kind;
    matches!(
        error,
        diesel::result::Error::DatabaseError(
            Kind::UniqueViolation
                | Kind::ForeignKeyViolation
                | Kind::CheckViolation
                | Kind::NotNullViolation,
            _
        )
    )
}

/// Logs the connection errors r2d2 meets in the background (it would log them as errors).
#[derive(Debug)]
struct WarnErrorHandler;

impl r2d2::HandleError<diesel::r2d2::Error> for WarnErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::warn!("database connection failed: {error}");
    }
}

/// Checks that the database answers (`SELECT 1`).
pub(crate) fn ping(conn: &mut DbConn) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")
        .map_err(crate::error::db_error)
}

/// Builds the pool and opens its first connection, so that a wrong URL or a database that is
/// down fails here, within `connection_timeout`.
pub(crate) fn build_pool(target: Target, options: &StoreOptions) -> Result<Pool, StoreError> {
    let builder = r2d2::Pool::builder()
        .connection_timeout(options.connection_timeout)
        .error_handler(Box::new(WarnErrorHandler));
    let builder = match target.backend {
        // One connection, which is SQLite's one writer: waiting requests queue in r2d2 (fairly)
        // rather than in SQLite's busy handler. It is never recycled: `sqlite::memory:` lives in it.
        // A local file connection does not break, so it is not tested on every checkout.
        Backend::Sqlite => builder
            .max_size(1)
            .min_idle(Some(1))
            .max_lifetime(None)
            .idle_timeout(None)
            .test_on_check_out(false),
        // No idle minimum: r2d2 tops a minimum up from its own threads after each checkout, and
        // a connection still being opened there when a short command exits races libpq's and
        // OpenSSL's exit handlers (the process then crashes after its work is done). Connections
        // are opened on demand instead, and the first one below.
        Backend::Postgres => builder.max_size(options.pool_size.max(1)).min_idle(Some(0)),
    };
    let manager = ConnectionManager {
        target,
        busy_timeout: options.connection_timeout,
        synchronous: options.sqlite_synchronous,
        failures: Arc::new(AtomicU64::new(0)),
    };
    let pool = builder
        .build(manager)
        .map_err(|error| StoreError::Unavailable(error.to_string()))?;
    // Fail here, within `connection_timeout`, when the database cannot be reached.
    drop(
        pool.get()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?,
    );
    Ok(pool)
}

#[cfg(test)]
mod tests;
