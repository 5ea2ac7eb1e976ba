//! Bearer tokens and client secrets: generation and hashed storage.
//!
//! A token is 256 random bits, so unlike a password it cannot be guessed from a dictionary and
//! needs no slow, salted hash: its SHA-256 is enough to store, look up and verify it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use zeroize::Zeroizing;

use credvault_domain::secret::SecretValue;

use crate::error::CryptoError;
use crate::key_ring::fill_random;

/// Random bytes in a token: 256 bits.
const TOKEN_RANDOM_LEN: usize = 32;

/// Length of those bytes in unpadded base64url.
pub(crate) const TOKEN_ENCODED_LEN: usize = 43;

/// Generates a token: `prefix`, `_`, then 32 random bytes in unpadded base64url.
///
/// The prefix (such as `cvt` for bearer tokens) tells a reader, or a secret scanner, what the
/// token is for; it adds no secrecy.
///
/// ```
/// let token = credvault_crypto::generate_token("cvt");
/// assert!(token.expose().starts_with("cvt_"));
/// assert_eq!(token.expose().len(), "cvt_".len() + 43);
/// ```
///
/// # Panics
///
/// When the operating system's random generator fails.
pub fn generate_token(prefix: &str) -> SecretValue {
    let mut random_bytes = Zeroizing::new([0u8; TOKEN_RANDOM_LEN]);
    fill_random(&mut random_bytes[..]);
    // Exact capacity, so that no reallocation leaves a copy of the token in freed memory.
    let mut token = String::with_capacity(prefix.len() + 1 + TOKEN_ENCODED_LEN);
    token.push_str(prefix);
    token.push('_');
    URL_SAFE_NO_PAD.encode_string(&random_bytes[..], &mut token);
    SecretValue::new(token)
}

/// The SHA-256 of a token: what is stored instead of the token.
///
/// `Debug` prints the hex digest, which reveals nothing useful about a 256-bit random token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a presented or newly generated token.
    pub fn of(token: &str) -> TokenHash {
        let token_digest = digest(&SHA256, token.as_bytes());
        let mut hash = [0u8; 32];
        hash.copy_from_slice(token_digest.as_ref());
        TokenHash(hash)
    }

    /// The hash as 64 lowercase hexadecimal digits, the stored form.
    pub fn to_hex(&self) -> String {
        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Reads what [`TokenHash::to_hex`] wrote; upper-case digits are accepted too.
    pub fn from_hex(s: &str) -> Result<TokenHash, CryptoError> {
        const BAD_HEX: CryptoError =
            CryptoError::MalformedCiphertext("a token hash must be 64 hexadecimal digits");
        let digits = s.as_bytes();
        if digits.len() != 64 {
            return Err(BAD_HEX);
        }
        let (digit_pairs, _) = digits.as_chunks::<2>();
        let mut hash = [0u8; 32];
        for (byte, [high, low]) in hash.iter_mut().zip(digit_pairs) {
            let high = hex_value(*high).ok_or(BAD_HEX)?;
            let low = hex_value(*low).ok_or(BAD_HEX)?;
            *byte = (high << 4) | low;
        }
        Ok(TokenHash(hash))
    }

    /// Whether `token` hashes to this value, compared in constant time.
    pub fn verify(&self, token: &str) -> bool {
        let candidate = TokenHash::of(token);
        // Fold every byte difference together, with no early exit on the first mismatch.
        let difference = self
            .0
            .iter()
            .zip(candidate.0.iter())
            .fold(0u8, |acc, (left, right)| acc | (left ^ right));
        std::hint::black_box(difference) == 0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}
