//! `Idempotency-Key` records, per principal: a claim while the first request runs, then its
//! response. They live in the database so that every server instance sees them, and the primary
//! key `(principal_id, key)` decides which of two concurrent requests runs.

use chrono::{DateTime, Utc};
use credvault_domain::ids::PrincipalId;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::{IDEMPOTENCY_COMPLETED, IDEMPOTENCY_IN_PROGRESS, db_time, response_headers};
use crate::error::db_error;
use crate::rows::IdempotencyRow;
use crate::schema::idempotency_keys;
use crate::{IdempotencyClaim, IdempotencyRecord, StoreError, StoredResponse, constraint};

pub(crate) fn find(
    conn: &mut DbConn,
    principal_id: PrincipalId,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    idempotency_keys::table
        .filter(idempotency_keys::principal_id.eq(principal_id.to_string()))
        .filter(idempotency_keys::key.eq(key))
        .select(IdempotencyRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(IdempotencyRow::into_domain)
        .transpose()
}

/// Deletes this principal's record for `key` if it was stored before `cutoff`, so that the key
/// can be used again.
pub(crate) fn delete_if_older(
    conn: &mut DbConn,
    principal_id: PrincipalId,
    key: &str,
    cutoff: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::principal_id.eq(principal_id.to_string()))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.le(db_time(cutoff))),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes this principal's claim on `key` if it is still in progress and was made before
/// `cutoff`: its holder is presumed dead, and the key may be claimed again.
pub(crate) fn delete_stale_claim(
    conn: &mut DbConn,
    principal_id: PrincipalId,
    key: &str,
    cutoff: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::principal_id.eq(principal_id.to_string()))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::state.eq(IDEMPOTENCY_IN_PROGRESS))
            .filter(idempotency_keys::created_at.le(db_time(cutoff))),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes every record stored before `cutoff` (they answer nothing any more).
pub(crate) fn purge_older(conn: &mut DbConn, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.le(db_time(cutoff))))
        .execute(conn)
        .map_err(db_error)
}

/// Inserts a claim; `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the principal already has
/// a record for the key.
pub(crate) fn insert_claim(conn: &mut DbConn, row: &IdempotencyRow) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// Stores the response of the request holding `claim`. Meant to run in the transaction of that
/// request's write, so that the write and its record commit together or not at all.
///
/// `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the claim is no longer held (it went stale
/// and another request took the key): the caller's transaction must then roll back.
pub(crate) fn complete(
    conn: &mut DbConn,
    claim: &IdempotencyClaim,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    let headers = response_headers(response)?;
    let updated = diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::principal_id.eq(claim.principal_id.to_string()))
            .filter(idempotency_keys::key.eq(&claim.key))
            .filter(idempotency_keys::claim.eq(&claim.token))
            .filter(idempotency_keys::state.eq(IDEMPOTENCY_IN_PROGRESS)),
    )
    .set((
        idempotency_keys::state.eq(IDEMPOTENCY_COMPLETED),
        idempotency_keys::status.eq(Some(i32::from(response.status))),
        idempotency_keys::headers.eq(Some(headers)),
        idempotency_keys::body.eq(Some(&response.body)),
    ))
    .execute(conn)
    .map_err(db_error)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            constraint: constraint::IDEMPOTENCY_KEY.to_owned(),
        })
    }
}

/// Deletes `claim` if it is still held and in progress; a completed record stays.
pub(crate) fn release(conn: &mut DbConn, claim: &IdempotencyClaim) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::principal_id.eq(claim.principal_id.to_string()))
            .filter(idempotency_keys::key.eq(&claim.key))
            .filter(idempotency_keys::claim.eq(&claim.token))
            .filter(idempotency_keys::state.eq(IDEMPOTENCY_IN_PROGRESS)),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}
