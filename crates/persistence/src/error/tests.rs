//! Error mapping: the variant decides the HTTP status, so each kind must land on the right one.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};

use crate::StoreError;
use crate::constraint;
use crate::error::db_error;

/// A database error as PostgreSQL reports it: a message and a constraint name.
struct PgInfo {
    message: &'static str,
    constraint: Option<&'static str>,
}

impl DatabaseErrorInformation for PgInfo {
    fn message(&self) -> &str {
        self.message
    }
    fn details(&self) -> Option<&str> {
        None
    }
    fn hint(&self) -> Option<&str> {
        None
    }
    fn table_name(&self) -> Option<&str> {
        None
    }
    fn column_name(&self) -> Option<&str> {
        None
    }
    fn constraint_name(&self) -> Option<&str> {
        self.constraint
    }
    fn statement_position(&self) -> Option<i32> {
        None
    }
}

fn database_error(
    kind: DatabaseErrorKind,
    message: &'static str,
    constraint: Option<&'static str>,
) -> DieselError {
    DieselError::DatabaseError(
        kind,
        Box::new(PgInfo {
            message,
            constraint,
        }),
    )
}

fn conflict_name(error: StoreError) -> Option<String> {
    match error {
        StoreError::Conflict { constraint } => Some(constraint),
        _ => None,
    }
}

#[test]
fn unique_violation_is_a_conflict_named_alike_on_both_backends() {
    let postgres = db_error(database_error(
        DatabaseErrorKind::UniqueViolation,
        "duplicate key value violates unique constraint \"teams_label_key\"",
        Some("teams_label_key"),
    ));
    let sqlite = db_error(database_error(
        DatabaseErrorKind::UniqueViolation,
        "UNIQUE constraint failed: teams.label",
        None,
    ));
    assert_eq!(
        conflict_name(postgres).as_deref(),
        Some(constraint::TEAM_LABEL)
    );
    assert_eq!(
        conflict_name(sqlite).as_deref(),
        Some(constraint::TEAM_LABEL)
    );
}

#[test]
fn composite_primary_key_violation_names_the_idempotency_key() {
    let sqlite = db_error(database_error(
        DatabaseErrorKind::UniqueViolation,
        "UNIQUE constraint failed: idempotency_keys.principal_id, idempotency_keys.key",
        None,
    ));
    assert_eq!(
        conflict_name(sqlite).as_deref(),
        Some(constraint::IDEMPOTENCY_KEY)
    );
}

#[test]
fn unknown_unique_constraint_keeps_its_own_name() {
    let postgres = db_error(database_error(
        DatabaseErrorKind::UniqueViolation,
        "duplicate key",
        Some("something_else_key"),
    ));
    assert_eq!(
        conflict_name(postgres).as_deref(),
        Some("something_else_key")
    );
}

#[test]
fn foreign_key_violation_is_a_conflict() {
    let error = db_error(database_error(
        DatabaseErrorKind::ForeignKeyViolation,
        "FOREIGN KEY constraint failed",
        None,
    ));
    assert_eq!(
        conflict_name(error).as_deref(),
        Some(constraint::FOREIGN_KEY)
    );
}

#[test]
fn lost_connection_and_sqlite_busy_are_unavailable() {
    let closed = db_error(database_error(
        DatabaseErrorKind::ClosedConnection,
        "server closed the connection unexpectedly",
        None,
    ));
    let busy = db_error(database_error(
        DatabaseErrorKind::Unknown,
        "database is locked",
        None,
    ));
    assert!(matches!(closed, StoreError::Unavailable(_)), "{closed:?}");
    assert!(matches!(busy, StoreError::Unavailable(_)), "{busy:?}");
}

#[test]
fn not_found_and_other_errors_keep_their_meaning() {
    assert!(matches!(
        db_error(DieselError::NotFound),
        StoreError::NotFound
    ));
    let syntax = db_error(database_error(
        DatabaseErrorKind::Unknown,
        "syntax error at or near \"SELEC\"",
        None,
    ));
    assert!(matches!(syntax, StoreError::Database(_)), "{syntax:?}");
}
