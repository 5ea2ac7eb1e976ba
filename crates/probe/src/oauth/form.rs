//! The bytes a token request sends: its `application/x-www-form-urlencoded` body and its HTTP
//! Basic `Authorization` header (RFC 6749 §2.3.1), each built in one buffer sized up front, so
//! that no reallocation leaves a copy of a secret behind, and wiped on drop.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use credvault_domain::secret::SecretValue;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether a byte stands for itself in a form-urlencoded value (the unreserved characters of
/// RFC 3986; everything else is percent-encoded, which every form decoder reads).
fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The length of `text` once form-urlencoded.
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| if unreserved(byte) { 1 } else { 3 })
        .sum()
}

/// Appends `text` form-urlencoded to `out`.
fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// `text` form-urlencoded, as a secret (it may be one).
pub(crate) fn encoded(text: &str) -> SecretValue {
    let mut out = String::with_capacity(encoded_len(text));
    encode_into(&mut out, text);
    SecretValue::new(out)
}

/// The body `name=value&…` of these pairs, every name and value form-urlencoded.
pub(crate) fn body(pairs: &[(&str, &str)]) -> SecretValue {
    let length: usize = pairs
        .iter()
        .map(|(name, value)| encoded_len(name) + 1 + encoded_len(value) + 1)
        .sum();
    let mut out = String::with_capacity(length);
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, value);
    }
    SecretValue::new(out)
}

/// The `Authorization` header of `client_secret_basic` (RFC 6749 §2.3.1): `Basic ` and the
/// base64 of the form-urlencoded client id, a colon and the form-urlencoded secret.
pub(crate) fn basic_authorization(client_id: &str, client_secret: &SecretValue) -> SecretValue {
    let credentials_len = encoded_len(client_id) + 1 + encoded_len(client_secret.expose());
    let mut credentials = String::with_capacity(credentials_len);
    encode_into(&mut credentials, client_id);
    credentials.push(':');
    encode_into(&mut credentials, client_secret.expose());
    let credentials = SecretValue::new(credentials);
    let prefix = "Basic ";
    let mut header = String::with_capacity(prefix.len() + credentials_len.div_ceil(3) * 4);
    header.push_str(prefix);
    STANDARD.encode_string(credentials.expose(), &mut header);
    SecretValue::new(header)
}
