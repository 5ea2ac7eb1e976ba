//! Pending OAuth connects, keyed by the SHA-256 of their single-use `state` (the state itself is
//! never stored).
//!
//! Like a console session, a pending connect is found by its key alone: the callback that
//! presents the state carries no bearer token and names no team. The row names its team, and
//! everything the callback then reads or writes is scoped by that team.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::StoreError;
use crate::conn::DbConn;
use crate::convert::{db_time, parse, utc};
use crate::error::db_error;
use crate::rows::ConnectStateRow;
use crate::schema::{oauth_connect_states, principals, service_accounts};
use crate::types::{Ciphertext, ConnectReturn, ConnectState};
use credvault_domain::principal::Principal;

/// How many expired states one start deletes at most, so the table shrinks as connects start
/// without a sweeper, and the start's transaction stays short.
pub(crate) const PURGE_BATCH: i64 = 100;

/// Inserts a pending connect.
pub(crate) fn insert(conn: &mut DbConn, row: &ConnectStateRow) -> Result<(), StoreError> {
    diesel::insert_into(oauth_connect_states::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// Deletes the pending connect stored under `state_hash` and returns it, with its principal;
/// `None` when there is none (unknown, or already taken by another callback: the delete that
/// removed the row is the one that takes it). The caller decides about its expiry.
pub(crate) fn take(
    conn: &mut DbConn,
    state_hash: &str,
) -> Result<Option<ConnectState>, StoreError> {
    let found = oauth_connect_states::table
        .inner_join(principals::table.on(principals::id.eq(oauth_connect_states::principal_id)))
        .left_join(
            service_accounts::table
                .on(service_accounts::principal_id.eq(oauth_connect_states::principal_id)),
        )
        .filter(oauth_connect_states::state_hash.eq(state_hash))
        .select((
            ConnectStateRow::as_select(),
            principals::kind,
            service_accounts::id.nullable(),
        ))
        .get_result::<(ConnectStateRow, String, Option<String>)>(conn)
        .optional()
        .map_err(db_error)?;
    let Some((row, kind, service_account)) = found else {
        return Ok(None);
    };
    let deleted = diesel::delete(
        oauth_connect_states::table.filter(oauth_connect_states::state_hash.eq(state_hash)),
    )
    .execute(conn)
    .map_err(db_error)?;
    if deleted == 0 {
        return Ok(None);
    }
    let principal = Principal {
        id: parse("oauth_connect_states.principal_id", &row.principal_id)?,
        kind: parse("principals.kind", &kind)?,
        service_account: service_account
            .map(|id| parse("service_accounts.id", &id))
            .transpose()?,
    };
    Ok(Some(ConnectState {
        team_id: parse("oauth_connect_states.team_id", &row.team_id)?,
        credential_id: parse("oauth_connect_states.credential_id", &row.credential_id)?,
        principal,
        verifier: Ciphertext {
            key_id: row.verifier_key_id,
            bytes: row.verifier_ciphertext,
        },
        redirect_uri: row.redirect_uri,
        return_to: ConnectReturn::parse(&row.return_to).ok_or_else(|| {
            StoreError::Corrupt("unreadable oauth_connect_states.return_to".to_owned())
        })?,
        created_at: utc(row.created_at),
        expires_at: utc(row.expires_at),
    }))
}

/// Deletes up to [`PURGE_BATCH`] pending connects that expired by `now`; returns how many went.
pub(crate) fn purge_expired(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let expired: Vec<String> = oauth_connect_states::table
        .filter(oauth_connect_states::expires_at.le(db_time(now)))
        .select(oauth_connect_states::state_hash)
        .limit(PURGE_BATCH)
        .load(conn)
        .map_err(db_error)?;
    if expired.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        oauth_connect_states::table.filter(oauth_connect_states::state_hash.eq_any(&expired)),
    )
    .execute(conn)
    .map_err(db_error)
}
