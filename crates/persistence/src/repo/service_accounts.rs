//! Service accounts of a team.

use chrono::NaiveDateTime;
use credvault_domain::ids::{ServiceAccountId, TeamId};
use credvault_domain::service_account::ServiceAccount;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::ServiceAccountRow;
use crate::schema::service_accounts;
use crate::{Page, PageRequest, StoreError};

pub(crate) fn insert(conn: &mut DbConn, row: &ServiceAccountRow) -> Result<(), StoreError> {
    diesel::insert_into(service_accounts::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: ServiceAccountId,
) -> Result<Option<ServiceAccountRow>, StoreError> {
    service_accounts::table
        .filter(service_accounts::id.eq(id.to_string()))
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(ServiceAccountRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)
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

/// Sets name, description and `updated_at` of the team's account; returns the rows changed.
pub(crate) fn update_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: ServiceAccountId,
    name: &str,
    description: Option<&str>,
    updated_at: NaiveDateTime,
) -> Result<usize, StoreError> {
    diesel::update(
        service_accounts::table
            .filter(service_accounts::id.eq(id.to_string()))
            .filter(service_accounts::team_id.eq(team_id.to_string())),
    )
    .set((
        service_accounts::name.eq(name),
        service_accounts::description.eq(description),
        service_accounts::updated_at.eq(updated_at),
    ))
    .execute(conn)
    .map_err(db_error)
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
