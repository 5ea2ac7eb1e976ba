//! Integration credential rows, always addressed by id *and* team.

use credvault_domain::credential::Credential;
use credvault_domain::ids::{CredentialId, TeamId};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::CredentialRow;
use crate::schema::credentials;
use crate::{CredentialFilter, Page, PageRequest, StoreError, StoredCredential};

pub(crate) fn insert(conn: &mut DbConn, row: &CredentialRow) -> Result<(), StoreError> {
    diesel::insert_into(credentials::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<Option<StoredCredential>, StoreError> {
    credentials::table
        .filter(credentials::id.eq(id.to_string()))
        .filter(credentials::team_id.eq(team_id.to_string()))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()
        .map_err(db_error)?
        .map(CredentialRow::into_domain)
        .transpose()
}

pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    filter: &CredentialFilter,
    page: PageRequest,
) -> Result<Page<Credential>, StoreError> {
    let mut query = credentials::table
        .filter(credentials::team_id.eq(team_id.to_string()))
        .select(CredentialRow::as_select())
        .order(credentials::id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(credentials::id.gt(after.to_string()));
    }
    if let Some(provider) = filter.provider {
        query = query.filter(credentials::provider.eq(provider.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(credentials::status.eq(status.as_str()));
    }
    let rows = query.load(conn).map_err(db_error)?;
    into_page(
        rows,
        page,
        |row| row.into_domain().map(|stored| stored.credential),
        |credential| *credential.id.as_uuid(),
    )
}

/// Overwrites every column of the team's row with `row`; returns how many rows changed (0 or 1).
pub(crate) fn update_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
    row: &CredentialRow,
) -> Result<usize, StoreError> {
    diesel::update(
        credentials::table
            .filter(credentials::id.eq(id.to_string()))
            .filter(credentials::team_id.eq(team_id.to_string())),
    )
    .set(row)
    .execute(conn)
    .map_err(db_error)
}

/// Deletes the team's row, ciphertext included; returns how many rows went (0 or 1).
pub(crate) fn delete_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<usize, StoreError> {
    diesel::delete(
        credentials::table
            .filter(credentials::id.eq(id.to_string()))
            .filter(credentials::team_id.eq(team_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}
