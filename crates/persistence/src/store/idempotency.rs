//! `Idempotency-Key` records: claiming a key, completing it in the write it records, releasing it.

use chrono::{DateTime, Utc};
use credvault_domain::credential::Credential;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::time::to_micros;
use uuid::Uuid;

use crate::Store;
use crate::constraint;
use crate::error::{StoreError, UpdateError};
use crate::store::credentials::{created_rows, decide_and_write};
use crate::types::{
    Backend, Ciphertext, CredentialChange, IDEMPOTENCY_CLAIM_TIMEOUT, IDEMPOTENCY_RETENTION,
    IdempotencyClaim, IdempotencyRecord, Reservation, StoredCredential, StoredResponse,
};
use crate::{backend, repo, rows};

impl Store {
    /// The record for this principal and key, if claimed within [`IDEMPOTENCY_RETENTION`] of
    /// `now`, without claiming anything (a dry run's check).
    ///
    /// An older record is deleted, so that the key can be claimed again.
    pub fn find_idempotency(
        &self,
        principal_id: PrincipalId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let mut conn = self.conn()?;
        let Some(record) = repo::idempotency::find(&mut conn, principal_id, key)? else {
            return Ok(None);
        };
        let cutoff = now - IDEMPOTENCY_RETENTION;
        if record.created_at > cutoff {
            return Ok(Some(record));
        }
        repo::idempotency::delete_if_older(&mut conn, principal_id, key, cutoff)?;
        Ok(None)
    }

    /// Claims `key` for the principal's request with this fingerprint, before the request runs;
    /// or returns the record of the request that holds it.
    ///
    /// The insert of the claim is what decides between concurrent requests, on one instance or
    /// many: the primary key `(principal_id, key)` admits one. A record older than
    /// [`IDEMPOTENCY_RETENTION`], or a claim still in progress after
    /// [`IDEMPOTENCY_CLAIM_TIMEOUT`], no longer holds the key. Records of any principal older
    /// than [`IDEMPOTENCY_RETENTION`] are deleted on the way.
    ///
    /// The claim is committed at once, so that every instance sees it. Its holder then either
    /// writes with [`Store::insert_credential_completing`] or
    /// [`Store::update_credential_completing`], which store the response in the same
    /// transaction, or gives the key back with [`Store::release_idempotency`].
    pub fn reserve_idempotency(
        &self,
        principal_id: PrincipalId,
        key: &str,
        fingerprint: &str,
        fingerprint_key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let now = to_micros(now);
        let claim = IdempotencyClaim {
            principal_id,
            key: key.to_owned(),
            token: Uuid::new_v4().to_string(),
        };
        let row = rows::IdempotencyRow::claimed(&claim, fingerprint, fingerprint_key_id, now);
        let mut conn = self.conn()?;
        repo::idempotency::purge_older(&mut conn, now - IDEMPOTENCY_RETENTION)?;
        repo::idempotency::delete_stale_claim(
            &mut conn,
            principal_id,
            key,
            now - IDEMPOTENCY_CLAIM_TIMEOUT,
        )?;
        // Each statement commits on its own: a claim must be visible to other instances while
        // its request runs. The loop only repeats when the record that refused the insert was
        // released before it could be read.
        for _ in 0..3 {
            match repo::idempotency::insert_claim(&mut conn, &row) {
                Ok(()) => return Ok(Reservation::Claimed(claim)),
                Err(StoreError::Conflict { constraint })
                    if constraint == constraint::IDEMPOTENCY_KEY => {}
                Err(error) => return Err(error),
            }
            if let Some(record) = repo::idempotency::find(&mut conn, principal_id, key)? {
                return Ok(Reservation::Taken(record));
            }
        }
        Err(StoreError::Conflict {
            constraint: constraint::IDEMPOTENCY_KEY.to_owned(),
        })
    }

    /// Gives the key of `claim` back without a response, after its request failed, so that a
    /// corrected request may use the key. Does nothing when the claim is no longer held or was
    /// completed.
    pub fn release_idempotency(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        repo::idempotency::release(&mut *self.conn()?, claim)
    }

    /// [`Store::insert_credential`], and in the same transaction completes `claim` with
    /// `response`: the credential, its event and the record commit together or not at all.
    ///
    /// `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the claim is no longer held (it went
    /// stale and another request took the key); nothing is written then.
    pub fn insert_credential_completing(
        &self,
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
        audit: AuditNote,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        // Encode before taking the (SQLite: database-wide) write lock.
        let (row, event) = created_rows(credential, ciphertext, audit)?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::credentials::insert(conn, &row)?;
            repo::events::insert(conn, &event)?;
            repo::idempotency::complete(conn, claim, response)
        })
    }

    /// [`Store::update_credential`], and in the same transaction completes `claim` with the
    /// response `respond` renders from the credential as it is after the call (also when the closure
    /// decided `Unchanged`). The update, its event and the record commit together or not at all;
    /// when `decide` or `respond` fails, nothing is written.
    ///
    /// Unlike [`Store::update_credential`], this always runs in one transaction that locks the
    /// row first (`FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so each closure runs
    /// once. `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the claim is no longer held.
    pub fn update_credential_completing<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        expected_version: Option<i64>,
        claim: &IdempotencyClaim,
        mut decide: impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
        respond: impl FnOnce(&StoredCredential) -> Result<StoredResponse, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        // Queue behind this process's other updates of the row, as `update_credential` does.
        let _queued = match self.backend {
            Backend::Postgres => Some(self.row_locks.lock(id.as_uuid())),
            Backend::Sqlite => None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let row = backend::lock_credential(conn, team_id, id)?;
            // The row is locked: it cannot have changed since it was read.
            let stored = decide_and_write(conn, row, expected_version, &mut decide)?
                .ok_or(StoreError::NotFound)?;
            let response = respond(&stored).map_err(UpdateError::Rejected)?;
            repo::idempotency::complete(conn, claim, &response)?;
            Ok(stored)
        })
    }
}
