//! Stored first responses for `Idempotency-Key`, per principal. They live in the database so that
//! every server instance sees them.

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::ids::PrincipalId;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::rows::IdempotencyRow;
use crate::schema::idempotency_keys;
use crate::{IdempotencyRecord, StoreError};

/// How long a stored response answers retries.
pub(crate) const RETENTION: TimeDelta = TimeDelta::hours(24);

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
            .filter(idempotency_keys::created_at.le(crate::convert::db_time(cutoff))),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes every record stored before `cutoff` (they answer nothing any more).
pub(crate) fn purge_older(conn: &mut DbConn, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::created_at.le(crate::convert::db_time(cutoff))),
    )
    .execute(conn)
    .map_err(db_error)
}

pub(crate) fn insert(conn: &mut DbConn, record: &IdempotencyRecord) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values(&IdempotencyRow::from_domain(record)?)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}
