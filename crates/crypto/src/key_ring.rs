//! Master keys by id, and sealing and opening secret maps with them.
//!
//! A [`KeyRing`] holds every master key an instance may need to open stored secrets, and names one
//! of them active: new and resealed values always use the active key, while older values keep
//! opening with the key whose id is stored beside them until a rotation reseals them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::aead::{self, AES_256_GCM, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

use credvault_domain::secret::SecretMap;

use crate::error::CryptoError;
use crate::fingerprint;
use crate::sealed::{Aad, Sealed};

/// Length in bytes of an AES-256-GCM master key.
const KEY_LEN: usize = 32;

/// Longest key id, in bytes; it must fit the one-byte length field of [`Sealed::to_bytes`].
const KEY_ID_MAX_LEN: usize = 32;

/// The key of [`KeyRing::for_testing`]. It is public, so it protects nothing.
const TEST_KEY: &[u8; KEY_LEN] = b"credvault-test-key-32-bytes-long";

/// Standard base64 that accepts input with or without `=` padding, because keys are pasted by
/// hand into environment variables and files.
const STANDARD_PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The name of one master key, stored beside every value sealed with it.
///
/// A key id has 1 to 32 characters, each one of `A-Z`, `a-z`, `0-9`, `_` or `-`.
///
/// ```
/// use credvault_crypto::KeyId;
///
/// let key_id: KeyId = "2025-06".parse().unwrap();
/// assert_eq!(key_id.as_str(), "2025-06");
/// assert!("no spaces".parse::<KeyId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct KeyId(String);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads a key id from stored bytes, or `None` when they are not a valid id.
    pub(crate) fn from_ascii(bytes: &[u8]) -> Option<KeyId> {
        let text = std::str::from_utf8(bytes).ok()?;
        match key_id_problem(text) {
            None => Some(KeyId(text.to_owned())),
            Some(_) => None,
        }
    }
}

impl FromStr for KeyId {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match key_id_problem(s) {
            None => Ok(KeyId(s.to_owned())),
            Some(problem) => Err(CryptoError::BadKeyId(problem)),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Says what is wrong with a candidate key id, without repeating it: a malformed key spec could
/// put key material where the id belongs.
fn key_id_problem(candidate: &str) -> Option<String> {
    if candidate.is_empty() {
        return Some("a key id must not be empty".to_owned());
    }
    if candidate.len() > KEY_ID_MAX_LEN {
        return Some(format!(
            "a key id has at most {KEY_ID_MAX_LEN} characters, got {}",
            candidate.chars().count()
        ));
    }
    let is_allowed = |ch: char| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-';
    candidate
        .chars()
        .position(|ch| !is_allowed(ch))
        .map(|index| {
            format!(
                "character {} of the key id is not one of A-Z, a-z, 0-9, '_' or '-'",
                index + 1
            )
        })
}

/// The master keys of one deployment, by id, with exactly one active.
///
/// Cloning is cheap: the keys are shared behind an [`Arc`]. The key bytes live only inside
/// ring's [`LessSafeKey`], which never hands them out, and in the fingerprint key derived from
/// each (an `hmac::Key`, equally opaque); `Debug` prints the key ids only.
///
/// ```
/// use credvault_crypto::{Aad, KeyRing};
/// use credvault_domain::ids::{CredentialId, TeamId};
/// use credvault_domain::secret::SecretMap;
///
/// let key_ring = KeyRing::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
/// let aad = Aad::new(TeamId::new(), CredentialId::new());
///
/// let mut secrets = SecretMap::new();
/// secrets.insert("password".to_owned(), "hunter2".into());
/// let sealed = key_ring.seal(&secrets, &aad).unwrap();
/// assert_eq!(sealed.key_id().as_str(), "k1");
///
/// let opened = key_ring.open(&sealed, &aad).unwrap();
/// assert_eq!(opened.get("password").unwrap().expose(), "hunter2");
/// ```
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<KeyRingInner>,
}

struct KeyRingInner {
    active: KeyId,
    keys: BTreeMap<KeyId, MasterKey>,
    random: SystemRandom,
}

/// One master key as the ring uses it: the cipher key, and the keys derived from it.
struct MasterKey {
    /// Seals and opens secret maps.
    aead: LessSafeKey,
    /// Fingerprints requests for `Idempotency-Key` (see [`crate::fingerprint`]).
    fingerprint: hmac::Key,
}

impl KeyRing {
    /// Parses a key spec of the form `id:base64key[,id:base64key…]`; the first key is active.
    ///
    /// Keys are 32 bytes in standard base64, with or without padding. Whitespace around entries
    /// is ignored, so a trailing newline from a key file does no harm. Errors name the key id or
    /// the entry position and never contain key material.
    pub fn parse(spec: &str) -> Result<KeyRing, CryptoError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(CryptoError::BadKeyMaterial(
                "the key spec is empty, expected id:base64key[,id:base64key...]".to_owned(),
            ));
        }
        let mut active = None;
        let mut keys = BTreeMap::new();
        for (index, entry) in spec.split(',').enumerate() {
            let position = index + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(CryptoError::BadKeyMaterial(format!(
                    "entry {position} of the key spec is empty"
                )));
            }
            let Some((key_id, encoded_key)) = entry.split_once(':') else {
                return Err(CryptoError::BadKeyMaterial(format!(
                    "entry {position} of the key spec has no ':' between key id and key"
                )));
            };
            let key_id = match key_id_problem(key_id.trim()) {
                None => KeyId(key_id.trim().to_owned()),
                Some(problem) => {
                    return Err(CryptoError::BadKeyId(format!(
                        "entry {position} of the key spec: {problem}"
                    )));
                }
            };
            let key_bytes = decode_key(encoded_key.trim()).ok_or_else(|| {
                CryptoError::BadKeyMaterial(format!("key '{key_id}' is not valid standard base64"))
            })?;
            insert_key(&mut keys, key_id.clone(), &key_bytes)?;
            active.get_or_insert(key_id);
        }
        match active {
            Some(active) => Ok(KeyRing::from_keys(active, keys)),
            // Unreachable: a non-empty spec has at least one entry, and each either errors or
            // sets `active`. Answering with an error keeps this function free of panics.
            None => Err(CryptoError::BadKeyMaterial(
                "the key spec has no keys".to_owned(),
            )),
        }
    }

    /// Builds a key ring from raw keys; `active` must be one of their ids.
    ///
    /// The key arrays are wiped before returning, whether or not the ring could be built.
    pub fn new(active: KeyId, mut keys: Vec<(KeyId, [u8; 32])>) -> Result<KeyRing, CryptoError> {
        let key_ring = KeyRing::from_raw_keys(active, &keys);
        for (_, key_bytes) in &mut keys {
            key_bytes.zeroize();
        }
        key_ring
    }

    fn from_raw_keys(
        active: KeyId,
        raw_keys: &[(KeyId, [u8; 32])],
    ) -> Result<KeyRing, CryptoError> {
        let mut keys = BTreeMap::new();
        for (key_id, key_bytes) in raw_keys {
            insert_key(&mut keys, key_id.clone(), key_bytes)?;
        }
        if !keys.contains_key(&active) {
            return Err(CryptoError::UnknownKeyId(active));
        }
        Ok(KeyRing::from_keys(active, keys))
    }

    fn from_keys(active: KeyId, keys: BTreeMap<KeyId, MasterKey>) -> KeyRing {
        KeyRing {
            inner: Arc::new(KeyRingInner {
                active,
                keys,
                random: SystemRandom::new(),
            }),
        }
    }

    /// A ring with one fixed, publicly known key with id `test`, for tests in any crate.
    ///
    /// Its output is as readable as plaintext to anyone with this source code; never use it for
    /// real secrets.
    pub fn for_testing() -> KeyRing {
        let key_id = KeyId("test".to_owned());
        let mut keys = BTreeMap::new();
        #[expect(
            clippy::expect_used,
            reason = "a constant 32-byte key and a fresh map cannot fail the checks of insert_key"
        )]
        insert_key(&mut keys, key_id.clone(), TEST_KEY).expect("the test key is a valid key");
        KeyRing::from_keys(key_id, keys)
    }

    /// The id of the key that [`KeyRing::seal`] uses.
    pub fn active_key_id(&self) -> &KeyId {
        &self.inner.active
    }

    /// The ids of all keys in the ring, in id order.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.inner.keys.keys().cloned().collect()
    }

    /// Whether the ring holds a key with this id.
    pub fn contains(&self, id: &KeyId) -> bool {
        self.inner.keys.contains_key(id)
    }

    /// Encrypts a secret map with the active key and a fresh random 96-bit nonce.
    ///
    /// The plaintext is the map's JSON encoding, encrypted in place in a buffer that holds
    /// ciphertext only once this returns. `aad` binds the result to one credential of one team.
    pub fn seal(&self, secrets: &SecretMap, aad: &Aad) -> Result<Sealed, CryptoError> {
        let key_id = self.active_key_id();
        let key = self.key(key_id)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.inner
            .random
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Seal)?;
        let associated_data = aad.associated_data(key_id);
        let mut in_out = secrets.to_json_bytes();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(associated_data),
            &mut *in_out,
        )
        .map_err(|_| CryptoError::Seal)?;
        // The buffer now holds ciphertext and tag, so it may leave its zeroizing wrapper.
        let ciphertext = std::mem::take(&mut *in_out);
        Ok(Sealed::from_parts(key_id.clone(), nonce, ciphertext))
    }

    /// Decrypts and authenticates a sealed value with the key named in it.
    ///
    /// Fails with [`CryptoError::UnknownKeyId`] when the ring lacks that key, and with
    /// [`CryptoError::Open`] when the key or `aad` is wrong or the bytes were altered.
    pub fn open(&self, sealed: &Sealed, aad: &Aad) -> Result<SecretMap, CryptoError> {
        let key = self.key(sealed.key_id())?;
        let associated_data = aad.associated_data(sealed.key_id());
        let mut in_out = Zeroizing::new(sealed.ciphertext().to_vec());
        let plaintext = key
            .open_in_place(
                Nonce::assume_unique_for_key(*sealed.nonce()),
                aead::Aad::from(associated_data),
                &mut in_out,
            )
            .map_err(|_| CryptoError::Open)?;
        SecretMap::from_json_bytes(plaintext).map_err(|_| {
            CryptoError::MalformedCiphertext("sealed secrets opened but hold no secret map")
        })
    }

    /// Re-encrypts a value with the active key, for key rotation.
    ///
    /// Returns `None` without decrypting when the value already uses the active key, so a
    /// rotation pass can skip rows cheaply; otherwise opens it and seals the same map again.
    pub fn reseal(&self, sealed: &Sealed, aad: &Aad) -> Result<Option<Sealed>, CryptoError> {
        if sealed.key_id() == self.active_key_id() {
            return Ok(None);
        }
        let secrets = self.open(sealed, aad)?;
        self.seal(&secrets, aad).map(Some)
    }

    fn key(&self, key_id: &KeyId) -> Result<&LessSafeKey, CryptoError> {
        self.inner
            .keys
            .get(key_id)
            .map(|master_key| &master_key.aead)
            .ok_or_else(|| CryptoError::UnknownKeyId(key_id.clone()))
    }

    /// The fingerprint key derived from the master key `key_id`, if the ring holds it.
    pub(crate) fn fingerprint_key(&self, key_id: &KeyId) -> Option<&hmac::Key> {
        self.inner
            .keys
            .get(key_id)
            .map(|master_key| &master_key.fingerprint)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key_ids: Vec<&str> = self.inner.keys.keys().map(KeyId::as_str).collect();
        f.debug_struct("KeyRing")
            .field("active", &self.inner.active.as_str())
            .field("key_ids", &key_ids)
            .finish()
    }
}

/// Generates a new master key: 32 random bytes in standard base64 (44 characters, padded).
///
/// Prefix it with `id:` to add it to `CREDVAULT_MASTER_KEYS` or the development key file.
///
/// # Panics
///
/// When the operating system's random generator fails, which leaves no safe way to go on.
pub fn generate_master_key() -> String {
    let mut key_bytes = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(&mut key_bytes[..]);
    STANDARD.encode(&key_bytes[..])
}

/// Fills `bytes` from the operating system's random generator.
///
/// Used where the public signature has no error case: a failing system generator means no
/// secret can be made safely, so stopping is the right answer.
pub(crate) fn fill_random(bytes: &mut [u8]) {
    #[expect(
        clippy::expect_used,
        reason = "callers promise infallible generation; there is no fallback for a broken OS RNG"
    )]
    SystemRandom::new()
        .fill(bytes)
        .expect("the system random number generator failed");
}

/// Decodes a base64 key into a buffer that is wiped on drop.
fn decode_key(encoded_key: &str) -> Option<Zeroizing<Vec<u8>>> {
    // Reserving the decoder's own estimate up front means it never reallocates, which would
    // leave an unwiped copy of the key in freed memory.
    let mut key_bytes = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(
        encoded_key.len(),
    )));
    STANDARD_PADDING_OPTIONAL
        .decode_vec(encoded_key, &mut key_bytes)
        .ok()?;
    Some(key_bytes)
}

fn insert_key(
    keys: &mut BTreeMap<KeyId, MasterKey>,
    key_id: KeyId,
    key_bytes: &[u8],
) -> Result<(), CryptoError> {
    if keys.contains_key(&key_id) {
        return Err(CryptoError::BadKeyMaterial(format!(
            "key id '{key_id}' appears more than once"
        )));
    }
    if key_bytes.len() != KEY_LEN {
        return Err(CryptoError::BadKeyMaterial(format!(
            "key '{key_id}' must be {KEY_LEN} bytes, got {}",
            key_bytes.len()
        )));
    }
    let unbound_key = UnboundKey::new(&AES_256_GCM, key_bytes).map_err(|_| {
        CryptoError::BadKeyMaterial(format!("key '{key_id}' is not a valid AES-256-GCM key"))
    })?;
    let fingerprint = fingerprint::derive_key(key_bytes).ok_or_else(|| {
        CryptoError::BadKeyMaterial(format!("key '{key_id}' cannot derive a fingerprint key"))
    })?;
    keys.insert(
        key_id,
        MasterKey {
            aead: LessSafeKey::new(unbound_key),
            fingerprint,
        },
    );
    Ok(())
}
