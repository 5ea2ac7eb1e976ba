//! Service accounts of a team.

use chrono::{DateTime, NaiveDateTime, Utc};
use credvault_domain::ids::{ServiceAccountId, TeamId};
use credvault_domain::patch::Patch;
use credvault_domain::service_account::ServiceAccount;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::db_time;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::ServiceAccountRow;
use crate::schema::service_accounts;
use crate::{Page, PageRequest, StoreError};

pub(crate) fn insert(conn: &mut DbConn, account: &ServiceAccount) -> Result<(), StoreError> {
    diesel::insert_into(service_accounts::table)
        .values(&ServiceAccountRow::from_domain(account))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: ServiceAccountId,
) -> Result<Option<ServiceAccount>, StoreError> {
    service_accounts::table
        .filter(service_accounts::id.eq(id.to_string()))
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(ServiceAccountRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(ServiceAccountRow::into_domain)
        .transpose()
}

pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    page: PageRequest,
) -> Result<Page<ServiceAccount>, StoreError> {
    let mut query = service_accounts::table
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(ServiceAccountRow::as_select())
        .order(service_accounts::id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(service_accounts::id.gt(after.to_string()));
    }
    let rows = query.load(conn).map_err(db_error)?;
    into_page(rows, page, ServiceAccountRow::into_domain, |account| {
        *account.id.as_uuid()
    })
}

/// The columns a PATCH of a service account writes: only the fields it sent, and `updated_at`.
///
/// Writing only those columns, in one statement, is what keeps two concurrent PATCHes of
/// different fields from undoing each other: neither writes back a value it read earlier.
#[derive(AsChangeset)]
#[diesel(table_name = service_accounts)]
struct ServiceAccountChangeset<'a> {
    /// `None` keeps the stored name.
    name: Option<&'a str>,
    /// `None` keeps the stored description, `Some(None)` clears it.
    description: Option<Option<&'a str>>,
    updated_at: NaiveDateTime,
}

/// Sets the sent name and description and `updated_at` of the team's account (absent fields keep
/// their stored value, `Patch::Null` clears the description); returns the rows changed.
pub(crate) fn update_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: ServiceAccountId,
    name: Option<&str>,
    description: &Patch<String>,
    updated_at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    diesel::update(
        service_accounts::table
            .filter(service_accounts::id.eq(id.to_string()))
            .filter(service_accounts::team_id.eq(team_id.to_string())),
    )
    .set(&ServiceAccountChangeset {
        name,
        description: sent_description(description),
        updated_at: db_time(updated_at),
    })
    .execute(conn)
    .map_err(db_error)
}

/// A description patch as a changeset column: absent keeps it, `null` clears it.
pub(crate) fn sent_description(description: &Patch<String>) -> Option<Option<&str>> {
    match description {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(value) => Some(Some(value.as_str())),
    }
}

pub(crate) fn delete_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: ServiceAccountId,
) -> Result<usize, StoreError> {
    diesel::delete(
        service_accounts::table
            .filter(service_accounts::id.eq(id.to_string()))
            .filter(service_accounts::team_id.eq(team_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}
