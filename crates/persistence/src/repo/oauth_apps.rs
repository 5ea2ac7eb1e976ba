//! OAuth apps of a team, with their sealed client secret.

use credvault_domain::ids::{OAuthAppId, TeamId};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::OAuthAppRow;
use crate::schema::oauth_apps;
use crate::{Page, PageRequest, StoreError, StoredOAuthApp};

pub(crate) fn insert(conn: &mut DbConn, row: &OAuthAppRow) -> Result<(), StoreError> {
    diesel::insert_into(oauth_apps::table)
        .values(row)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: OAuthAppId,
) -> Result<Option<StoredOAuthApp>, StoreError> {
    oauth_apps::table
        .filter(oauth_apps::id.eq(id.to_string()))
        .filter(oauth_apps::team_id.eq(team_id.to_string()))
        .select(OAuthAppRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(OAuthAppRow::into_domain)
        .transpose()
}

pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    page: PageRequest,
) -> Result<Page<StoredOAuthApp>, StoreError> {
    let mut query = oauth_apps::table
        .filter(oauth_apps::team_id.eq(team_id.to_string()))
        .select(OAuthAppRow::as_select())
        .order(oauth_apps::id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(oauth_apps::id.gt(after.to_string()));
    }
    let rows = query.load(conn).map_err(db_error)?;
    into_page(rows, page, OAuthAppRow::into_domain, |stored| {
        *stored.app.id.as_uuid()
    })
}

/// The columns a PATCH writes: everything a PATCH may change, the new version and
/// `updated_at`; never the id, team, provider or `created_at`.
#[derive(AsChangeset)]
#[diesel(table_name = oauth_apps, treat_none_as_null = false)]
struct OAuthAppChangeset<'a> {
    name: &'a str,
    client_id: &'a str,
    secret_key_id: &'a str,
    secret_ciphertext: &'a [u8],
    token_url: &'a str,
    authorize_url: &'a str,
    scopes: &'a str,
    metadata: &'a str,
    version: i64,
    updated_at: chrono::NaiveDateTime,
}

/// Writes `row` over the team's app if its stored version is still `expected_version`; returns
/// the rows changed (0: gone, or another write came first).
pub(crate) fn update_if_version(
    conn: &mut DbConn,
    row: &OAuthAppRow,
    expected_version: i64,
) -> Result<usize, StoreError> {
    diesel::update(
        oauth_apps::table
            .filter(oauth_apps::id.eq(&row.id))
            .filter(oauth_apps::team_id.eq(&row.team_id))
            .filter(oauth_apps::version.eq(expected_version)),
    )
    .set(&OAuthAppChangeset {
        name: &row.name,
        client_id: &row.client_id,
        secret_key_id: &row.secret_key_id,
        secret_ciphertext: &row.secret_ciphertext,
        token_url: &row.token_url,
        authorize_url: &row.authorize_url,
        scopes: &row.scopes,
        metadata: &row.metadata,
        version: row.version,
        updated_at: row.updated_at,
    })
    .execute(conn)
    .map_err(db_error)
}

pub(crate) fn delete_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    id: OAuthAppId,
) -> Result<usize, StoreError> {
    diesel::delete(
        oauth_apps::table
            .filter(oauth_apps::id.eq(id.to_string()))
            .filter(oauth_apps::team_id.eq(team_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}
