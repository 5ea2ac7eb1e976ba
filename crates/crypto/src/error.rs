//! The one error type of the crate.
//!
//! Every message is safe to log: no variant carries plaintext or key bytes, and messages about
//! configuration name a key id or a position in the key spec, never the key itself.

use crate::key_ring::KeyId;

/// Why a cryptographic operation or the parsing of key or ciphertext input failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The sealed value names a key id that is not in the key ring, or the active key of a new
    /// ring is not among its keys.
    #[error("no master key with id '{0}' in the key ring")]
    UnknownKeyId(KeyId),
    /// Authenticated decryption failed: wrong key, wrong associated data (another team or
    /// credential) or tampered bytes.
    ///
    /// The causes are deliberately not told apart.
    #[error("cannot open sealed secrets: wrong key, wrong associated data or tampered bytes")]
    Open,
    /// Encryption failed, which in practice means the system random generator failed.
    #[error("cannot seal secrets")]
    Seal,
    /// The master key configuration is unusable; the message names the key id or entry position.
    #[error("invalid master keys: {0}")]
    BadKeyMaterial(String),
    /// A key id is empty, too long or has a character outside `A-Z a-z 0-9 _ -`.
    #[error("invalid key id: {0}")]
    BadKeyId(String),
    /// Stored bytes (a sealed value, or a token hash in hex) do not have the expected shape.
    ///
    /// The message says which part is wrong and is complete on its own.
    #[error("{0}")]
    MalformedCiphertext(&'static str),
    /// The sealed value was written in a format version this build does not read.
    #[error("unsupported sealed secrets format version {0}")]
    UnsupportedFormatVersion(u8),
}
