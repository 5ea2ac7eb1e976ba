//! Temporary stand-in for `credvault-crypto` until its implementation is merged; same API.

use std::fmt;

use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::secret::{SecretMap, SecretValue};

/// A master key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyId(String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Opening failed.
    #[error("could not open the ciphertext")]
    Open,
}

/// Associated data: team id and credential id.
#[derive(Debug)]
pub struct Aad;

impl Aad {
    /// The associated data of one credential.
    pub fn new(_team_id: TeamId, _credential_id: CredentialId) -> Self {
        Self
    }
}

/// A sealed secret map.
#[derive(Debug)]
pub struct Sealed {
    key_id: KeyId,
    bytes: Vec<u8>,
}

impl Sealed {
    /// The key that sealed it.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
    /// The stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
    /// Parses the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed, CryptoError> {
        Ok(Self {
            key_id: KeyId("shim".to_owned()),
            bytes: bytes.to_vec(),
        })
    }
}

/// The master keys.
#[derive(Debug)]
pub struct KeyRing;

impl KeyRing {
    /// A fixed key ring for tests.
    pub fn for_testing() -> Self {
        Self
    }
    /// Seals a map.
    pub fn seal(&self, secrets: &SecretMap, _aad: &Aad) -> Result<Sealed, CryptoError> {
        Ok(Sealed {
            key_id: KeyId("shim".to_owned()),
            bytes: secrets.to_json_bytes().to_vec(),
        })
    }
    /// Opens a sealed map.
    pub fn open(&self, sealed: &Sealed, _aad: &Aad) -> Result<SecretMap, CryptoError> {
        SecretMap::from_json_bytes(&sealed.bytes).map_err(|_| CryptoError::Open)
    }
}

/// A random bearer token.
pub fn generate_token(prefix: &str) -> SecretValue {
    SecretValue::new(format!("{prefix}_{}", uuid::Uuid::new_v4().simple()))
}

/// The SHA-256 of a token.
#[derive(Debug)]
pub struct TokenHash(Vec<u8>);

impl TokenHash {
    /// Hashes a token.
    pub fn of(token: &str) -> Self {
        Self(
            ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
                .as_ref()
                .to_vec(),
        )
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
