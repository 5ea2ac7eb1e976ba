//! Grants of use of a credential to a service account (`use_grants`), always addressed by team.
//! The record of a use is `backend::use_if_granted`: it writes the credential's row.

use credvault_domain::grant::Grant;
use credvault_domain::ids::{CredentialId, GrantId, ServiceAccountId, TeamId};
use diesel::dsl::exists;
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::rows::{CredentialRow, GrantRow};
use crate::schema::{credentials, use_grants};
use crate::{GrantFilter, StoreError, StoredCredential};

pub(crate) fn insert(conn: &mut DbConn, grant: &Grant) -> Result<(), StoreError> {
    diesel::insert_into(use_grants::table)
        .values(&GrantRow::from_domain(grant))
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// The team's grant of the credential to the service account, if there is one.
pub(crate) fn find_for_pair(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    service_account_id: ServiceAccountId,
) -> Result<Option<Grant>, StoreError> {
    use_grants::table
        .filter(use_grants::credential_id.eq(credential_id.to_string()))
        .filter(use_grants::service_account_id.eq(service_account_id.to_string()))
        .filter(use_grants::team_id.eq(team_id.to_string()))
        .select(GrantRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(GrantRow::into_domain)
        .transpose()
}

/// The team's grant `id` of the credential, if there is one.
pub(crate) fn find_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    id: GrantId,
) -> Result<Option<Grant>, StoreError> {
    use_grants::table
        .filter(use_grants::id.eq(id.to_string()))
        .filter(use_grants::team_id.eq(team_id.to_string()))
        .filter(use_grants::credential_id.eq(credential_id.to_string()))
        .select(GrantRow::as_select())
        .get_result(conn)
        .optional()
        .map_err(db_error)?
        .map(GrantRow::into_domain)
        .transpose()
}

/// The team's grants that match `filter`, in id order (UUID v7: oldest first).
pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    filter: GrantFilter,
) -> Result<Vec<Grant>, StoreError> {
    let mut query = use_grants::table
        .filter(use_grants::team_id.eq(team_id.to_string()))
        .select(GrantRow::as_select())
        .order(use_grants::id.asc())
        .into_boxed();
    if let Some(credential_id) = filter.credential_id {
        query = query.filter(use_grants::credential_id.eq(credential_id.to_string()));
    }
    if let Some(service_account_id) = filter.service_account_id {
        query = query.filter(use_grants::service_account_id.eq(service_account_id.to_string()));
    }
    query
        .load(conn)
        .map_err(db_error)?
        .into_iter()
        .map(GrantRow::into_domain)
        .collect()
}

/// Deletes the team's grant `id` of the credential; returns how many rows went (0 or 1).
pub(crate) fn delete_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    id: GrantId,
) -> Result<usize, StoreError> {
    diesel::delete(
        use_grants::table
            .filter(use_grants::id.eq(id.to_string()))
            .filter(use_grants::team_id.eq(team_id.to_string()))
            .filter(use_grants::credential_id.eq(credential_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}

/// Deletes every grant of the team's credential (before the credential itself: see
/// `backend::use_if_granted` for the order of the locks).
pub(crate) fn delete_all_of_credential(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
) -> Result<usize, StoreError> {
    diesel::delete(
        use_grants::table
            .filter(use_grants::credential_id.eq(credential_id.to_string()))
            .filter(use_grants::team_id.eq(team_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}

/// Deletes every grant the team's service account holds (the foreign key would cascade; doing it
/// explicitly does not depend on `PRAGMA foreign_keys`).
pub(crate) fn delete_all_of_account(
    conn: &mut DbConn,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
) -> Result<usize, StoreError> {
    diesel::delete(
        use_grants::table
            .filter(use_grants::service_account_id.eq(service_account_id.to_string()))
            .filter(use_grants::team_id.eq(team_id.to_string())),
    )
    .execute(conn)
    .map_err(db_error)
}

/// Whether the service account holds a grant of the team's credential.
pub(crate) fn exists_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    service_account_id: ServiceAccountId,
) -> Result<bool, StoreError> {
    diesel::select(exists(
        use_grants::table
            .filter(use_grants::credential_id.eq(credential_id.to_string()))
            .filter(use_grants::service_account_id.eq(service_account_id.to_string()))
            .filter(use_grants::team_id.eq(team_id.to_string())),
    ))
    .get_result(conn)
    .map_err(db_error)
}

/// The team's credential and whether `service_account_id` holds a grant of it, in one query
/// (`SELECT credentials.*, EXISTS (SELECT 1 FROM use_grants …) FROM credentials WHERE …`).
/// Without a service account the flag is false: the subquery then looks for an id no row has.
///
/// Run on the backend's own connection, like `backend::read_credential`: every use reads it.
pub(crate) fn find_credential_for_use(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    service_account_id: Option<ServiceAccountId>,
) -> Result<Option<(StoredCredential, bool)>, StoreError> {
    let (team_id, credential_id) = (team_id.to_string(), credential_id.to_string());
    // An empty id is never a service account's (ids are UUIDs): one statement for both cases.
    let service_account_id = service_account_id.map_or_else(String::new, |id| id.to_string());
    macro_rules! query {
        () => {
            credentials::table
                .filter(credentials::id.eq(&credential_id))
                .filter(credentials::team_id.eq(&team_id))
                .select((
                    CredentialRow::as_select(),
                    exists(
                        use_grants::table
                            .filter(use_grants::credential_id.eq(credentials::id))
                            .filter(use_grants::service_account_id.eq(&service_account_id)),
                    ),
                ))
        };
    }
    let found = match conn {
        DbConn::Pg(pg) => query!().get_result::<(CredentialRow, bool)>(pg).optional(),
        DbConn::Sqlite(sqlite) => query!()
            .get_result::<(CredentialRow, bool)>(sqlite)
            .optional(),
    };
    found
        .map_err(db_error)?
        .map(|(row, granted)| {
            let stored = crate::backend::with_oauth_app(conn, row.into_domain()?)?;
            Ok((stored, granted))
        })
        .transpose()
}
