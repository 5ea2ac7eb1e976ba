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
        // Written by hand, into a buffer sized exactly up front: no intermediate `String` or
        // `serde_json::Value` holds a copy, and no reallocation leaves plaintext behind unwiped.
        let length = 2
            + self.0.len().saturating_sub(1)
            + self
                .0
                .iter()
                .map(|(name, value)| json_string_len(name) + 1 + json_string_len(value.expose()))
                .sum::<usize>();
        let mut out = Zeroizing::new(Vec::with_capacity(length));
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
        debug_assert_eq!(out.len(), length);
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

/// The escape sequence of a byte inside a JSON string, or `None` when it stands for itself.
fn escape(byte: u8) -> Option<&'static [u8]> {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016",
        b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d",
        b"\\u001e", b"\\u001f",
    ];
    match byte {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        0..=0x1f => Some(CONTROL[usize::from(byte)]),
        _ => None,
    }
}

fn json_string_len(value: &str) -> usize {
    2 + value
        .bytes()
        .map(|byte| escape(byte).map_or(1, <[u8]>::len))
        .sum::<usize>()
}

fn write_json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if let Some(escaped) = escape(byte) {
            out.extend_from_slice(&bytes[start..index]);
            out.extend_from_slice(escaped);
            start = index + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
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
    fn every_control_character_round_trips_with_an_exact_buffer() {
        let all_controls: String = (0u8..0x20).map(char::from).collect::<String>() + "\"\\end";
        let mut map = SecretMap::new();
        map.insert("k".into(), SecretValue::new(all_controls.clone()));
        let bytes = map.to_json_bytes();
        assert_eq!(bytes.len(), bytes.capacity(), "buffer sized exactly");
        let back = SecretMap::from_json_bytes(&bytes).unwrap();
        assert_eq!(back.get("k").unwrap().expose(), all_controls);
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
