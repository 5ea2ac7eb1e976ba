//! Key rotation: counting ciphertexts per master key and re-encrypting them in batches.

use credvault_domain::ids::{CredentialId, TeamId};

use crate::error::{StoreError, UpdateError};
use crate::store::Store;
use crate::types::{Ciphertext, ReencryptBatch};
use crate::{backend, conn, repo};

impl Store {
    /// How many stored ciphertexts each master key id protects. A key that protects none may be
    /// dropped from the configuration.
    pub fn ciphertext_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        repo::credentials::count_by_key(&mut *self.conn()?)
    }

    /// Re-encrypts one batch of credentials to `active_key_id`, in one transaction.
    ///
    /// Takes the next `limit` credentials after `after` (id order) whose ciphertext is under
    /// another key, locks each row (so a concurrent PATCH either finished before or waits), checks
    /// again under the lock, and writes what `reseal` returns. The version does not change: the
    /// secrets are the same. Safe to interrupt and rerun; rows already on the active key are
    /// skipped. Returns how many rows were rewritten and the cursor for the next batch (`None`
    /// when none is left).
    pub fn reencrypt_batch<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        self.reencrypt_batch_with(active_key_id, after, limit, reseal, |_, _| Ok(()))
    }

    /// [`Store::reencrypt_batch`], with `between` run on the transaction's connection after the
    /// candidates are selected and before any of them is locked (a seam for tests).
    fn reencrypt_batch_with<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        mut reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
        mut between: impl FnMut(&mut conn::DbConn, &[(TeamId, CredentialId)]) -> Result<(), StoreError>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let candidates = repo::credentials::not_on_key(conn, active_key_id, after, limit)?;
            between(conn, &candidates)?;
            // The cursor comes from the candidates, not from the rows still there once locked:
            // a full batch whose rows were all deleted meanwhile must not end the rotation.
            let full = candidates.len() >= usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
            let next_after = match candidates.last() {
                Some((_, id)) if full => Some(*id),
                _ => None,
            };
            let mut batch = ReencryptBatch {
                reencrypted: 0,
                next_after,
            };
            for &(team_id, id) in &candidates {
                let Some(stored) = backend::lock_credential(conn, team_id, id)? else {
                    continue;
                };
                let Some(ciphertext) = stored.ciphertext.filter(|c| c.key_id != active_key_id)
                else {
                    continue;
                };
                let resealed = reseal(team_id, id, &ciphertext).map_err(UpdateError::Rejected)?;
                repo::credentials::replace_ciphertext(conn, team_id, id, &resealed)?;
                batch.reencrypted += 1;
            }
            Ok(batch)
        })
    }

    /// [`Store::reencrypt_batch`] as it runs when every candidate it selects is deleted by
    /// another writer before it can lock them: the candidates are deleted (with their events
    /// left alone) between the select and the locks, in the batch's own transaction, so the race
    /// is the same on both backends.
    #[cfg(feature = "testing")]
    pub fn reencrypt_batch_losing_every_candidate<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        self.reencrypt_batch_with(active_key_id, after, limit, reseal, |conn, candidates| {
            for &(team_id, id) in candidates {
                repo::credentials::delete_in_team(conn, team_id, id)?;
            }
            Ok(())
        })
    }
}
