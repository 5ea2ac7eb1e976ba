//! Plaintext secrets in memory.
//!
//! A plaintext secret exists only as a [`SecretValue`]: its bytes are wiped when it is dropped,
//! its `Debug` output is the mask, and it implements neither `Display` nor `Serialize`, so it
//! cannot reach a log line or a response body by accident. [`SecretMap`] holds the secrets of one
//! credential, keyed by field name; it is what `credvault-crypto` seals into one ciphertext.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// The placeholder shown instead of a stored secret.
///
/// Sending it back in a PATCH keeps the stored value, so an edit form can round-trip it.
pub const MASK: &str = "••••";

/// One plaintext secret value, wiped from memory on drop.
///
/// ```
/// use credvault_domain::secret::SecretValue;
///
/// let password = SecretValue::new("hunter2".to_owned());
/// assert_eq!(format!("{password:?}"), "SecretValue(••••)");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone, Default)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Takes ownership of a plaintext string.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The plaintext. Call it only where the value is needed (sealing, connecting).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares two secrets without an early exit on the first differing byte.
    pub fn constant_time_eq(&self, other: &SecretValue) -> bool {
        let (left, right) = (self.0.as_bytes(), other.0.as_bytes());
        if left.len() != right.len() {
            return false;
        }
        left.iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl From<&str> for SecretValue {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({MASK})")
    }
}

/// The secret fields of one credential, by field name.
///
/// `Debug` lists the field names with masked values.
#[derive(Clone, Default)]
pub struct SecretMap(BTreeMap<String, SecretValue>);

impl SecretMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of one field.
    pub fn get(&self, field: &str) -> Option<&SecretValue> {
        self.0.get(field)
    }

    /// Sets a field, returning the previous value.
    pub fn insert(&mut self, field: String, value: SecretValue) -> Option<SecretValue> {
        self.0.insert(field, value)
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, field: &str) -> Option<SecretValue> {
        self.0.remove(field)
    }

    /// Whether a field is set.
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The fields and their values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Encodes the map as a JSON object in a buffer that is wiped on drop.
    ///
    /// This is the plaintext that `credvault-crypto` seals.
    pub fn to_json_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Written by hand so that no intermediate `String` or `serde_json::Value` holds a copy.
        let mut out = Zeroizing::new(Vec::with_capacity(64 * self.0.len() + 2));
        out.push(b'{');
        for (index, (name, value)) in self.0.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, name);
            out.push(b':');
            write_json_string(&mut out, value.expose());
        }
        out.push(b'}');
        out
    }

    /// Decodes what [`SecretMap::to_json_bytes`] wrote.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, SecretMapDecodeError> {
        let mut parsed: BTreeMap<String, String> =
            serde_json::from_slice(bytes).map_err(|_| SecretMapDecodeError)?;
        let map = parsed
            .iter_mut()
            .map(|(name, value)| (name.clone(), SecretValue::new(std::mem::take(value))))
            .collect();
        // The taken strings are already moved out; wipe what is left of the parse buffers.
        for value in parsed.values_mut() {
            value.zeroize();
        }
        Ok(Self(map))
    }
}

impl fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, MASK)))
            .finish()
    }
}

impl FromIterator<(String, SecretValue)> for SecretMap {
    fn from_iter<I: IntoIterator<Item = (String, SecretValue)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// The decrypted bytes were not a JSON object of strings.
#[derive(Debug, thiserror::Error)]
#[error("decrypted secret map is not a JSON object of strings")]
pub struct SecretMapDecodeError;

fn write_json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    for ch in value.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            ch if (ch as u32) < 0x20 => {
                let escaped = format!("\\u{:04x}", ch as u32);
                out.extend_from_slice(escaped.as_bytes());
            }
            ch => {
                let mut buffer = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_every_character() {
        let mut map = SecretMap::new();
        map.insert("password".into(), "p\"a\\s\ns\u{1}w€rd".into());
        map.insert("api_key".into(), "".into());
        let bytes = map.to_json_bytes();
        let back = SecretMap::from_json_bytes(&bytes).unwrap();
        assert_eq!(
            back.get("password").unwrap().expose(),
            "p\"a\\s\ns\u{1}w€rd"
        );
        assert_eq!(back.get("api_key").unwrap().expose(), "");
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn debug_never_shows_values() {
        let mut map = SecretMap::new();
        map.insert("password".into(), "hunter2".into());
        let printed = format!("{map:?}");
        assert!(!printed.contains("hunter2"));
        assert!(printed.contains("password"));
    }

    #[test]
    fn constant_time_eq_compares_contents() {
        assert!(SecretValue::from("abc").constant_time_eq(&"abc".into()));
        assert!(!SecretValue::from("abc").constant_time_eq(&"abd".into()));
        assert!(!SecretValue::from("abc").constant_time_eq(&"abcd".into()));
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(SecretMap::from_json_bytes(b"[1,2]").is_err());
        assert!(SecretMap::from_json_bytes(b"{\"a\":1}").is_err());
    }
}
