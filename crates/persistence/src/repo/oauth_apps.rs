//! OAuth apps of a team, with their sealed client secret.

use credvault_domain::ids::{OAuthAppId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::parse;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::OAuthAppRow;
use crate::schema::{credentials, oauth_apps};
use crate::{Ciphertext, Page, PageRequest, StoreError, StoredOAuthApp};

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

/// The team's apps among `ids`, in one query.
pub(crate) fn among_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    ids: &[OAuthAppId],
) -> Result<Vec<OAuthApp>, StoreError> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    oauth_apps::table
        .filter(oauth_apps::team_id.eq(team_id.to_string()))
        .filter(oauth_apps::id.eq_any(ids))
        .select(OAuthAppRow::as_select())
        .load(conn)
        .map_err(db_error)?
        .into_iter()
        .map(|row| row.into_domain().map(|stored| stored.app))
        .collect()
}

/// How many of the team's credentials are linked to its app `id`.
pub(crate) fn count_linked_credentials(
    conn: &mut DbConn,
    team_id: TeamId,
    id: OAuthAppId,
) -> Result<i64, StoreError> {
    credentials::table
        .filter(credentials::team_id.eq(team_id.to_string()))
        .filter(credentials::oauth_app_id.eq(id.to_string()))
        .count()
        .get_result(conn)
        .map_err(db_error)
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
    /// `None` (with `treat_none_as_null = false`): the column is left as the database has it.
    secret_key_id: Option<&'a str>,
    secret_ciphertext: Option<&'a [u8]>,
    token_url: &'a str,
    authorize_url: &'a str,
    scopes: &'a str,
    metadata: &'a str,
    version: i64,
    updated_at: chrono::NaiveDateTime,
}

/// Writes `row` over the team's app if its stored version is still `expected_version`; returns
/// the rows changed (0: gone, or another write came first). With `keep_secret` the ciphertext
/// columns are not written, so a key rotation that resealed the secret since it was read is not
/// undone.
pub(crate) fn update_if_version(
    conn: &mut DbConn,
    row: &OAuthAppRow,
    expected_version: i64,
    keep_secret: bool,
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
        secret_key_id: (!keep_secret).then_some(row.secret_key_id.as_str()),
        secret_ciphertext: (!keep_secret).then_some(row.secret_ciphertext.as_slice()),
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

/// Key rotation: the next `limit` apps after `after` (id order, every team) whose client secret
/// is sealed under another key than `active_key_id`.
pub(crate) fn not_on_key(
    conn: &mut DbConn,
    active_key_id: &str,
    after: Option<OAuthAppId>,
    limit: u32,
) -> Result<Vec<(TeamId, OAuthAppId)>, StoreError> {
    let mut query = oauth_apps::table
        .filter(oauth_apps::secret_key_id.ne(active_key_id))
        .select((oauth_apps::team_id, oauth_apps::id))
        .order(oauth_apps::id.asc())
        .limit(i64::from(limit.max(1)))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(oauth_apps::id.gt(after.to_string()));
    }
    query
        .load::<(String, String)>(conn)
        .map_err(db_error)?
        .into_iter()
        .map(|(team_id, id)| {
            Ok((
                parse("oauth_apps.team_id", &team_id)?,
                parse("oauth_apps.id", &id)?,
            ))
        })
        .collect()
}

/// Key rotation: how many client secrets each key id protects, by key id.
pub(crate) fn count_by_key(conn: &mut DbConn) -> Result<Vec<(String, i64)>, StoreError> {
    oauth_apps::table
        .group_by(oauth_apps::secret_key_id)
        .select((oauth_apps::secret_key_id, diesel::dsl::count_star()))
        .order(oauth_apps::secret_key_id.asc())
        .load(conn)
        .map_err(db_error)
}

/// Key rotation: the team's app's sealed client secret, its row locked against concurrent
/// writers until the transaction ends. `None` when the app is gone.
///
/// Must run inside `backend::write_transaction`. PostgreSQL takes a row lock (`FOR UPDATE`, which
/// diesel offers only on the Pg connection itself); on SQLite the transaction's `BEGIN IMMEDIATE`
/// already holds the database's single write lock.
pub(crate) fn lock_ciphertext(
    conn: &mut DbConn,
    team_id: TeamId,
    id: OAuthAppId,
) -> Result<Option<Ciphertext>, StoreError> {
    let (team_id, id) = (team_id.to_string(), id.to_string());
    let columns = (oauth_apps::secret_key_id, oauth_apps::secret_ciphertext);
    let found = match conn {
        DbConn::Pg(pg) => oauth_apps::table
            .filter(oauth_apps::id.eq(&id))
            .filter(oauth_apps::team_id.eq(&team_id))
            .select(columns)
            .for_update()
            .get_result::<(String, Vec<u8>)>(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => oauth_apps::table
            .filter(oauth_apps::id.eq(&id))
            .filter(oauth_apps::team_id.eq(&team_id))
            .select(columns)
            .get_result::<(String, Vec<u8>)>(sqlite)
            .optional(),
    };
    Ok(found
        .map_err(db_error)?
        .map(|(key_id, bytes)| Ciphertext { key_id, bytes }))
}

/// Key rotation: replaces only the sealed client secret of the team's app (the version and
/// `updated_at` stay: the secret is the same).
pub(crate) fn replace_ciphertext(
    conn: &mut DbConn,
    team_id: TeamId,
    id: OAuthAppId,
    ciphertext: &Ciphertext,
) -> Result<usize, StoreError> {
    diesel::update(
        oauth_apps::table
            .filter(oauth_apps::id.eq(id.to_string()))
            .filter(oauth_apps::team_id.eq(team_id.to_string())),
    )
    .set((
        oauth_apps::secret_key_id.eq(ciphertext.key_id.as_str()),
        oauth_apps::secret_ciphertext.eq(ciphertext.bytes.as_slice()),
    ))
    .execute(conn)
    .map_err(db_error)
}
