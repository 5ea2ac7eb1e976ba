//! Principals, their memberships and their bearer tokens (stored as hashes only).

use chrono::{DateTime, NaiveDateTime, Utc};
use credvault_domain::ids::PrincipalId;
use credvault_domain::principal::{Principal, PrincipalKind, Role};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::{db_time, parse, utc};
use crate::error::db_error;
use crate::rows::{ApiTokenRow, MembershipRow, PrincipalRow};
use crate::schema::{api_tokens, idempotency_keys, memberships, principals, service_accounts};
use crate::{AuthenticatedToken, StoreError};

/// Inserts a principal of `kind` with `role` in the team.
pub(crate) fn insert_with_membership(
    conn: &mut DbConn,
    team_id: String,
    principal_id: PrincipalId,
    kind: PrincipalKind,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(principals::table)
        .values(&PrincipalRow {
            id: principal_id.to_string(),
            kind: kind.as_str(),
            created_at: db_time(now),
        })
        .execute(conn)
        .map_err(db_error)?;
    diesel::insert_into(memberships::table)
        .values(&MembershipRow {
            team_id,
            principal_id: principal_id.to_string(),
            role: role.as_str(),
        })
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn insert_token(conn: &mut DbConn, row: &ApiTokenRow<'_>) -> Result<(), StoreError> {
    diesel::insert_into(api_tokens::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// Removes a principal and everything hanging off it: tokens, memberships, idempotency records.
pub(crate) fn delete(conn: &mut DbConn, principal_id: &str) -> Result<(), StoreError> {
    diesel::delete(api_tokens::table.filter(api_tokens::principal_id.eq(principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    diesel::delete(memberships::table.filter(memberships::principal_id.eq(principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::principal_id.eq(principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    diesel::delete(principals::table.filter(principals::id.eq(principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// The principal holding an unexpired token with this hash, with its service account if any,
/// and the token's expiry.
pub(crate) fn authenticate(
    conn: &mut DbConn,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<AuthenticatedToken>, StoreError> {
    let found = api_tokens::table
        .inner_join(principals::table.on(principals::id.eq(api_tokens::principal_id)))
        .left_join(
            service_accounts::table.on(service_accounts::principal_id.eq(api_tokens::principal_id)),
        )
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((
            api_tokens::principal_id,
            api_tokens::expires_at,
            principals::kind,
            service_accounts::id.nullable(),
        ))
        .get_result::<(String, Option<NaiveDateTime>, String, Option<String>)>(conn)
        .optional()
        .map_err(db_error)?;
    let Some((principal_id, expires_at, kind, service_account)) = found else {
        return Ok(None);
    };
    if expires_at.is_some_and(|expires_at| utc(expires_at) <= now) {
        return Ok(None);
    }
    let principal = Principal {
        id: parse("api_tokens.principal_id", &principal_id)?,
        kind: parse("principals.kind", &kind)?,
        service_account: service_account
            .map(|id| parse("service_accounts.id", &id))
            .transpose()?,
    };
    Ok(Some(AuthenticatedToken {
        principal,
        expires_at: expires_at.map(utc),
    }))
}
