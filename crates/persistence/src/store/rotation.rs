//! Key rotation: counting ciphertexts per master key and re-encrypting them in batches, the
//! credentials' secrets and the OAuth apps' client secrets alike.

use std::collections::BTreeMap;

use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};

use crate::error::{StoreError, UpdateError};
use crate::store::Store;
use crate::types::{Ciphertext, ReencryptBatch};
use crate::{backend, conn, repo};

impl Store {
    /// How many stored ciphertexts each master key id protects (credentials' secrets and OAuth
    /// apps' client secrets together), in key id order. A key that protects none may be dropped
    /// from the configuration.
    pub fn ciphertext_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut conn = self.conn()?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let credentials = repo::credentials::count_by_key(&mut conn)?;
        let apps = repo::oauth_apps::count_by_key(&mut conn)?;
        for (key_id, count) in credentials.into_iter().chain(apps) {
            *counts.entry(key_id).or_default() += count;
        }
        Ok(counts.into_iter().collect())
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
            reseal_candidates(
                conn,
                &candidates,
                limit,
                |conn, team_id, id| {
                    Ok(backend::lock_credential(conn, team_id, id)?
                        .and_then(|stored| stored.ciphertext))
                },
                |team_id, id, old| {
                    if old.key_id == active_key_id {
                        return Ok(None);
                    }
                    reseal(team_id, id, old).map(Some)
                },
                repo::credentials::replace_ciphertext,
            )
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

    /// Re-encrypts one batch of OAuth apps' client secrets to `active_key_id`, in one
    /// transaction, as [`Store::reencrypt_batch`] does credentials: the next `limit` apps after
    /// `after` (id order) under another key, each row locked and checked again under the lock
    /// (a PATCH that replaced the secret meanwhile is not undone), rewritten with what `reseal`
    /// returns, the version unchanged.
    pub fn reencrypt_oauth_app_batch<E>(
        &self,
        active_key_id: &str,
        after: Option<OAuthAppId>,
        limit: u32,
        reseal: impl FnMut(TeamId, OAuthAppId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch<OAuthAppId>, UpdateError<E>> {
        self.reencrypt_oauth_app_batch_with(active_key_id, after, limit, reseal, |_, _| Ok(()))
    }

    /// [`Store::reencrypt_oauth_app_batch`], with `between` run on the transaction's connection
    /// after the candidates are selected and before any of them is locked (a seam for tests).
    fn reencrypt_oauth_app_batch_with<E>(
        &self,
        active_key_id: &str,
        after: Option<OAuthAppId>,
        limit: u32,
        mut reseal: impl FnMut(TeamId, OAuthAppId, &Ciphertext) -> Result<Ciphertext, E>,
        mut between: impl FnMut(&mut conn::DbConn, &[(TeamId, OAuthAppId)]) -> Result<(), StoreError>,
    ) -> Result<ReencryptBatch<OAuthAppId>, UpdateError<E>> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let candidates = repo::oauth_apps::not_on_key(conn, active_key_id, after, limit)?;
            between(conn, &candidates)?;
            reseal_candidates(
                conn,
                &candidates,
                limit,
                repo::oauth_apps::lock_ciphertext,
                |team_id, id, old| {
                    if old.key_id == active_key_id {
                        return Ok(None);
                    }
                    reseal(team_id, id, old).map(Some)
                },
                repo::oauth_apps::replace_ciphertext,
            )
        })
    }

    /// [`Store::reencrypt_oauth_app_batch`] as it runs when every candidate it selects is deleted
    /// by another writer before it can lock them (deleted between the select and the locks, in
    /// the batch's own transaction).
    #[cfg(feature = "testing")]
    pub fn reencrypt_oauth_app_batch_losing_every_candidate<E>(
        &self,
        active_key_id: &str,
        after: Option<OAuthAppId>,
        limit: u32,
        reseal: impl FnMut(TeamId, OAuthAppId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch<OAuthAppId>, UpdateError<E>> {
        self.reencrypt_oauth_app_batch_with(
            active_key_id,
            after,
            limit,
            reseal,
            |conn, candidates| {
                for &(team_id, id) in candidates {
                    repo::oauth_apps::delete_in_team(conn, team_id, id)?;
                }
                Ok(())
            },
        )
    }

    /// [`Store::reencrypt_oauth_app_batch`] as it runs when a PATCH replaces the client secret
    /// of every candidate (with `replacement`, as sealed by the PATCH) between the select and
    /// the locks, in the batch's own transaction, so the race is the same on both backends.
    #[cfg(feature = "testing")]
    pub fn reencrypt_oauth_app_batch_racing_a_new_secret<E>(
        &self,
        active_key_id: &str,
        after: Option<OAuthAppId>,
        limit: u32,
        replacement: &Ciphertext,
        reseal: impl FnMut(TeamId, OAuthAppId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch<OAuthAppId>, UpdateError<E>> {
        self.reencrypt_oauth_app_batch_with(
            active_key_id,
            after,
            limit,
            reseal,
            |conn, candidates| {
                for &(team_id, id) in candidates {
                    repo::oauth_apps::replace_ciphertext(conn, team_id, id, replacement)?;
                }
                Ok(())
            },
        )
    }
}

/// Locks and reseals the `candidates` of one batch of `limit`, in the caller's transaction;
/// returns how many rows were rewritten and the cursor for the next batch.
///
/// `lock` reads a row's ciphertext under its lock (`None`: the row is gone); `reseal` decides
/// again on what the lock returned (`None`: already on the active key, left alone) and `replace`
/// writes its result.
fn reseal_candidates<Id: Copy, E>(
    conn: &mut conn::DbConn,
    candidates: &[(TeamId, Id)],
    limit: u32,
    mut lock: impl FnMut(&mut conn::DbConn, TeamId, Id) -> Result<Option<Ciphertext>, StoreError>,
    mut reseal: impl FnMut(TeamId, Id, &Ciphertext) -> Result<Option<Ciphertext>, E>,
    mut replace: impl FnMut(&mut conn::DbConn, TeamId, Id, &Ciphertext) -> Result<usize, StoreError>,
) -> Result<ReencryptBatch<Id>, UpdateError<E>> {
    // The cursor comes from the candidates, not from the rows still there once locked: a full
    // batch whose rows were all deleted meanwhile must not end the rotation.
    let full = candidates.len() >= usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
    let next_after = match candidates.last() {
        Some(&(_, id)) if full => Some(id),
        _ => None,
    };
    let mut batch = ReencryptBatch {
        reencrypted: 0,
        next_after,
    };
    for &(team_id, id) in candidates {
        let Some(stored) = lock(conn, team_id, id)? else {
            continue;
        };
        let Some(resealed) = reseal(team_id, id, &stored).map_err(UpdateError::Rejected)? else {
            continue;
        };
        replace(conn, team_id, id, &resealed)?;
        batch.reencrypted += 1;
    }
    Ok(batch)
}
