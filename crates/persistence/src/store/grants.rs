//! Grants of *use* of a credential to a service account, and the record of each use (SPEC §10).
//!
//! Every grant and revocation appends a `use_granted` / `use_revoked` event to the credential's
//! trail, in the same transaction; every use appends a `used` event and sets the credential's
//! `last_used` without a new version (server-owned state, like `health`), only while the grant
//! still exists, so a grant revoked on one instance stops uses on every other at once.

use credvault_domain::edit::AuditNote;
use credvault_domain::grant::Grant;
use credvault_domain::ids::{CredentialId, EventId, GrantId, ServiceAccountId, TeamId};
use credvault_domain::time::to_micros;

use crate::conn::DbConn;
use crate::convert::db_time;
use crate::error::StoreError;
use crate::rows::AuditEventRow;
use crate::store::{Store, now};
use crate::types::{Backend, GrantFilter, StoredCredential, UseOutcome};
use crate::{backend, repo};

impl Store {
    /// Stores `grant` and appends the `use_granted` event of `audit` (stamped with the grant's
    /// `created_at`) to its credential's trail. When the service account already holds a grant
    /// of the credential, returns that one and writes nothing; the flag says whether `grant` was
    /// stored. `NotFound` when the team has no such credential or no such service account.
    ///
    /// One write transaction, under the credential's row lock (so its event is in the trail's
    /// commit order, and two grants of one pair at once store one).
    pub fn create_grant(
        &self,
        grant: &Grant,
        audit: AuditNote,
    ) -> Result<(Grant, bool), StoreError> {
        // What is stored, and so what a later read returns: `created_at` at µs.
        let grant = Grant {
            created_at: to_micros(grant.created_at),
            ..grant.clone()
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            if !backend::lock_credential_id(conn, grant.team_id, grant.credential_id)? {
                return Err(StoreError::NotFound);
            }
            if repo::service_accounts::find_in_team(conn, grant.team_id, grant.service_account_id)?
                .is_none()
            {
                return Err(StoreError::NotFound);
            }
            if let Some(existing) = repo::grants::find_for_pair(
                conn,
                grant.team_id,
                grant.credential_id,
                grant.service_account_id,
            )? {
                return Ok((existing, false));
            }
            repo::grants::insert(conn, &grant)?;
            let event = audit.into_event(
                EventId::new(),
                grant.team_id,
                grant.credential_id,
                grant.created_at,
            );
            repo::events::insert(conn, &event)?;
            Ok((grant, true))
        })
    }

    /// The team's grants that match `filter`, oldest first.
    pub fn list_grants(
        &self,
        team_id: TeamId,
        filter: GrantFilter,
    ) -> Result<Vec<Grant>, StoreError> {
        repo::grants::list_in_team(&mut *self.conn()?, team_id, filter)
    }

    /// Deletes grant `id` of credential `credential_id` of the team and appends the `use_revoked`
    /// event of `audit`; returns the grant. `NotFound` (nothing written) when the team has no
    /// such grant of that credential.
    ///
    /// One write transaction: the grant is deleted, then the credential's row locked, and the
    /// event stamped with one clock reading taken under that lock. A use that has not been
    /// recorded when the grant is deleted finds no grant, on every instance, even one already
    /// under way; one recorded before it comes first in the trail.
    pub fn revoke_grant(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        id: GrantId,
        audit: AuditNote,
    ) -> Result<Grant, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let grant = repo::grants::find_in_team(conn, team_id, credential_id, id)?
                .ok_or(StoreError::NotFound)?;
            // The grant's row first, then the credential's: the order a use takes them in (see
            // `backend::use_if_granted`).
            if repo::grants::delete_in_team(conn, team_id, credential_id, id)? == 0
                || !backend::lock_credential_id(conn, team_id, credential_id)?
            {
                return Err(StoreError::NotFound);
            }
            let event = audit.into_event(EventId::new(), team_id, credential_id, now());
            repo::events::insert(conn, &event)?;
            Ok(grant)
        })
    }

    /// Whether service account `service_account_id` holds a grant of use of the credential.
    pub fn holds_grant(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
    ) -> Result<bool, StoreError> {
        repo::grants::exists_in_team(
            &mut *self.conn()?,
            team_id,
            credential_id,
            service_account_id,
        )
    }

    /// The credential, for a use by `service_account_id` (`None` for a user): the row and
    /// whether that service account holds a grant of it, read together. `None` when the team
    /// has no such credential.
    ///
    /// One query: the row and an `EXISTS` over the grants.
    pub fn find_credential_for_use(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: Option<ServiceAccountId>,
    ) -> Result<Option<(StoredCredential, bool)>, StoreError> {
        repo::grants::find_credential_for_use(
            &mut *self.conn()?,
            team_id,
            credential_id,
            service_account_id,
        )
    }

    /// Records a use of the credential by `service_account_id`: sets its `last_used` (`at` and
    /// the actor of `audit`) and appends the `used` event of `audit`, both stamped with one new
    /// instant, in one atomic write and only if the grant still exists: otherwise nothing is
    /// written and the answer is [`UseOutcome::NotGranted`]. `version`, `updated_at` and
    /// `modified_by` stay. `NotFound` when the team has no such credential (any more).
    ///
    /// PostgreSQL: one statement, no transaction (see `backend::use_if_granted`). SQLite: one
    /// write transaction, stamped under its lock. When nothing was written, a second query tells
    /// `NotFound` from `NotGranted`.
    pub fn record_use(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
        audit: AuditNote,
    ) -> Result<UseOutcome, StoreError> {
        let team = team_id.to_string();
        let credential = credential_id.to_string();
        let service_account = service_account_id.to_string();
        let actor = audit.actor.id.to_string();
        let write = |conn: &mut DbConn| {
            let at = now();
            let row = backend::UseRow {
                team_id: &team,
                credential_id: &credential,
                service_account_id: &service_account,
                last_used_at: db_time(at),
                last_used_by: &actor,
            };
            let event = AuditEventRow::from_domain(&audit.into_event(
                EventId::new(),
                team_id,
                credential_id,
                at,
            ))?;
            if backend::use_if_granted(conn, &row, &event)? {
                return Ok(UseOutcome::Recorded(at));
            }
            if repo::test_outcomes::exists_in_team(conn, team_id, credential_id)? {
                Ok(UseOutcome::NotGranted)
            } else {
                Err(StoreError::NotFound)
            }
        };
        let mut conn = self.conn()?;
        match self.backend {
            Backend::Postgres => write(&mut conn),
            Backend::Sqlite => backend::write_transaction(&mut conn, write),
        }
    }
}
