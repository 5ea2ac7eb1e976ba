//! The secret bridge: a credential's [`SecretMap`] sealed into the store's [`Ciphertext`] and
//! back, bound to its team and id (the AAD), so a ciphertext copied to another row never opens.
//!
//! Every caller that turns plaintext into stored bytes or back goes through here: the use cases
//! of this crate and `credvault keys rotate`.

use credvault_crypto::{Aad, CryptoError, KeyRing, Sealed};
use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};
use credvault_domain::oauth_app::CLIENT_SECRET_NAME;
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_persistence::{Ciphertext, StoredCredential, StoredOAuthApp};

/// Seals `secrets` of credential `credential_id` of team `team_id` under the active key;
/// `None` when there are none (a credential without secrets stores no ciphertext).
pub fn seal(
    key_ring: &KeyRing,
    team_id: TeamId,
    credential_id: CredentialId,
    secrets: &SecretMap,
) -> Result<Option<Ciphertext>, CryptoError> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let sealed = key_ring.seal(secrets, &Aad::new(team_id, credential_id))?;
    Ok(Some(to_ciphertext(&sealed)))
}

/// Opens a stored credential's secrets (an empty map when it has none).
pub fn open(key_ring: &KeyRing, stored: &StoredCredential) -> Result<SecretMap, CryptoError> {
    let Some(ciphertext) = &stored.ciphertext else {
        return Ok(SecretMap::new());
    };
    let sealed = Sealed::from_bytes(&ciphertext.bytes)?;
    let aad = Aad::new(stored.credential.team_id, stored.credential.id);
    key_ring.open(&sealed, &aad)
}

/// The ciphertext of credential `credential_id` of team `team_id` under the active key: resealed
/// when it is under another one, the same bytes when it is already under the active key.
/// [`CryptoError::UnknownKeyId`] when its key is not configured.
pub fn reseal(
    key_ring: &KeyRing,
    team_id: TeamId,
    credential_id: CredentialId,
    ciphertext: &Ciphertext,
) -> Result<Ciphertext, CryptoError> {
    let sealed = Sealed::from_bytes(&ciphertext.bytes)?;
    let aad = Aad::new(team_id, credential_id);
    let resealed = key_ring.reseal(&sealed, &aad)?.unwrap_or(sealed);
    Ok(to_ciphertext(&resealed))
}

/// Seals the client secret of OAuth app `app_id` of team `team_id` under the active key, bound
/// to the app ([`Aad::for_oauth_app`]): it never opens as a credential's secrets, nor as
/// another app's.
pub fn seal_client_secret(
    key_ring: &KeyRing,
    team_id: TeamId,
    app_id: OAuthAppId,
    client_secret: &SecretValue,
) -> Result<Ciphertext, CryptoError> {
    let mut secrets = SecretMap::new();
    secrets.insert(CLIENT_SECRET_NAME.to_owned(), client_secret.clone());
    let sealed = key_ring.seal(&secrets, &Aad::for_oauth_app(team_id, app_id))?;
    Ok(to_ciphertext(&sealed))
}

/// Opens a stored OAuth app's client secret.
pub fn open_client_secret(
    key_ring: &KeyRing,
    stored: &StoredOAuthApp,
) -> Result<SecretValue, CryptoError> {
    let sealed = Sealed::from_bytes(&stored.ciphertext.bytes)?;
    let aad = Aad::for_oauth_app(stored.app.team_id, stored.app.id);
    let mut secrets = key_ring.open(&sealed, &aad)?;
    secrets
        .remove(CLIENT_SECRET_NAME)
        .ok_or(CryptoError::MalformedCiphertext(
            "sealed OAuth app secrets opened but hold no client secret",
        ))
}

fn to_ciphertext(sealed: &Sealed) -> Ciphertext {
    Ciphertext {
        key_id: sealed.key_id().to_string(),
        bytes: sealed.to_bytes(),
    }
}
