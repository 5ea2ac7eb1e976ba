//! Key rotation: every stored ciphertext moves to the active master key, one batch (one
//! transaction) at a time, through the secret bridge.

use credvault_crypto::{CryptoError, KeyRing};
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_persistence::{ReencryptBatch, Store, StoreError, UpdateError};

/// Why a batch was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// One credential's ciphertext could not be resealed (its key is not configured, or it does
    /// not open under its team and id).
    #[error("credential {credential_id} of team {team_id}: {source}")]
    Reseal {
        /// The credential's team.
        team_id: TeamId,
        /// The credential.
        credential_id: CredentialId,
        /// Why.
        source: CryptoError,
    },
}

/// Reseals the next `limit` ciphertexts after `after` (id order) that are not under the active
/// key of `key_ring`, in one transaction; see `Store::reencrypt_batch`.
pub fn reencrypt_batch(
    store: &Store,
    key_ring: &KeyRing,
    after: Option<CredentialId>,
    limit: u32,
) -> Result<ReencryptBatch, RotationError> {
    let active = key_ring.active_key_id().to_string();
    store
        .reencrypt_batch(&active, after, limit, |team_id, credential_id, old| {
            crate::secrets::reseal(key_ring, team_id, credential_id, old).map_err(|source| {
                RotationError::Reseal {
                    team_id,
                    credential_id,
                    source,
                }
            })
        })
        .map_err(|error| match error {
            UpdateError::Store(error) => RotationError::Store(error),
            UpdateError::Rejected(error) => error,
        })
}
