//! Recording the outcome of a connection test: server-owned state (`health`, and `status` moving
//! to `connected`/`error`) that is written without a new version, so that a test never changes
//! the credential's `ETag` and an owner's `If-Match` keeps working.

use credvault_domain::credential::{CredentialStatus, Health};
use credvault_domain::ids::{CredentialId, TeamId};
use diesel::dsl::exists;
use diesel::prelude::*;

use crate::StoreError;
use crate::conn::DbConn;
use crate::convert::db_time;
use crate::error::db_error;
use crate::schema::credentials;

/// Sets `health` and `status` of the credential if it is still at `version` in the team; `version`,
/// `updated_at` and `modified_by` stay as they are. Returns the number of rows written (0 or 1).
pub(crate) fn record_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
    version: i64,
    status: CredentialStatus,
    health: &Health,
) -> Result<usize, StoreError> {
    let notes = serde_json::to_string(&health.notes).map_err(|_| {
        StoreError::Database("credentials.health_notes could not be encoded".into())
    })?;
    diesel::update(
        credentials::table
            .filter(credentials::team_id.eq(team_id.to_string()))
            .filter(credentials::id.eq(id.to_string()))
            .filter(credentials::version.eq(version)),
    )
    .set((
        credentials::status.eq(status.as_str()),
        credentials::health_status.eq(health.status.as_str()),
        credentials::health_notes.eq(notes),
        credentials::health_checked_at.eq(health.checked_at.map(db_time)),
    ))
    .execute(conn)
    .map_err(db_error)
}

/// Whether the team has the credential, its row locked until the transaction ends, so that an
/// event written next in the transaction follows every write of the row already in flight (a
/// delete included: the caller then finds no row and writes nothing).
///
/// PostgreSQL takes a row lock (`FOR UPDATE`, which diesel offers only on the Pg connection
/// itself); on SQLite the transaction's `BEGIN IMMEDIATE` already holds the write lock.
pub(crate) fn lock_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<bool, StoreError> {
    let (team_id, id) = (team_id.to_string(), id.to_string());
    match conn {
        DbConn::Pg(pg) => credentials::table
            .filter(credentials::team_id.eq(&team_id))
            .filter(credentials::id.eq(&id))
            .select(credentials::id)
            .for_update()
            .first::<String>(pg)
            .optional()
            .map(|row| row.is_some()),
        DbConn::Sqlite(_) => diesel::select(exists(
            credentials::table
                .filter(credentials::team_id.eq(&team_id))
                .filter(credentials::id.eq(&id)),
        ))
        .get_result(conn),
    }
    .map_err(db_error)
}

/// Whether the team has the credential (no lock).
pub(crate) fn exists_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<bool, StoreError> {
    diesel::select(exists(
        credentials::table
            .filter(credentials::team_id.eq(team_id.to_string()))
            .filter(credentials::id.eq(id.to_string())),
    ))
    .get_result(conn)
    .map_err(db_error)
}
