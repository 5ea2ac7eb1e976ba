//! Request bodies: media type, size limit, JSON syntax and nesting depth, checked by hand so that
//! every failure is a problem+json answer with the right status.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, Payload};
use credvault_domain::patch::MAX_DEPTH;
use credvault_domain::validate::ValidationErrors;
use serde_json::Value;

use crate::error::ApiError;

/// The largest accepted request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The media types accepted for a JSON body.
const JSON_MEDIA_TYPES: [&str; 2] = ["application/json", "application/merge-patch+json"];

/// Checks the media type and reads the whole body, refusing more than [`MAX_BODY_BYTES`].
pub async fn read_raw(req: &HttpRequest, payload: Payload) -> Result<Bytes, ApiError> {
    check_content_type(req)?;
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(ApiError::BadRequest(format!(
            "the request body could not be read: {error}"
        ))),
        Err(_) => Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }),
    }
}

/// `415` unless the request's `Content-Encoding` is absent or `identity`: bodies are read as
/// sent (actix decodes content codings only in its `Json`/`Form`/`Bytes` extractors, which no
/// handler uses), so a gzip body would otherwise be taken for malformed JSON.
pub fn check_content_encoding(headers: &HeaderMap) -> Result<(), ApiError> {
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::UnsupportedContentEncoding)?;
        let identity = text
            .split(',')
            .map(str::trim)
            .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case("identity"));
        if !identity {
            return Err(ApiError::UnsupportedContentEncoding);
        }
    }
    Ok(())
}

/// `application/json` or `application/merge-patch+json`, with at most a UTF-8 charset.
fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    if has_media_type(req.headers(), &JSON_MEDIA_TYPES) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Whether the request's `Content-Type` is one of `media_types` (compared without regard to
/// case) with no parameter other than a UTF-8 `charset`. A missing or non-ASCII header is not.
///
/// Shared by the JSON bodies here and the form body of the token endpoint, which answer a
/// mismatch differently (`415` problem, RFC 6749 `invalid_request`).
pub fn has_media_type(headers: &HeaderMap, media_types: &[&str]) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !media_types
        .iter()
        .any(|media_type| essence.eq_ignore_ascii_case(media_type))
    {
        return false;
    }
    parts.all(|parameter| {
        let (name, parameter_value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let parameter_value = parameter_value.trim().trim_matches('"');
        name.trim().eq_ignore_ascii_case("charset")
            && (parameter_value.eq_ignore_ascii_case("utf-8")
                || parameter_value.eq_ignore_ascii_case("utf8"))
    })
}

/// Parses a body as JSON: `422` when it nests deeper than [`MAX_DEPTH`], `400` when it is not JSON.
///
/// The depth is measured on the bytes before parsing, so a very deep body is a `422` and not
/// serde_json's recursion-limit syntax error.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if nesting_depth(bytes) > MAX_DEPTH {
        return Err(ApiError::Validation(ValidationErrors::single(
            "body",
            format!("nests deeper than {MAX_DEPTH} levels"),
        )));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        // The position only: serde_json's messages can quote parts of the input.
        ApiError::BadRequest(format!(
            "the request body is not valid JSON (error at line {}, column {})",
            error.line(),
            error.column()
        ))
    })
}

/// The deepest `[`/`{` nesting of a JSON text, ignoring brackets inside strings.
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                (false, _) => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert_eq!(
            nesting_depth(br#"{"a": "[[[{{{", "b": [1, {"c": "\"]"}]}"#),
            3
        );
        assert_eq!(nesting_depth(b"42"), 0);
    }

    #[test]
    fn a_media_type_matches_without_case_and_with_a_utf8_charset_only() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            headers
        };
        let json = &JSON_MEDIA_TYPES[..];
        assert!(has_media_type(&headers("application/json"), json));
        assert!(has_media_type(
            &headers("Application/Merge-Patch+JSON"),
            json
        ));
        assert!(has_media_type(
            &headers("application/json; charset=\"UTF-8\""),
            json
        ));
        assert!(has_media_type(
            &headers("application/json;charset=utf8"),
            json
        ));
        assert!(!has_media_type(
            &headers("application/json; charset=latin1"),
            json
        ));
        assert!(!has_media_type(
            &headers("application/json; boundary=x"),
            json
        ));
        assert!(!has_media_type(&headers("application/json;"), json));
        assert!(!has_media_type(&headers("text/plain"), json));
        assert!(!has_media_type(&HeaderMap::new(), json));
        let form = ["application/x-www-form-urlencoded"];
        assert!(has_media_type(
            &headers("application/x-www-form-urlencoded"),
            &form
        ));
        assert!(!has_media_type(&headers("application/json"), &form));
    }

    #[test]
    fn nesting_depth_agrees_with_the_domain() {
        let text = r#"{"a":[{"b":{"c":[1,2,{"d":{}}]}}],"e":{"f":null}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            nesting_depth(text.as_bytes()),
            credvault_domain::validate::json_depth(&value)
        );
    }
}
