//! Web console sessions, keyed by the SHA-256 of their id (the id itself is never stored).
//!
//! A session is live while its absolute `expires_at` is ahead, it was used within the idle
//! timeout, and its principal still holds an unexpired bearer token: a revoked user token takes
//! its sessions with it (`principals::delete`), an expired one ends them at the next lookup.

use chrono::{DateTime, Utc};
use credvault_domain::ids::PrincipalId;
use credvault_domain::secret::SecretValue;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::{db_time, parse, utc};
use crate::error::db_error;
use crate::rows::ConsoleSessionRow;
use crate::schema::{api_tokens, console_sessions};
use crate::{ConsoleSession, StoreError};

/// How many ended sessions one sign-in deletes at most, so that the table shrinks as people sign
/// in without a sweeper, and the sign-in's transaction stays short.
pub(crate) const PURGE_BATCH: i64 = 100;

/// Inserts a session.
pub(crate) fn insert(conn: &mut DbConn, row: &ConsoleSessionRow) -> Result<(), StoreError> {
    diesel::insert_into(console_sessions::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// The live session with this id hash: not past `expires_at`, used after `idle_since`, and its
/// principal's token not expired at `now`.
pub(crate) fn find_live(
    conn: &mut DbConn,
    id_hash: &str,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<Option<ConsoleSession>, StoreError> {
    let now_db = db_time(now);
    let row = console_sessions::table
        .inner_join(
            api_tokens::table.on(api_tokens::principal_id.eq(console_sessions::principal_id)),
        )
        .filter(console_sessions::id_hash.eq(id_hash))
        .filter(console_sessions::expires_at.gt(now_db))
        .filter(console_sessions::last_seen_at.gt(db_time(idle_since)))
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now_db)),
        )
        .select(ConsoleSessionRow::as_select())
        .get_result::<ConsoleSessionRow>(conn)
        .optional()
        .map_err(db_error)?;
    row.map(into_domain).transpose()
}

/// Records a use at `now`, unless one was recorded after `fresh_after`.
pub(crate) fn touch(
    conn: &mut DbConn,
    id_hash: &str,
    now: DateTime<Utc>,
    fresh_after: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(
        console_sessions::table
            .filter(console_sessions::id_hash.eq(id_hash))
            .filter(console_sessions::last_seen_at.le(db_time(fresh_after))),
    )
    .set(console_sessions::last_seen_at.eq(db_time(now)))
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes one session; returns whether there was one.
pub(crate) fn delete(conn: &mut DbConn, id_hash: &str) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(console_sessions::table.filter(console_sessions::id_hash.eq(id_hash)))
            .execute(conn)
            .map_err(db_error)?;
    Ok(deleted > 0)
}

/// Deletes every session of a principal (its user token is being revoked).
pub(crate) fn delete_of_principal(
    conn: &mut DbConn,
    principal_id: PrincipalId,
) -> Result<(), StoreError> {
    diesel::delete(
        console_sessions::table.filter(console_sessions::principal_id.eq(principal_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes up to [`PURGE_BATCH`] sessions that ended by `now` (past `expires_at`) or went idle
/// before `idle_since`; returns how many went.
pub(crate) fn purge_ended(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let ended: Vec<String> = console_sessions::table
        .filter(
            console_sessions::expires_at
                .le(db_time(now))
                .or(console_sessions::last_seen_at.le(db_time(idle_since))),
        )
        .select(console_sessions::id_hash)
        .limit(PURGE_BATCH)
        .load(conn)
        .map_err(db_error)?;
    if ended.is_empty() {
        return Ok(0);
    }
    diesel::delete(console_sessions::table.filter(console_sessions::id_hash.eq_any(&ended)))
        .execute(conn)
        .map_err(db_error)
}

fn into_domain(row: ConsoleSessionRow) -> Result<ConsoleSession, StoreError> {
    Ok(ConsoleSession {
        team_id: parse("console_sessions.team_id", &row.team_id)?,
        principal_id: parse("console_sessions.principal_id", &row.principal_id)?,
        created_at: utc(row.created_at),
        last_seen_at: utc(row.last_seen_at),
        expires_at: utc(row.expires_at),
        csrf_secret: SecretValue::new(row.csrf_secret),
    })
}
