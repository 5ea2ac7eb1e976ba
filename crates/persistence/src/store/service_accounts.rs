//! Service accounts, their client credentials and the access tokens exchanged for them.

use chrono::{DateTime, Utc};
use credvault_domain::ids::{ClientCredentialId, PrincipalId, ServiceAccountId, TeamId};
use credvault_domain::patch::Patch;
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::service_account::{ClientCredential, ServiceAccount};

use crate::error::StoreError;
use crate::store::{Store, now};
use crate::types::{ClientCredentialAuth, Page, PageRequest};
use crate::{backend, repo};

impl Store {
    /// Creates a service account, its principal and its membership with `role`.
    pub fn create_service_account(
        &self,
        team_id: TeamId,
        name: &str,
        description: Option<&str>,
        role: Role,
    ) -> Result<ServiceAccount, StoreError> {
        let now = now();
        let account = ServiceAccount {
            id: ServiceAccountId::new(),
            team_id,
            principal_id: PrincipalId::new(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            role,
            created_at: now,
            updated_at: now,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::principals::insert_with_membership(
                conn,
                team_id,
                account.principal_id,
                PrincipalKind::ServiceAccount,
                role,
                now,
            )?;
            repo::service_accounts::insert(conn, &account)
        })?;
        Ok(account)
    }

    /// A page of the team's service accounts.
    pub fn list_service_accounts(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<ServiceAccount>, StoreError> {
        repo::service_accounts::list_in_team(&mut *self.conn()?, team_id, page)
    }

    /// One service account of the team.
    pub fn find_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<Option<ServiceAccount>, StoreError> {
        repo::service_accounts::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// Updates name and/or description (`Patch::Null` clears the description). `NotFound` when absent.
    ///
    /// Only the sent fields are written, in one statement, so concurrent updates of different
    /// fields all survive on both backends; the account is then read back in the same transaction.
    pub fn update_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ServiceAccount, StoreError> {
        let updated_at = now();
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let written = repo::service_accounts::update_in_team(
                conn,
                team_id,
                id,
                name,
                description,
                updated_at,
            )?;
            if written == 0 {
                return Err(StoreError::NotFound);
            }
            repo::service_accounts::find_in_team(conn, team_id, id)?.ok_or(StoreError::NotFound)
        })
    }

    /// Deletes the account, its principal, membership, client credentials, tokens and grants of
    /// use.
    pub fn delete_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let account = repo::service_accounts::find_in_team(conn, team_id, id)?
                .ok_or(StoreError::NotFound)?;
            // Children first, explicitly: the cascades are a second line, not the plan.
            repo::client_credentials::delete_all_of_account(conn, account.id)?;
            repo::grants::delete_all_of_account(conn, team_id, account.id)?;
            repo::service_accounts::delete_in_team(conn, team_id, id)?;
            repo::principals::delete(conn, account.principal_id)
        })
    }

    /// Adds a client credential to an account of the team; `NotFound` when the account is absent.
    pub fn create_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        name: &str,
        description: Option<&str>,
        client_id: &str,
        secret_hash: &str,
    ) -> Result<ClientCredential, StoreError> {
        let credential = ClientCredential {
            id: ClientCredentialId::new(),
            service_account_id,
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_at: now(),
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::service_accounts::find_in_team(conn, team_id, service_account_id)?
                .ok_or(StoreError::NotFound)?;
            repo::client_credentials::insert(conn, &credential, secret_hash)
        })?;
        Ok(credential)
    }

    /// A page of an account's client credentials.
    pub fn list_client_credentials(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        page: PageRequest,
    ) -> Result<Page<ClientCredential>, StoreError> {
        repo::client_credentials::list_in_team(
            &mut *self.conn()?,
            team_id,
            service_account_id,
            page,
        )
    }

    /// One client credential of an account of the team.
    pub fn find_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<Option<ClientCredential>, StoreError> {
        repo::client_credentials::find_in_team(&mut *self.conn()?, team_id, service_account_id, id)
    }

    /// Updates name and/or description. `NotFound` when absent.
    ///
    /// Only the sent fields are written, in one statement, so concurrent updates of different
    /// fields all survive on both backends; the credential is then read back in the same
    /// transaction.
    pub fn update_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ClientCredential, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::client_credentials::update_in_team(
                conn,
                team_id,
                service_account_id,
                id,
                name,
                description,
            )?;
            repo::client_credentials::find_in_team(conn, team_id, service_account_id, id)?
                .ok_or(StoreError::NotFound)
        })
    }

    /// Deletes a client credential and every token issued through it.
    pub fn delete_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            match repo::client_credentials::delete_in_team(conn, team_id, service_account_id, id)? {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
    }

    /// Looks a client credential up by its public client id (for the token endpoint).
    pub fn find_client_credential_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientCredentialAuth>, StoreError> {
        repo::client_credentials::find_by_client_id(&mut *self.conn()?, client_id)
    }

    /// Records a successful exchange: sets `last_used_at` and stores an access token hash that
    /// expires at `expires_at` and dies with the client credential.
    ///
    /// On the way it deletes a bounded batch of access tokens that expired by `now`, so a client
    /// that keeps asking for tokens cannot grow the table beyond what is still valid.
    pub fn issue_access_token(
        &self,
        client_credential_id: ClientCredentialId,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let principal_id = repo::client_credentials::principal_of(conn, client_credential_id)?
                .ok_or(StoreError::NotFound)?;
            repo::principals::purge_expired_access_tokens(conn, now)?;
            repo::client_credentials::set_last_used(conn, client_credential_id, now)?;
            repo::principals::insert_access_token(
                conn,
                token_hash,
                principal_id,
                client_credential_id,
                now,
                expires_at,
            )
        })
    }
}
