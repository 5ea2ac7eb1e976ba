//! Teams, and the one-query membership check every team-scoped request starts with.

use credvault_domain::ids::PrincipalId;
use credvault_domain::principal::Role;
use credvault_domain::team::{Team, TeamRef};
use diesel::prelude::*;

use crate::StoreError;
use crate::conn::DbConn;
use crate::convert::parse;
use crate::error::db_error;
use crate::rows::TeamRow;
use crate::schema::{memberships, teams};

pub(crate) fn insert(conn: &mut DbConn, team: &Team) -> Result<(), StoreError> {
    diesel::insert_into(teams::table)
        .values(&TeamRow::from_domain(team))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    teams::table.count().get_result(conn).map_err(db_error)
}

pub(crate) fn find(conn: &mut DbConn, team: &TeamRef) -> Result<Option<Team>, StoreError> {
    let query = teams::table.select(TeamRow::as_select()).into_boxed();
    let query = match team {
        TeamRef::Id(id) => query.filter(teams::id.eq(id.to_string())),
        TeamRef::Label(label) => query.filter(teams::label.eq(label.as_str().to_owned())),
    };
    query
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(TeamRow::into_domain)
        .transpose()
}

/// The team and the principal's role in it. A missing team and a missing membership both give
/// `None`: they are one statement, so they take one path.
pub(crate) fn membership(
    conn: &mut DbConn,
    team: &TeamRef,
    principal_id: PrincipalId,
) -> Result<Option<(Team, Role)>, StoreError> {
    let query = teams::table
        .inner_join(memberships::table.on(memberships::team_id.eq(teams::id)))
        .filter(memberships::principal_id.eq(principal_id.to_string()))
        .select((TeamRow::as_select(), memberships::role))
        .into_boxed();
    let query = match team {
        TeamRef::Id(id) => query.filter(teams::id.eq(id.to_string())),
        TeamRef::Label(label) => query.filter(teams::label.eq(label.as_str().to_owned())),
    };
    let Some((team_row, role)) = query
        .get_result::<(TeamRow, String)>(conn)
        .optional()
        .map_err(db_error)?
    else {
        return Ok(None);
    };
    Ok(Some((
        team_row.into_domain()?,
        parse("memberships.role", &role)?,
    )))
}
