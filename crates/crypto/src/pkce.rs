//! Proof Key for Code Exchange (RFC 7636) with the `S256` method: a random code verifier and
//! its challenge.
//!
//! The verifier is 32 random bytes in unpadded base64url: 43 characters, all of them RFC 7636's
//! unreserved characters (`[A-Za-z0-9-._~]`), the shortest length §4.1 allows and 256 bits of
//! entropy, as §7.1 recommends. The challenge is the unpadded base64url of its SHA-256 (§4.2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use zeroize::Zeroizing;

use credvault_domain::secret::SecretValue;

use crate::key_ring::fill_random;
use crate::token::TOKEN_ENCODED_LEN;

/// The name of the challenge method, as the authorization request carries it.
pub const METHOD_S256: &str = "S256";

/// A new code verifier: 43 characters from 32 random bytes.
///
/// ```
/// let verifier = credvault_crypto::pkce::new_verifier();
/// assert_eq!(verifier.expose().len(), 43);
/// assert!(verifier.expose().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
/// ```
///
/// # Panics
///
/// When the operating system's random generator fails.
pub fn new_verifier() -> SecretValue {
    let mut random_bytes = Zeroizing::new([0u8; 32]);
    fill_random(&mut random_bytes[..]);
    let mut verifier = String::with_capacity(TOKEN_ENCODED_LEN);
    URL_SAFE_NO_PAD.encode_string(&random_bytes[..], &mut verifier);
    SecretValue::new(verifier)
}

/// The `S256` challenge of `verifier`: `BASE64URL(SHA256(verifier))`, unpadded.
///
/// ```
/// use credvault_crypto::pkce::challenge_s256;
/// use credvault_domain::secret::SecretValue;
///
/// // RFC 7636, appendix B.
/// let verifier = SecretValue::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(challenge_s256(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
pub fn challenge_s256(verifier: &SecretValue) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.expose().as_bytes()))
}
