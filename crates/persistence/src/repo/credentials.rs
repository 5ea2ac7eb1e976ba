//! Integration credential rows, always addressed by id *and* team.

use credvault_domain::credential::Credential;
use credvault_domain::ids::{CredentialId, TeamId};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::parse;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::CredentialRow;
use crate::schema::credentials;
use crate::{Ciphertext, CredentialFilter, Page, PageRequest, StoreError, StoredCredential};

/// Inserts the row `CredentialRow::from_domain` built: the store encodes it before it takes the
/// write lock.
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
    // Every GET of a credential runs this: on the backend's own connection (see
    // `backend::read_credential`).
    crate::backend::read_credential(conn, team_id, id)
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

/// The next `limit` credentials after `after` (id order, every team) whose ciphertext is sealed
/// under another key than `active_key_id`, with their teams.
///
/// This is the one query that spans teams: key rotation is an operator's task over the whole
/// database. Each row is then locked and rewritten through its `(team_id, id)` pair.
pub(crate) fn not_on_key(
    conn: &mut DbConn,
    active_key_id: &str,
    after: Option<CredentialId>,
    limit: u32,
) -> Result<Vec<(TeamId, CredentialId)>, StoreError> {
    let mut query = credentials::table
        .filter(credentials::secret_key_id.is_not_null())
        .filter(credentials::secret_key_id.ne(active_key_id))
        .select((credentials::team_id, credentials::id))
        .order(credentials::id.asc())
        .limit(i64::from(limit.max(1)))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(credentials::id.gt(after.to_string()));
    }
    query
        .load::<(String, String)>(conn)
        .map_err(db_error)?
        .into_iter()
        .map(|(team_id, id)| {
            Ok((
                parse("credentials.team_id", &team_id)?,
                parse("credentials.id", &id)?,
            ))
        })
        .collect()
}

/// How many ciphertexts each key id protects, by key id.
pub(crate) fn count_by_key(conn: &mut DbConn) -> Result<Vec<(String, i64)>, StoreError> {
    credentials::table
        .filter(credentials::secret_key_id.is_not_null())
        .group_by(credentials::secret_key_id)
        .select((
            credentials::secret_key_id.assume_not_null(),
            diesel::dsl::count_star(),
        ))
        .order(credentials::secret_key_id.asc())
        .load(conn)
        .map_err(db_error)
}

/// Replaces only the ciphertext of the team's row (the version stays: the content is the same).
pub(crate) fn replace_ciphertext(
    conn: &mut DbConn,
    team_id: TeamId,
    id: CredentialId,
    ciphertext: &Ciphertext,
) -> Result<usize, StoreError> {
    diesel::update(
        credentials::table
            .filter(credentials::id.eq(id.to_string()))
            .filter(credentials::team_id.eq(team_id.to_string())),
    )
    .set((
        credentials::secret_key_id.eq(ciphertext.key_id.as_str()),
        credentials::secret_ciphertext.eq(ciphertext.bytes.as_slice()),
    ))
    .execute(conn)
    .map_err(db_error)
}
