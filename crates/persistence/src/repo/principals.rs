//! Principals, their memberships and their bearer tokens (stored as hashes only).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use credvault_domain::ids::{ClientCredentialId, PrincipalId, TeamId};
use credvault_domain::principal::{Principal, PrincipalKind, Role};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::{db_time, parse, utc};
use crate::error::db_error;
use crate::rows::{ApiTokenRow, MembershipRow, PrincipalRow};
use crate::schema::{
    api_tokens, idempotency_keys, memberships, principals, service_accounts, user_tokens,
};
use crate::{AuthenticatedToken, StoreError, UserToken};

/// What [`authenticate`] reads: the principal, the token's expiry, the principal's kind, its
/// service account, and for a user token its id and last use.
type Authenticated = (
    String,
    Option<NaiveDateTime>,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// Inserts a principal of `kind` with `role` in the team.
pub(crate) fn insert_with_membership(
    conn: &mut DbConn,
    team_id: TeamId,
    principal_id: PrincipalId,
    kind: PrincipalKind,
    role: Role,
    created_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(principals::table)
        .values(&PrincipalRow::new(principal_id, kind, created_at))
        .execute(conn)
        .map_err(db_error)?;
    diesel::insert_into(memberships::table)
        .values(&MembershipRow::new(team_id, principal_id, role))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// Inserts a user token: its principal with the membership, its bearer token stored as
/// `token_hash` (hex SHA-256) and its metadata. The caller's transaction makes them one.
pub(crate) fn insert_user_token(
    conn: &mut DbConn,
    token: &UserToken,
    token_hash: &str,
) -> Result<(), StoreError> {
    insert_with_membership(
        conn,
        token.team_id,
        token.id,
        PrincipalKind::User,
        token.role,
        token.created_at,
    )?;
    insert_token(conn, &ApiTokenRow::for_user(token, token_hash))?;
    crate::repo::user_tokens::insert(conn, token)
}

/// Inserts an access token exchanged for a client credential: it authenticates as the
/// credential's service account principal until `expires_at`, and goes with the credential.
pub(crate) fn insert_access_token(
    conn: &mut DbConn,
    token_hash: &str,
    principal_id: PrincipalId,
    client_credential_id: ClientCredentialId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_token(
        conn,
        &ApiTokenRow::for_access(
            token_hash,
            principal_id,
            client_credential_id,
            created_at,
            expires_at,
        ),
    )
}

fn insert_token(conn: &mut DbConn, row: &ApiTokenRow<'_>) -> Result<(), StoreError> {
    diesel::insert_into(api_tokens::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// Removes a principal and everything hanging off it: tokens, memberships, idempotency records,
/// user token metadata, console sessions.
pub(crate) fn delete(conn: &mut DbConn, principal_id: PrincipalId) -> Result<(), StoreError> {
    crate::repo::user_tokens::delete(conn, principal_id)?;
    crate::repo::console_sessions::delete_of_principal(conn, principal_id)?;
    let principal_id = principal_id.to_string();
    diesel::delete(api_tokens::table.filter(api_tokens::principal_id.eq(&principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    diesel::delete(memberships::table.filter(memberships::principal_id.eq(&principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::principal_id.eq(&principal_id)),
    )
    .execute(conn)
    .map_err(db_error)?;
    diesel::delete(principals::table.filter(principals::id.eq(&principal_id)))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// How precisely a user token's `last_used_at` is kept: a use within this time of the recorded
/// one writes nothing, so authenticating writes at most once a minute per token.
pub(crate) const LAST_USED_PRECISION: TimeDelta = TimeDelta::seconds(60);

/// The principal holding an unexpired token with this hash, with its service account if any,
/// and the token's expiry.
/// A user token's `last_used_at` is set to `now` (to [`LAST_USED_PRECISION`]).
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
        .left_join(user_tokens::table.on(user_tokens::principal_id.eq(api_tokens::principal_id)))
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((
            api_tokens::principal_id,
            api_tokens::expires_at,
            principals::kind,
            service_accounts::id.nullable(),
            user_tokens::principal_id.nullable(),
            user_tokens::last_used_at.nullable(),
        ))
        .get_result::<Authenticated>(conn)
        .optional()
        .map_err(db_error)?;
    let Some((principal_id, expires_at, kind, service_account, user_token, last_used_at)) = found
    else {
        return Ok(None);
    };
    if expires_at.is_some_and(|expires_at| utc(expires_at) <= now) {
        return Ok(None);
    }
    let principal_id = parse("api_tokens.principal_id", &principal_id)?;
    let fresh_after = now - LAST_USED_PRECISION;
    if user_token.is_some() && last_used_at.is_none_or(|at| utc(at) <= fresh_after) {
        // `last_used_at` is for people; a failure to record it must not refuse the request.
        if let Err(error) = crate::repo::user_tokens::touch(conn, principal_id, now, fresh_after) {
            log::warn!("could not record the use of user token {principal_id}: {error}");
        }
    }
    let principal = Principal {
        id: principal_id,
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

/// How many expired access tokens one issue deletes at most: more than the one it adds, so the
/// expired rows shrink however fast tokens are issued, and few enough to keep the issuing
/// transaction short.
pub(crate) const PURGE_BATCH: i64 = 100;

/// Deletes up to [`PURGE_BATCH`] access tokens (issued through a client credential) that expired
/// at or before `now`; returns how many went. User tokens are left to their owners to revoke, so
/// that an expired one still shows in the team's list.
pub(crate) fn purge_expired_access_tokens(
    conn: &mut DbConn,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let expired = api_tokens::table
        .filter(api_tokens::client_credential_id.is_not_null())
        .filter(api_tokens::expires_at.le(db_time(now)))
        .select(api_tokens::token_hash)
        .limit(PURGE_BATCH);
    // Selected first, then deleted by key, in the caller's transaction: a `LIMIT` inside a
    // `DELETE`'s subquery is not something both backends' diesel DSL offers.
    let hashes: Vec<String> = expired.load(conn).map_err(db_error)?;
    if hashes.is_empty() {
        return Ok(0);
    }
    diesel::delete(api_tokens::table.filter(api_tokens::token_hash.eq_any(&hashes)))
        .execute(conn)
        .map_err(db_error)
}
