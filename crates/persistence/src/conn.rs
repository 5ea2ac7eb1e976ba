//! Connections: one enum over both backends, and the r2d2 manager that opens the right one.
//!
//! diesel's derived `MultiConnection::establish` tries each backend in turn and throws the real
//! error away, so the manager picks the backend from the URL scheme itself. It is also where the
//! SQLite PRAGMAs are set, on every new connection.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;

use crate::{Backend, StoreError, StoreOptions};

/// A connection to either backend. Queries written against it run on both; the few spots that
/// must differ match on it in `crate::backend`.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConn {
    // PostgreSQL first: the derived `establish` tries variants in order and SQLite accepts
    // almost any string as a file name. (We do not call it, but keep the safe order anyway.)
    Pg(PgConnection),
    Sqlite(SqliteConnection),
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
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match self.target.backend {
            Backend::Postgres => PgConnection::establish(&self.target.address)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target.address)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: on a new file, switching to WAL takes a lock that another
                // connection (another process) may hold for a moment.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA secure_delete = ON;",
                    self.busy_timeout.as_millis()
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// Logs the connection errors r2d2 meets in the background (it would log them as errors).
#[derive(Debug)]
struct WarnErrorHandler;

impl r2d2::HandleError<diesel::r2d2::Error> for WarnErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::warn!("database connection failed: {error}");
    }
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
