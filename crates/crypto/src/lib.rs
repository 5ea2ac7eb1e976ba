//! Encryption of credential secrets, master key rings and token hashing for credvault.
#![doc = include_str!("../README.md")]

pub mod error;
pub mod fingerprint;
pub mod key_ring;
pub mod pkce;
pub mod sealed;
pub mod token;

pub use crate::error::CryptoError;
pub use crate::fingerprint::Fingerprint;
pub use crate::key_ring::{KeyId, KeyRing, generate_master_key};
pub use crate::sealed::{Aad, Sealed};
pub use crate::token::{TokenHash, generate_token};

#[cfg(test)]
mod tests;
