//! Request fingerprints for `Idempotency-Key`: a keyed digest of the request, never a plain hash.
//!
//! The API stores a fingerprint of each request that carried an idempotency key, to tell a retry
//! (same request) from a reuse of the key (another request). The request body holds plaintext
//! secrets, so a plain hash of it would let anyone who reads the database confirm a guessed
//! secret offline. A [`Fingerprint`] is therefore an HMAC-SHA256 under a key derived with HKDF
//! (info `"credvault idempotency v1"`) from one master key of the [`KeyRing`]: without the master
//! key, which also opens the ciphertexts, it confirms nothing.
//!
//! Each fingerprint names the master key it was made under, so a retry still matches after a key
//! rotation as long as the ring keeps the old key (rotation keeps old keys until no row needs
//! them, and idempotency records live 24 hours).

use std::fmt;

use ring::{hkdf, hmac};

use crate::error::CryptoError;
use crate::key_ring::{KeyId, KeyRing};

/// The HKDF `info` that separates the fingerprint key from every other use of a master key.
const INFO: &[u8] = b"credvault idempotency v1";

/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// Derives the fingerprint key of one master key: HKDF-SHA256 (RFC 5869) with an empty salt and
/// [`INFO`]. `None` only if ring refuses the output length, which it does not for 32 bytes.
pub(crate) fn derive_key(master_key: &[u8]) -> Option<hmac::Key> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(master_key);
    let okm = prk.expand(&[INFO], hmac::HMAC_SHA256).ok()?;
    Some(hmac::Key::from(okm))
}

/// The fingerprint of a request: an HMAC-SHA256 tag and the id of the master key it was made
/// under.
///
/// `Debug` and [`Fingerprint::to_hex`] show the tag, which reveals nothing about the request
/// without the master key.
///
/// ```
/// use credvault_crypto::{Fingerprint, KeyRing};
///
/// let key_ring = KeyRing::for_testing();
/// let parts: [&[u8]; 2] = [b"POST", b"{\"api_key\":\"sk_live_1\"}"];
/// let fingerprint = key_ring.fingerprint(&parts);
///
/// // What is stored: the key id and the hex tag.
/// let stored = Fingerprint::from_stored(fingerprint.key_id().as_str(), &fingerprint.to_hex())?;
/// assert!(key_ring.matches_fingerprint(&stored, &parts));
/// assert!(!key_ring.matches_fingerprint(&stored, &[b"POST", b"{\"api_key\":\"sk_live_2\"}"]));
/// # Ok::<(), credvault_crypto::CryptoError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint {
    key_id: KeyId,
    tag: [u8; TAG_LEN],
}

impl Fingerprint {
    /// The id of the master key whose derived key made this fingerprint.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The tag as 64 lowercase hexadecimal digits, the stored form.
    pub fn to_hex(&self) -> String {
        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(2 * TAG_LEN);
        for byte in self.tag {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Reads a stored fingerprint: the key id and what [`Fingerprint::to_hex`] wrote.
    pub fn from_stored(key_id: &str, hex: &str) -> Result<Fingerprint, CryptoError> {
        const BAD_HEX: CryptoError =
            CryptoError::MalformedCiphertext("a fingerprint must be 64 hexadecimal digits");
        let key_id = key_id.parse()?;
        let digits = hex.as_bytes();
        if digits.len() != 2 * TAG_LEN {
            return Err(BAD_HEX);
        }
        let mut tag = [0u8; TAG_LEN];
        for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or(BAD_HEX)?;
            let low = hex_value(pair[1]).ok_or(BAD_HEX)?;
            *byte = (high << 4) | low;
        }
        Ok(Fingerprint { key_id, tag })
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({}:{})", self.key_id, self.to_hex())
    }
}

impl KeyRing {
    /// The fingerprint of a request made of `parts` (for example method, path, query and body),
    /// under the active key.
    ///
    /// Each part is framed by its length, so moving bytes from one part to the next changes the
    /// fingerprint.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> Fingerprint {
        let key_id = self.active_key_id().clone();
        let tag = match self.fingerprint_key(&key_id) {
            Some(key) => tag(key, parts),
            // Unreachable: the active key is always in the ring. An all-zero tag matches no
            // request (see `matches_fingerprint`), so even then nothing is replayed wrongly.
            None => [0u8; TAG_LEN],
        };
        Fingerprint { key_id, tag }
    }

    /// Whether `parts` have the fingerprint `stored`, recomputed under the key that made it and
    /// compared in constant time.
    ///
    /// `false` when the ring no longer holds that key: the request cannot be recognised then.
    pub fn matches_fingerprint(&self, stored: &Fingerprint, parts: &[&[u8]]) -> bool {
        let Some(key) = self.fingerprint_key(&stored.key_id) else {
            return false;
        };
        let candidate = tag(key, parts);
        // Fold every byte difference together, with no early exit on the first mismatch.
        let difference = stored
            .tag
            .iter()
            .zip(candidate.iter())
            .fold(0u8, |acc, (left, right)| acc | (left ^ right));
        std::hint::black_box(difference) == 0
    }
}

/// HMAC-SHA256 over the parts, each preceded by its length as 8 big-endian bytes.
fn tag(key: &hmac::Key, parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut context = hmac::Context::with_key(key);
    for part in parts {
        let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
        context.update(&len.to_be_bytes());
        context.update(part);
    }
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(context.sign().as_ref());
    tag
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
