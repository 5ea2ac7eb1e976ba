//! Maps diesel and r2d2 errors to [`StoreError`] at the edge of the crate, so that callers decide
//! on HTTP statuses by variant, never by message.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::StoreError;
use crate::constraint;

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
