//! The store's errors, [`StoreError`] and [`UpdateError`], and the mapping of diesel and r2d2 errors
//! to them at the edge of the crate, so that callers decide on HTTP statuses by variant, never by
//! message.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::constraint;

/// Why a store call failed. Mapped to HTTP by the API without looking at strings.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The scoped row does not exist (or belongs to another team: the same answer).
    #[error("not found")]
    NotFound,
    /// `If-Match` named another version than the stored one.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch {
        /// The stored version.
        current: i64,
    },
    /// A unique or foreign key constraint refused the write (e.g. a team label already taken).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name or the column it guards.
        constraint: String,
    },
    /// The database cannot be reached or no connection was free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back into a domain value.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

/// Why an update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The store failed, the row was not found, or the expected version did not match.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The closure refused the change; nothing was written.
    #[error("the update was rejected")]
    Rejected(E),
}

/// The [`StoreError`] for a failed query.
pub(crate) fn db_error(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation => StoreError::Conflict {
                constraint: constraint::unique_name(info.constraint_name(), info.message()),
            },
            DatabaseErrorKind::ForeignKeyViolation => StoreError::Conflict {
                constraint: constraint::FOREIGN_KEY.to_owned(),
            },
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                StoreError::Unavailable(info.message().to_owned())
            }
            // SQLite's busy handler gave up: another process held the write lock for longer
            // than busy_timeout. That is the database being unavailable, not a bug.
            DatabaseErrorKind::Unknown if is_sqlite_busy(info.message()) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            _ => StoreError::Database(info.message().to_owned()),
        },
        DieselError::DeserializationError(error) => StoreError::Corrupt(error.to_string()),
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("the connection's transaction state is broken".to_owned())
        }
        other => StoreError::Database(other.to_string()),
    }
}

/// The [`StoreError`] for a connection that could not be checked out of the pool in time.
pub(crate) fn pool_error(error: r2d2::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

#[cfg(test)]
mod tests;
