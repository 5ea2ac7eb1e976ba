//! [`ApiError`]: every way a request can fail, rendered as `application/problem+json`.
//!
//! Each variant says its status. The request id is added to the body by the request middleware
//! ([`crate::request_id`]), which finds the [`Problem`] in the response's extensions. 5xx bodies
//! are generic; their cause is logged by the middleware with the request id, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use credvault_crypto::CryptoError;
use credvault_domain::authz::Denied;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::StoreError;
use credvault_usecases::Error as UseCaseError;

use crate::dto::problem::{FieldErrorResponse, Problem};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The common prefix of every problem `type`; the suffix names the kind of problem.
pub const PROBLEM_TYPE_BASE: &str = "https://credvault.dev/problems/";

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `400`: malformed JSON, a malformed header (`If-Match`, `X-Client-Request-ID`,
    /// `Idempotency-Key`) or an undecodable query string. The text says which, without values.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// `400`: a query parameter has a bad value; lists every bad parameter in `errors`.
    #[error("invalid query parameters: {0}")]
    InvalidQuery(ValidationErrors),
    /// `401` with `WWW-Authenticate: Bearer`: no bearer token, or one the store does not know.
    #[error("unauthenticated")]
    Unauthenticated {
        /// A token was sent but is unknown or expired (`error="invalid_token"`).
        invalid_token: bool,
    },
    /// `403`: the caller is a member of the team but its role does not allow the action.
    #[error("forbidden")]
    Forbidden,
    /// `403`: the caller is in the team but holds no grant to use the credential.
    #[error("no grant of use")]
    NotGranted,
    /// `404`: the team or credential does not exist *or* the caller has no role in the team.
    /// One variant, one body, so neither can be told from the other.
    #[error("not found")]
    NotFound,
    /// `405` with `Allow`: the path exists, but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path answers, for the `Allow` header (`GET, PATCH`).
        allow: String,
    },
    /// `412`: `If-Match` named another version than the stored one.
    #[error("precondition failed: the current version is {current_version}")]
    PreconditionFailed {
        /// The stored version.
        current_version: i64,
    },
    /// `413`: the body is larger than the limit.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `408`, closing the connection: the body did not arrive within the body deadline.
    #[error("the request body did not arrive within {seconds} seconds")]
    RequestTimeout {
        /// The deadline, in whole seconds.
        seconds: u64,
    },
    /// `415`: the body is not `application/json` or `application/merge-patch+json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// `415` with `Accept-Encoding: identity`: the body has a `Content-Encoding` (gzip, …);
    /// bodies are read as sent, so only `identity` is accepted.
    #[error("unsupported content encoding")]
    UnsupportedContentEncoding,
    /// `422`: the body or query is well-formed but invalid; lists every failing field.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// `422`: the `Idempotency-Key` was already used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// `409` with `Retry-After: 1`: the first request with this `Idempotency-Key` is still
    /// running (on this instance or another); a retry gets its response once it has answered.
    #[error("a request with this idempotency key is in progress")]
    IdempotencyKeyInProgress,
    /// `429` with `Retry-After`: the caller sent more requests than its rate limit allows
    /// (see [`crate::throttle`]).
    #[error("too many requests")]
    TooManyRequests {
        /// Whole seconds until a request is allowed again, at least 1.
        retry_after_seconds: u64,
    },
    /// `429` with `Retry-After: 1`: the caller (principal, or address without a token) already
    /// has as many requests in flight as it may.
    #[error("too many requests in flight from this client")]
    TooManyInFlight,
    /// `503` with `Retry-After: 1`: the server is handling as many requests as it may at once.
    #[error("overloaded: too many requests in flight")]
    Overloaded,
    /// `503`: the database cannot be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// `409`: the credential holds nothing a use could release yet; the text says what to do.
    #[error("not usable: {0}")]
    NotUsable(String),
    /// `409`: the OAuth credential's access token expired and cannot be refreshed (the refresh
    /// token was refused, or the app): the text says what happened and what to do (reconnect).
    #[error("reconnect required: {0}")]
    ReconnectRequired(String),
    /// `503` with `Retry-After`: the OAuth credential's access token expired and refreshing it
    /// failed for now (the provider's 5xx, a timeout, another instance still refreshing it).
    #[error("token refresh unavailable: {0}")]
    RefreshUnavailable(String),
    /// 409: credentials are linked to the OAuth app that was to be deleted; nothing was deleted.
    #[error("the OAuth app is in use")]
    OAuthAppInUse {
        /// How many credentials are linked to it.
        credentials: u64,
    },
    /// `409`: the credential cannot be connected through OAuth (not an OAuth kind, or not linked
    /// to an OAuth app); the text says why and what to do.
    #[error("not connectable: {0}")]
    NotConnectable(String),
    /// `400`: an OAuth callback whose `state` is unknown, already used or expired (one answer
    /// for the three).
    #[error("unknown, used or expired OAuth connect state")]
    ConnectStateUnknown,
    /// `400`: an OAuth callback for a known state whose connect failed (the provider's error,
    /// a refused code exchange); the text says why in words, and nothing was stored.
    #[error("OAuth connect failed: {0}")]
    ConnectFailed(String),
    /// `500`: the credential's secrets are sealed under a master key this server does not have;
    /// the key id is logged, the body says only that an operator must configure the key.
    #[error("the master key of the credential's secrets is not configured: {0}")]
    KeyUnavailable(String),
    /// `500`: anything else; the cause is logged and not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The `Retry-After` of [`ApiError::RefreshUnavailable`], in seconds: about the first backoff.
const REFRESH_RETRY_AFTER_SECONDS: u64 = 30;

impl ApiError {
    /// A `500` whose cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The problem body without its request id (the middleware adds it).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (slug, detail) = match self {
            Self::BadRequest(detail) => ("bad-request", detail.clone()),
            Self::InvalidQuery(_) => (
                "invalid-query",
                "a query parameter has a bad value; see `errors`".to_owned(),
            ),
            Self::Unauthenticated { .. } => (
                "unauthenticated",
                "a valid bearer token is required in the Authorization header".to_owned(),
            ),
            Self::Forbidden => (
                "forbidden",
                "your role in this team does not allow this action".to_owned(),
            ),
            Self::NotGranted => (
                "not-granted",
                "using a credential's secrets needs a grant of use, which an owner gives to a \
                 service account; users never hold one"
                    .to_owned(),
            ),
            Self::NotFound => (
                "not-found",
                "the resource does not exist or you have no access to it".to_owned(),
            ),
            Self::MethodNotAllowed { allow } => (
                "method-not-allowed",
                format!("this resource answers only {allow}"),
            ),
            Self::PreconditionFailed { current_version } => (
                "version-mismatch",
                format!(
                    "If-Match does not match the current version, which is {current_version}; \
                     fetch the credential and retry with If-Match: \"{current_version}\""
                ),
            ),
            Self::PayloadTooLarge { limit } => (
                "payload-too-large",
                format!("the request body is larger than {limit} bytes"),
            ),
            Self::UnsupportedMediaType => (
                "unsupported-media-type",
                "the body must be sent as application/json or application/merge-patch+json"
                    .to_owned(),
            ),
            Self::RequestTimeout { seconds } => (
                "request-timeout",
                format!("the request body did not arrive within {seconds} seconds"),
            ),
            Self::UnsupportedContentEncoding => (
                "unsupported-content-encoding",
                "the body must not be content-encoded; the supported encoding is identity \
                 (see the Accept-Encoding header)"
                    .to_owned(),
            ),
            Self::TooManyInFlight => (
                "too-many-in-flight",
                "you have as many requests in flight as you may; retry when one has finished"
                    .to_owned(),
            ),
            Self::Validation(_) => (
                "validation",
                "the request failed validation; see `errors`".to_owned(),
            ),
            Self::IdempotencyKeyReused => (
                "idempotency-key-reused",
                "this Idempotency-Key was already used for a different request; \
                 use a new key for a new request"
                    .to_owned(),
            ),
            Self::IdempotencyKeyInProgress => (
                "idempotency-key-in-progress",
                "a request with this Idempotency-Key is still in progress; retry after the \
                 Retry-After delay to get its response"
                    .to_owned(),
            ),
            Self::TooManyRequests {
                retry_after_seconds,
            } => (
                "rate-limited",
                format!(
                    "too many requests; retry after {retry_after_seconds} second(s) \
                     (see the Retry-After header)"
                ),
            ),
            Self::Overloaded => (
                "overloaded",
                "the server is handling as many requests as it can; retry shortly".to_owned(),
            ),
            Self::Unavailable(_) => (
                "unavailable",
                "the database is unavailable; retry later".to_owned(),
            ),
            Self::NotUsable(detail) => ("not-usable", detail.clone()),
            Self::NotConnectable(detail) => ("not-connectable", detail.clone()),
            Self::ConnectStateUnknown => (
                "oauth-state-invalid",
                "this OAuth connect is unknown, was already completed, or expired (a connect \
                 waits 10 minutes for the provider); start the connect again"
                    .to_owned(),
            ),
            Self::ConnectFailed(detail) => ("oauth-connect-failed", detail.clone()),
            Self::ReconnectRequired(detail) => ("reconnect-required", detail.clone()),
            Self::RefreshUnavailable(detail) => ("token-refresh-unavailable", detail.clone()),
            Self::OAuthAppInUse { credentials } => (
                "oauth-app-in-use",
                format!(
                    "{} of this team {} linked to this OAuth app; link {} to another app or \
                     unlink {} (PATCH with \"oauth_app_id\": null) before deleting it",
                    count_in_words(*credentials),
                    if *credentials == 1 { "is" } else { "are" },
                    if *credentials == 1 { "it" } else { "them" },
                    if *credentials == 1 { "it" } else { "them" },
                ),
            ),
            Self::KeyUnavailable(_) => (
                "key-unavailable",
                "the credential's secrets are sealed under a master key that this server is not \
                 configured with; an operator must add that key to the key ring (quote the \
                 request id)"
                    .to_owned(),
            ),
            Self::Internal(_) => (
                "internal",
                "an internal error occurred; quote the request id when reporting it".to_owned(),
            ),
        };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title(status).to_owned(),
            status: status.as_u16(),
            detail,
            request_id: None,
            errors: match self {
                Self::Validation(errors) | Self::InvalidQuery(errors) => Some(
                    errors
                        .errors()
                        .iter()
                        .cloned()
                        .map(FieldErrorResponse::from)
                        .collect(),
                ),
                Self::IdempotencyKeyReused => Some(vec![FieldErrorResponse {
                    field: "Idempotency-Key".to_owned(),
                    message: "was used with another method, path or body".to_owned(),
                }]),
                _ => None,
            },
            current_version: match self {
                Self::PreconditionFailed { current_version } => Some(*current_version),
                _ => None,
            },
        }
    }
}

/// "one credential", "two credentials", …, "12 credentials".
fn count_in_words(count: u64) -> String {
    const WORDS: [&str; 10] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let number = usize::try_from(count)
        .ok()
        .and_then(|index| WORDS.get(index))
        .map_or_else(|| count.to_string(), |word| (*word).to_owned());
    let noun = if count == 1 {
        "credential"
    } else {
        "credentials"
    };
    format!("{number} {noun}")
}

/// The reason phrase of RFC 9110, which renamed 413 and 422 since the `http` crate's names.
fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Content Too Large",
        StatusCode::UNPROCESSABLE_ENTITY => "Unprocessable Content",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::NotGranted => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType | Self::UnsupportedContentEncoding => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Validation(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInProgress => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } | Self::TooManyInFlight => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotUsable(_)
            | Self::ReconnectRequired(_)
            | Self::OAuthAppInUse { .. }
            | Self::NotConnectable(_) => StatusCode::CONFLICT,
            Self::ConnectStateUnknown | Self::ConnectFailed(_) => StatusCode::BAD_REQUEST,
            Self::RefreshUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) | Self::KeyUnavailable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The cause of a 5xx may name a table or quote a driver: the request middleware logs it
        // with the request id (`Display` of this error); the body stays generic.
        let problem = self.problem();
        let mut response = problem_response(&problem);
        if let Self::Unauthenticated { invalid_token } = self {
            let challenge = if *invalid_token {
                "Bearer error=\"invalid_token\""
            } else {
                "Bearer"
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Self::MethodNotAllowed { allow } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        let retry_after = match self {
            Self::TooManyRequests {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::Overloaded | Self::IdempotencyKeyInProgress | Self::TooManyInFlight => Some(1),
            Self::RefreshUnavailable(_) => Some(REFRESH_RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Self::UnsupportedContentEncoding = self {
            response.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Renders a problem and keeps it in the response's extensions for the request middleware,
/// which adds the request id.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(body);
    response.extensions_mut().insert(problem.clone());
    response
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotFound => Self::NotFound,
            Denied::Forbidden => Self::Forbidden,
            Denied::NotGranted => Self::NotGranted,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::VersionMismatch { current } => Self::PreconditionFailed {
                current_version: current,
            },
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Conflict { constraint } => {
                Self::Internal(format!("unexpected conflict on {constraint}"))
            }
            StoreError::Corrupt(cause) => Self::Internal(format!("corrupt row: {cause}")),
            StoreError::Database(cause) => Self::Internal(format!("database error: {cause}")),
        }
    }
}

impl From<UseCaseError> for ApiError {
    fn from(error: UseCaseError) -> Self {
        match error {
            UseCaseError::Invalid(errors) => Self::Validation(errors),
            UseCaseError::Denied(denied) => denied.into(),
            UseCaseError::Store(error) => error.into(),
            UseCaseError::ClaimLost => Self::IdempotencyKeyInProgress,
            UseCaseError::Crypto(error @ CryptoError::UnknownKeyId(_)) => {
                Self::KeyUnavailable(error.to_string())
            }
            UseCaseError::Crypto(error) => Self::internal(error),
            UseCaseError::NotUsable(reason) => Self::NotUsable(reason.to_string()),
            UseCaseError::TokenUnavailable {
                transient: true,
                note,
            } => Self::RefreshUnavailable(note),
            UseCaseError::TokenUnavailable {
                transient: false,
                note,
            } => Self::ReconnectRequired(note),
            UseCaseError::RefreshBusy => Self::RefreshUnavailable(
                "the credential's access token is being refreshed by another instance; retry \
                 shortly"
                    .to_owned(),
            ),
            UseCaseError::Inconsistent(error) => Self::internal(error),
            UseCaseError::OAuthAppInUse { credentials } => Self::OAuthAppInUse { credentials },
            UseCaseError::NotConnectable(reason) => Self::NotConnectable(reason.to_string()),
            UseCaseError::ConnectStateUnknown => Self::ConnectStateUnknown,
            UseCaseError::Render(cause) => Self::Internal(cause),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::internal(error)
    }
}
