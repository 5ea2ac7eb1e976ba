//! `application/x-www-form-urlencoded` decoding: the token endpoint's body, the client id and
//! secret inside its HTTP Basic credentials (RFC 6749 §2.3.1), and query parameters read by hand.
//!
//! Stricter than browsers: a `%` not followed by two hex digits, or bytes that are not UTF-8
//! after decoding, are errors rather than passed through, so a mangled secret is refused instead
//! of being compared in some other form.
//!
//! A decoded value may be a client secret: values come back in buffers that are wiped on drop
//! ([`Zeroizing`]), and a decoding that fails wipes what it had decoded so far.

use zeroize::{Zeroize, Zeroizing};

/// Why a form could not be decoded. Never quotes the input, which may hold a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A `%` is not followed by two hexadecimal digits.
    #[error("a percent sign is not followed by two hexadecimal digits")]
    BadPercentEncoding,
    /// A decoded name or value is not UTF-8.
    #[error("a decoded name or value is not UTF-8")]
    NotUtf8,
}

/// Decodes one name or value: `+` is a space and `%XX` is the byte `XX`.
///
/// The result is never longer than the input, so the buffer is allocated once and never moved;
/// on an error it is wiped before it is freed.
pub fn decode_component(encoded: &str) -> Result<String, FormError> {
    let bytes = encoded.as_bytes();
    let mut decoded = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => {
                let high = bytes.get(index + 1).and_then(|digit| hex_value(*digit));
                let low = bytes.get(index + 2).and_then(|digit| hex_value(*digit));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(FormError::BadPercentEncoding);
                };
                decoded.push((high << 4) | low);
                index += 2;
            }
            other => decoded.push(other),
        }
        index += 1;
    }
    String::from_utf8(std::mem::take(&mut *decoded)).map_err(|error| {
        error.into_bytes().zeroize();
        FormError::NotUtf8
    })
}

/// Splits a form body or query string at `&` into decoded `(name, value)` pairs, in order.
///
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` has an empty value. Each value
/// is wiped when dropped, so a caller that takes only the parameters it knows (moving the secret
/// one into a `SecretValue`) leaves no unwiped copy of a repeated or ignored one.
pub fn parse_pairs(encoded: &str) -> Result<Vec<(String, Zeroizing<String>)>, FormError> {
    encoded
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            Ok((
                decode_component(name)?,
                Zeroizing::new(decode_component(value)?),
            ))
        })
        .collect()
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
