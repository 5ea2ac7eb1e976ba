//! User tokens: what owners see of a user principal's bearer token (name, role, expiry, last
//! use, issuer), never the token or its hash. A user token's id is the id of the principal it
//! authenticates as; its role is that principal's membership, its expiry the `api_tokens` row's.

use chrono::{DateTime, NaiveDateTime, Utc};
use credvault_domain::ids::{PrincipalId, TeamId};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::db_time;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::UserTokenRow;
use crate::schema::{api_tokens, memberships, user_tokens};
use crate::{Page, PageRequest, StoreError, UserToken};

/// A row with its role and expiry, as the listing queries return it.
type Joined = (UserTokenRow, String, Option<NaiveDateTime>);

/// Inserts the metadata of a user token (its principal, membership and bearer token go with
/// `principals::insert_user_token`).
pub(crate) fn insert(conn: &mut DbConn, token: &UserToken) -> Result<(), StoreError> {
    diesel::insert_into(user_tokens::table)
        .values(&UserTokenRow::from_domain(token))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// The user tokens with their role (the membership in their own team) and expiry.
macro_rules! joined {
    () => {
        user_tokens::table
            .inner_join(
                memberships::table.on(memberships::principal_id
                    .eq(user_tokens::principal_id)
                    .and(memberships::team_id.eq(user_tokens::team_id))),
            )
            .inner_join(
                api_tokens::table.on(api_tokens::principal_id.eq(user_tokens::principal_id)),
            )
            .select((
                UserTokenRow::as_select(),
                memberships::role,
                api_tokens::expires_at,
            ))
    };
}

/// One user token of the team.
pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: PrincipalId,
) -> Result<Option<UserToken>, StoreError> {
    joined!()
        .filter(user_tokens::principal_id.eq(id.to_string()))
        .filter(user_tokens::team_id.eq(team_id.to_string()))
        .get_result::<Joined>(conn)
        .optional()
        .map_err(db_error)?
        .map(UserTokenRow::into_domain)
        .transpose()
}

/// One user token of any team: for the admin CLI, an operator's tool that is never reachable
/// over HTTP.
pub(crate) fn find_in_any_team(
    conn: &mut DbConn,
    id: PrincipalId,
) -> Result<Option<UserToken>, StoreError> {
    joined!()
        .filter(user_tokens::principal_id.eq(id.to_string()))
        .get_result::<Joined>(conn)
        .optional()
        .map_err(db_error)?
        .map(UserTokenRow::into_domain)
        .transpose()
}

/// A page of the team's user tokens, oldest first.
pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    page: PageRequest,
) -> Result<Page<UserToken>, StoreError> {
    let mut query = joined!()
        .filter(user_tokens::team_id.eq(team_id.to_string()))
        .order(user_tokens::principal_id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(user_tokens::principal_id.gt(after.to_string()));
    }
    let rows = query.load::<Joined>(conn).map_err(db_error)?;
    into_page(rows, page, UserTokenRow::into_domain, |token| {
        *token.id.as_uuid()
    })
}

/// Records a use at `now`, unless one was recorded after `fresh_after`: `last_used_at` is kept
/// to that precision so that authenticating does not write on every request.
pub(crate) fn touch(
    conn: &mut DbConn,
    id: PrincipalId,
    now: DateTime<Utc>,
    fresh_after: DateTime<Utc>,
) -> Result<(), StoreError> {
    let fresh_after = db_time(fresh_after);
    diesel::update(
        user_tokens::table
            .filter(user_tokens::principal_id.eq(id.to_string()))
            .filter(
                user_tokens::last_used_at
                    .is_null()
                    .or(user_tokens::last_used_at.le(fresh_after)),
            ),
    )
    .set(user_tokens::last_used_at.eq(db_time(now)))
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes the metadata of a user token (its principal goes with `principals::delete`).
pub(crate) fn delete(conn: &mut DbConn, id: PrincipalId) -> Result<(), StoreError> {
    diesel::delete(user_tokens::table.filter(user_tokens::principal_id.eq(id.to_string())))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// The team a user token acts in, by its principal: the sign-in of the web console, which has
/// just authenticated that principal's own token.
pub(crate) fn team_of(conn: &mut DbConn, id: PrincipalId) -> Result<Option<TeamId>, StoreError> {
    let team_id: Option<String> = user_tokens::table
        .filter(user_tokens::principal_id.eq(id.to_string()))
        .select(user_tokens::team_id)
        .get_result(conn)
        .optional()
        .map_err(db_error)?;
    team_id
        .map(|team_id| crate::convert::parse("user_tokens.team_id", &team_id))
        .transpose()
}
