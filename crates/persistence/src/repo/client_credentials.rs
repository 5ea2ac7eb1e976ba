//! Client credentials of service accounts. A client credential has no team column of its own;
//! every statement reaches the team through its account (a join or a sub-select).

use chrono::{DateTime, Utc};
use credvault_domain::ids::{ClientCredentialId, PrincipalId, ServiceAccountId, TeamId};
use credvault_domain::patch::Patch;
use credvault_domain::service_account::ClientCredential;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::convert::{db_time, parse};
use crate::error::db_error;
use crate::repo::service_accounts::sent_description;
use crate::repo::{fetch_limit, into_page};
use crate::rows::ClientCredentialRow;
use crate::schema::{api_tokens, client_credentials, service_accounts};
use crate::{ClientCredentialAuth, Page, PageRequest, StoreError};

/// Inserts a client credential whose secret hashes to `secret_hash` (hex SHA-256).
pub(crate) fn insert(
    conn: &mut DbConn,
    credential: &ClientCredential,
    secret_hash: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(client_credentials::table)
        .values(&ClientCredentialRow::from_domain(credential, secret_hash))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
    id: ClientCredentialId,
) -> Result<Option<ClientCredential>, StoreError> {
    client_credentials::table
        .inner_join(
            service_accounts::table
                .on(service_accounts::id.eq(client_credentials::service_account_id)),
        )
        .filter(client_credentials::id.eq(id.to_string()))
        .filter(client_credentials::service_account_id.eq(service_account_id.to_string()))
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(ClientCredentialRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(ClientCredentialRow::into_domain)
        .transpose()
}

pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
    page: PageRequest,
) -> Result<Page<ClientCredential>, StoreError> {
    let mut query = client_credentials::table
        .inner_join(
            service_accounts::table
                .on(service_accounts::id.eq(client_credentials::service_account_id)),
        )
        .filter(client_credentials::service_account_id.eq(service_account_id.to_string()))
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(ClientCredentialRow::as_select())
        .order(client_credentials::id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(client_credentials::id.gt(after.to_string()));
    }
    let rows = query.load(conn).map_err(db_error)?;
    into_page(rows, page, ClientCredentialRow::into_domain, |credential| {
        *credential.id.as_uuid()
    })
}

/// The columns a PATCH of a client credential writes: only the fields it sent (see
/// `service_accounts::update_in_team` for why).
#[derive(AsChangeset)]
#[diesel(table_name = client_credentials)]
struct ClientCredentialChangeset<'a> {
    /// `None` keeps the stored name.
    name: Option<&'a str>,
    /// `None` keeps the stored description, `Some(None)` clears it.
    description: Option<Option<&'a str>>,
}

/// Sets the sent name and description of a client credential of the team's account (absent
/// fields keep their stored value); returns the rows changed. A patch that sends neither writes
/// nothing and returns 0.
pub(crate) fn update_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
    id: ClientCredentialId,
    name: Option<&str>,
    description: &Patch<String>,
) -> Result<usize, StoreError> {
    let changeset = ClientCredentialChangeset {
        name,
        description: sent_description(description),
    };
    if changeset.name.is_none() && changeset.description.is_none() {
        return Ok(0);
    }
    let accounts_of_team = service_accounts::table
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(service_accounts::id);
    diesel::update(
        client_credentials::table
            .filter(client_credentials::id.eq(id.to_string()))
            .filter(client_credentials::service_account_id.eq(service_account_id.to_string()))
            .filter(client_credentials::service_account_id.eq_any(accounts_of_team)),
    )
    .set(&changeset)
    .execute(conn)
    .map_err(db_error)
}

/// Deletes a client credential of the team's account and the tokens issued through it; returns
/// how many client credentials went (0 or 1).
pub(crate) fn delete_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
    id: ClientCredentialId,
) -> Result<usize, StoreError> {
    let accounts_of_team = service_accounts::table
        .filter(service_accounts::team_id.eq(team_id.to_string()))
        .select(service_accounts::id);
    let deleted = diesel::delete(
        client_credentials::table
            .filter(client_credentials::id.eq(id.to_string()))
            .filter(client_credentials::service_account_id.eq(service_account_id.to_string()))
            .filter(client_credentials::service_account_id.eq_any(accounts_of_team)),
    )
    .execute(conn)
    .map_err(db_error)?;
    if deleted > 0 {
        delete_tokens_of(conn, id)?;
    }
    Ok(deleted)
}

/// Deletes the tokens issued through a client credential (the foreign key would cascade; doing
/// it explicitly does not depend on `PRAGMA foreign_keys`).
fn delete_tokens_of(
    conn: &mut DbConn,
    client_credential_id: ClientCredentialId,
) -> Result<(), StoreError> {
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::client_credential_id.eq(client_credential_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// Deletes every client credential of an account and their tokens.
pub(crate) fn delete_all_of_account(
    conn: &mut DbConn,
    service_account_id: ServiceAccountId,
) -> Result<(), StoreError> {
    let service_account_id = service_account_id.to_string();
    let credentials_of_account = client_credentials::table
        .filter(client_credentials::service_account_id.eq(&service_account_id))
        .select(client_credentials::id.nullable());
    diesel::delete(
        api_tokens::table.filter(api_tokens::client_credential_id.eq_any(credentials_of_account)),
    )
    .execute(conn)
    .map_err(db_error)?;
    diesel::delete(
        client_credentials::table
            .filter(client_credentials::service_account_id.eq(&service_account_id)),
    )
    .execute(conn)
    .map_err(db_error)?;
    Ok(())
}

/// The credential with this public client id, with what the token exchange needs to know.
pub(crate) fn find_by_client_id(
    conn: &mut DbConn,
    client_id: &str,
) -> Result<Option<ClientCredentialAuth>, StoreError> {
    let found = client_credentials::table
        .inner_join(
            service_accounts::table
                .on(service_accounts::id.eq(client_credentials::service_account_id)),
        )
        .filter(client_credentials::client_id.eq(client_id))
        .select((
            ClientCredentialRow::as_select(),
            service_accounts::team_id,
            service_accounts::principal_id,
        ))
        .get_result::<(ClientCredentialRow, String, String)>(conn)
        .optional()
        .map_err(db_error)?;
    let Some((mut row, team_id, principal_id)) = found else {
        return Ok(None);
    };
    let secret_hash = std::mem::take(&mut row.secret_hash);
    Ok(Some(ClientCredentialAuth {
        credential: row.into_domain()?,
        team_id: parse("service_accounts.team_id", &team_id)?,
        principal_id: parse("service_accounts.principal_id", &principal_id)?,
        secret_hash,
    }))
}

/// The principal of the account a client credential belongs to.
pub(crate) fn principal_of(
    conn: &mut DbConn,
    id: ClientCredentialId,
) -> Result<Option<PrincipalId>, StoreError> {
    client_credentials::table
        .inner_join(
            service_accounts::table
                .on(service_accounts::id.eq(client_credentials::service_account_id)),
        )
        .filter(client_credentials::id.eq(id.to_string()))
        .select(service_accounts::principal_id)
        .get_result::<String>(conn)
        .optional()
        .map_err(db_error)?
        .map(|principal_id| parse("service_accounts.principal_id", &principal_id))
        .transpose()
}

/// Records that the client credential was exchanged for a token at `at`.
pub(crate) fn set_last_used(
    conn: &mut DbConn,
    id: ClientCredentialId,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    diesel::update(client_credentials::table.filter(client_credentials::id.eq(id.to_string())))
        .set(client_credentials::last_used_at.eq(db_time(at)))
        .execute(conn)
        .map_err(db_error)
}
