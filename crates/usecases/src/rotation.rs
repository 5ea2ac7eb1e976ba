//! Key rotation: every stored ciphertext moves to the active master key, one batch (one
//! transaction) at a time, through the secret bridge: the credentials' secrets
//! ([`reencrypt_batch`]) and the OAuth apps' client secrets ([`reencrypt_oauth_app_batch`]).

use credvault_crypto::{Aad, CryptoError, KeyRing, Sealed};
use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};
use credvault_persistence::{Ciphertext, ReencryptBatch, Store, StoreError, UpdateError};

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
    /// One OAuth app's client secret could not be resealed (its key is not configured, or it
    /// does not open under its team and app).
    #[error("OAuth app {app_id} of team {team_id}: {source}")]
    ResealOAuthApp {
        /// The app's team.
        team_id: TeamId,
        /// The app.
        app_id: OAuthAppId,
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

/// Reseals the client secrets of the next `limit` OAuth apps after `after` (id order) that are
/// not under the active key of `key_ring`, in one transaction, each bound to its app
/// ([`Aad::for_oauth_app`]); see `Store::reencrypt_oauth_app_batch`.
pub fn reencrypt_oauth_app_batch(
    store: &Store,
    key_ring: &KeyRing,
    after: Option<OAuthAppId>,
    limit: u32,
) -> Result<ReencryptBatch<OAuthAppId>, RotationError> {
    let active = key_ring.active_key_id().to_string();
    store
        .reencrypt_oauth_app_batch(&active, after, limit, |team_id, app_id, old| {
            reseal_client_secret(key_ring, team_id, app_id, old).map_err(|source| {
                RotationError::ResealOAuthApp {
                    team_id,
                    app_id,
                    source,
                }
            })
        })
        .map_err(|error| match error {
            UpdateError::Store(error) => RotationError::Store(error),
            UpdateError::Rejected(error) => error,
        })
}

/// The client secret of app `app_id` of team `team_id` under the active key: resealed when it
/// is under another one, the same bytes when it is already under the active key.
fn reseal_client_secret(
    key_ring: &KeyRing,
    team_id: TeamId,
    app_id: OAuthAppId,
    ciphertext: &Ciphertext,
) -> Result<Ciphertext, CryptoError> {
    let sealed = Sealed::from_bytes(&ciphertext.bytes)?;
    let aad = Aad::for_oauth_app(team_id, app_id);
    let resealed = key_ring.reseal(&sealed, &aad)?.unwrap_or(sealed);
    Ok(Ciphertext {
        key_id: resealed.key_id().to_string(),
        bytes: resealed.to_bytes(),
    })
}
