//! What a token endpoint's answer means: a [`TokenGrant`] or one [`TokenError`], from its status
//! and body alone (RFC 6749 §5.1 and §5.2), without a network, so every case is unit-tested.
//!
//! The rules, in order:
//! 1. 5xx, 429 and 408 are [`TokenError::Transient`], whatever the body says;
//! 2. a JSON object with an `error` code is that error, whatever the status (some providers
//!    answer errors with `200`): `invalid_grant` → [`TokenError::InvalidGrant`],
//!    `invalid_client` and `unauthorized_client` → [`TokenError::InvalidClient`],
//!    `temporarily_unavailable` and `server_error` → [`TokenError::Transient`], any other code
//!    → [`TokenError::Rejected`];
//! 3. a 3xx is [`TokenError::Rejected`] (`http_3xx`): redirects are never followed, since a
//!    307 or 308 would resend the client secret and the refresh token to wherever it points, and
//!    a token endpoint that redirects is a token URL that is wrong (an `http` URL of an `https`
//!    endpoint, a moved path), which retrying does not fix;
//! 4. a 2xx must be a JSON object with a non-empty `access_token`; `token_type` must be
//!    `Bearer` in any case, or absent (some providers leave it out; the token is then used as a
//!    bearer token); otherwise the answer is not a token response: [`TokenError::Transient`]
//!    (an unknown `token_type` is [`TokenError::Rejected`], a token credvault cannot use);
//! 5. any other 4xx is [`TokenError::Rejected`] with the code `http_<status>`.
//!
//! `expires_in` may be a number or a numeric string (both are seen in the wild); a fraction is
//! rounded down; a negative, non-finite or non-numeric value is ignored as if absent.
//!
//! No message quotes the body: the only provider text kept is `error_description`, through
//! [`clean_description`] with the request's secrets, and an `error` code that is not a plain
//! RFC 6749 code (`%x20-21 / %x23-5B / %x5D-7E`, here narrowed to letters, digits, `_`, `-` and
//! `.`, at most 64) or that quotes a secret is replaced by `http_<status>`.

use credvault_domain::oauth_token::{TokenError, TokenGrant, clean_description};
use credvault_domain::secret::SecretValue;
use serde_json::{Map, Value};

/// The most characters of a provider's `error` code that are kept.
const MAX_CODE_CHARS: usize = 64;

/// The grant or error of an answer with this status and body; `secrets` are the request's (and
/// their encoded forms), masked in any description.
pub(crate) fn classify(
    status: u16,
    body: &[u8],
    secrets: &[&SecretValue],
) -> Result<TokenGrant, TokenError> {
    if status >= 500 || status == 429 || status == 408 {
        return Err(transient(format!(
            "the token endpoint answered HTTP {status}; try again later"
        )));
    }
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if let Some(error) = object.as_ref().and_then(|object| object.get("error")) {
        return Err(oauth_error(status, error, object.as_ref(), secrets));
    }
    match status {
        200..=299 => match object {
            Some(object) => grant(object),
            None => Err(transient(format!(
                "the token endpoint answered HTTP {status} with a body that is not a JSON object"
            ))),
        },
        300..=399 => Err(TokenError::Rejected {
            code: format!("http_{status}"),
            description: Some(format!(
                "the token endpoint answered with a redirect (HTTP {status}), which is never \
                 followed; check the token URL (its scheme, host and path)"
            )),
        }),
        _ => Err(TokenError::Rejected {
            code: format!("http_{status}"),
            description: Some(format!(
                "the token endpoint answered HTTP {status} without an OAuth error code"
            )),
        }),
    }
}

fn transient(reason: String) -> TokenError {
    TokenError::Transient { reason }
}

/// The [`TokenError`] of an answer with an `error` member.
fn oauth_error(
    status: u16,
    error: &Value,
    object: Option<&Map<String, Value>>,
    secrets: &[&SecretValue],
) -> TokenError {
    let description = object
        .and_then(|object| object.get("error_description"))
        .and_then(Value::as_str)
        .and_then(|text| clean_description(text, secrets));
    let code = error
        .as_str()
        .filter(|code| is_plain_code(code))
        .filter(|code| {
            !secrets
                .iter()
                .any(|secret| !secret.expose().is_empty() && code.contains(secret.expose()))
        })
        .map_or_else(|| format!("http_{status}"), str::to_owned);
    match code.as_str() {
        "invalid_grant" => TokenError::InvalidGrant { description },
        "invalid_client" | "unauthorized_client" => TokenError::InvalidClient { code, description },
        "temporarily_unavailable" | "server_error" => TokenError::Transient {
            reason: match description {
                Some(description) => format!("the token endpoint answered {code}: {description}"),
                None => format!("the token endpoint answered {code}"),
            },
        },
        _ => TokenError::Rejected { code, description },
    }
}

/// Whether an `error` code is one we keep as it is.
fn is_plain_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
}

/// The grant of a 2xx JSON object.
fn grant(mut object: Map<String, Value>) -> Result<TokenGrant, TokenError> {
    let not_a_token = |what: &str| {
        transient(format!(
            "the token endpoint's answer is not a token response: {what}"
        ))
    };
    // Taken out by value, so the token's one buffer moves into the wiped `SecretValue`.
    let access_token = match object.remove("access_token") {
        Some(Value::String(token)) if !token.is_empty() => SecretValue::new(token),
        Some(Value::String(token)) => {
            drop(SecretValue::new(token));
            return Err(not_a_token("its access_token is empty"));
        }
        Some(_) => return Err(not_a_token("its access_token is not a string")),
        None => return Err(not_a_token("it has no access_token")),
    };
    match object.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(token_type)) if token_type.eq_ignore_ascii_case("bearer") => {}
        Some(Value::String(token_type)) if is_plain_code(token_type) => {
            return Err(TokenError::Rejected {
                code: "unsupported_token_type".to_owned(),
                description: Some(format!(
                    "the token endpoint issued a {token_type} token; credvault uses bearer \
                     tokens only"
                )),
            });
        }
        Some(_) => {
            return Err(TokenError::Rejected {
                code: "unsupported_token_type".to_owned(),
                description: Some(
                    "the token endpoint issued a token that is not a bearer token".to_owned(),
                ),
            });
        }
    }
    let refresh_token = match object.remove("refresh_token") {
        Some(Value::String(token)) if !token.is_empty() => Some(SecretValue::new(token)),
        Some(Value::String(token)) => {
            drop(SecretValue::new(token));
            None
        }
        _ => None,
    };
    let scope = object
        .get("scope")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned);
    Ok(TokenGrant {
        access_token,
        expires_in: object.get("expires_in").and_then(seconds),
        refresh_token,
        scope,
    })
}

/// `expires_in` as whole seconds: a non-negative integer, a non-negative finite number (rounded
/// down), or a string holding one.
fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .filter(|seconds| *seconds < u64::MAX as f64)
                .map(|seconds| seconds as u64)
        }),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<u64>().ok().or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(|number| seconds(&Value::from(number)))
            })
        }
        _ => None,
    }
}
