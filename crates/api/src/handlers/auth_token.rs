//! `POST /api/v1/auth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4).
//!
//! A service account's client id and secret, sent with HTTP Basic or in the form body (not both),
//! are exchanged for a bearer token that acts as the account with its role in its team. The
//! secret is checked in constant time against its stored SHA-256; an unknown client id and a
//! wrong secret give the same `invalid_client`. The issued token is stored as a hash, expires
//! after `Settings::access_token_ttl` and dies with its client credential or account.
//!
//! Errors follow RFC 6749 §5.2 (`{"error", "error_description"}`), not problem+json, because
//! OAuth client libraries parse that shape; only a body over the size limit and server-side
//! failures (5xx) are problems, as everywhere else.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, post, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeDelta, Utc};
use credvault_domain::secret::SecretValue;
use credvault_persistence::StoreError;
use zeroize::Zeroizing;

use crate::body::{MAX_BODY_BYTES, has_media_type};
use crate::dto::token::{OAuthErrorCode, OAuthErrorResponse, TokenRequest, TokenResponse};
use crate::error::ApiError;
use crate::form::{decode_component, parse_pairs};
use crate::openapi::responses::{BodyTooLarge, ServerErrors};
use crate::state::AppState;
use crate::tenancy::blocking;
use credvault_crypto::{TokenHash, generate_token};

/// The prefix of access tokens (`cva_…`), so that secret scanners can recognise them.
pub const ACCESS_TOKEN_PREFIX: &str = "cva";

/// The only grant this endpoint supports.
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The challenge sent with every `401`: HTTP requires one (RFC 9110 §11.6.1), and Basic is how
/// RFC 6749 §2.3.1 says a client should authenticate.
const BASIC_CHALLENGE: &str = "Basic realm=\"credvault\"";

/// The parameters whose repetition is refused (RFC 6749 §3.2); others are ignored.
const KNOWN_PARAMETERS: [&str; 4] = ["grant_type", "scope", "client_id", "client_secret"];

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `400 invalid_request`: the body is not a form, a parameter is missing, repeated or
    /// malformed, or client credentials came both with HTTP Basic and in the body. The text says
    /// which, never quoting a value.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `401 invalid_client` with `WWW-Authenticate: Basic realm="credvault"`: unknown client id,
    /// wrong secret, an unsupported authentication scheme or none at all. One answer for all.
    #[error("invalid_client")]
    InvalidClient,
    /// `400 unsupported_grant_type`: `grant_type` is not `client_credentials`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// Anything else (`413`, `5xx`), answered as problem+json like every other endpoint.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl TokenError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self::InvalidRequest(description.into())
    }
}

impl ResponseError for TokenError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::UnsupportedGrantType => StatusCode::BAD_REQUEST,
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::Api(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (error, error_description) = match self {
            Self::InvalidRequest(description) => {
                (OAuthErrorCode::InvalidRequest, description.clone())
            }
            Self::InvalidClient => (
                OAuthErrorCode::InvalidClient,
                "client authentication failed".to_owned(),
            ),
            Self::UnsupportedGrantType => (
                OAuthErrorCode::UnsupportedGrantType,
                format!("the only supported grant_type is {CLIENT_CREDENTIALS}"),
            ),
            Self::Api(error) => return error.error_response(),
        };
        let body = OAuthErrorResponse {
            error,
            error_description,
        };
        let mut response = HttpResponse::build(self.status_code())
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .body(serde_json::to_vec(&body).unwrap_or_default());
        if matches!(self, Self::InvalidClient) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        response
    }
}

/// Issue an access token (OAuth 2.0 client credentials grant).
///
/// Send `grant_type=client_credentials` as `application/x-www-form-urlencoded` and authenticate
/// the service account credential with HTTP Basic (`client_id:client_secret`, each
/// form-url-encoded first, RFC 6749 §2.3.1) or with `client_id` and `client_secret` in the form,
/// not both. The token acts as the service account with its role in its team until `expires_in`
/// seconds have passed or the credential or account is deleted. Sets the credential's
/// `last_used_at`. Errors are RFC 6749 §5.2 JSON, not problem+json.
#[utoipa::path(
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
            ("Pragma" = String, description = "`no-cache`"),
        )),
        (status = 400, description = "`invalid_request` (not a form; a parameter missing, repeated or malformed; credentials sent twice) or `unsupported_grant_type`", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret or no client authentication", body = OAuthErrorResponse, headers(
            ("WWW-Authenticate" = String, description = "`Basic realm=\"credvault\"`"),
        )),
        BodyTooLarge, ServerErrors,
    ),
    security((), ("client_basic" = []))
)]
#[post("/auth/token")]
pub(crate) async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, TokenError> {
    let mut params = TokenParams::read(&req, payload).await?;
    match params.grant_type.as_deref() {
        None => return Err(TokenError::invalid_request("grant_type is required")),
        Some(CLIENT_CREDENTIALS) => {}
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }
    let client = ClientAuthentication::from_request(&req, &mut params)?;
    // Before the lookup, so that guessing one client's secret costs no database work either.
    state.throttle.check_token_client(&client.client_id)?;

    let store = state.store.clone();
    let client_id = client.client_id;
    let found = blocking(move || store.find_client_credential_by_client_id(&client_id)).await?;
    let verified = match &found {
        Some(auth) => match TokenHash::from_hex(&auth.secret_hash) {
            Ok(stored) => stored.verify(client.client_secret.expose()),
            Err(_) => {
                log::error!(
                    "the stored secret hash of client credential {} is malformed",
                    auth.credential.id
                );
                false
            }
        },
        None => {
            // The same kind of work as for a known client, then the same answer.
            let _ = TokenHash::of("").verify(client.client_secret.expose());
            false
        }
    };
    let Some(auth) = found.filter(|_| verified) else {
        return Err(TokenError::InvalidClient);
    };

    let ttl = state.settings.access_token_ttl;
    let now = Utc::now();
    let expires_at = now + TimeDelta::from_std(ttl).map_err(ApiError::internal)?;
    let access_token = generate_token(ACCESS_TOKEN_PREFIX);
    let token_hash = TokenHash::of(access_token.expose()).to_hex();
    let store = state.store.clone();
    let credential_id = auth.credential.id;
    let team_id = auth.team_id;
    let issued =
        web::block(move || store.issue_access_token(credential_id, &token_hash, now, expires_at))
            .await
            .map_err(ApiError::from)?;
    match issued {
        Ok(()) => {}
        // The credential was deleted between the check and the insert.
        Err(StoreError::NotFound | StoreError::Conflict { .. }) => {
            return Err(TokenError::InvalidClient);
        }
        Err(error) => return Err(ApiError::from(error).into()),
    }
    log::debug!("issued an access token through client credential {credential_id}");

    let body = TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl.as_secs(),
        team_id: team_id.into(),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(serde_json::to_vec(&body).map_err(ApiError::internal)?))
}

/// The parameters of a token request that this endpoint reads.
struct TokenParams {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretValue>,
}

impl TokenParams {
    /// Reads and decodes the form body. A parameter without a value counts as omitted and
    /// unknown parameters are ignored (RFC 6749 §3.2); a repeated known one is refused.
    async fn read(req: &HttpRequest, payload: web::Payload) -> Result<Self, TokenError> {
        check_form_content_type(req)?;
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<usize>().ok());
        let too_large = ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        };
        if declared_length.is_some_and(|length| length > MAX_BODY_BYTES) {
            return Err(too_large.into());
        }
        let bytes = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return Err(TokenError::invalid_request("the body could not be read")),
            Err(_) => return Err(too_large.into()),
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| TokenError::invalid_request("the body is not UTF-8"))?;
        let pairs = parse_pairs(text).map_err(|error| {
            TokenError::invalid_request(format!("the body is malformed: {error}"))
        })?;

        let mut params = Self {
            grant_type: None,
            client_id: None,
            client_secret: None,
        };
        let mut seen = BTreeSet::new();
        // Every value is a wiped-on-drop buffer: the ones not taken below (ignored, repeated,
        // or left over after an error) are wiped when `pairs` is dropped.
        for (name, mut value) in pairs {
            let Some(known) = KNOWN_PARAMETERS.iter().find(|known| **known == name) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            if !seen.insert(*known) {
                return Err(TokenError::invalid_request(format!(
                    "the parameter {known} is repeated"
                )));
            }
            match *known {
                "grant_type" => params.grant_type = Some(std::mem::take(&mut *value)),
                "client_id" => params.client_id = Some(std::mem::take(&mut *value)),
                // Moved, not copied, into the secret's own buffer.
                "client_secret" => {
                    params.client_secret = Some(SecretValue::new(std::mem::take(&mut *value)));
                }
                // `scope`: accepted and ignored; the token carries the account's role.
                _ => {}
            }
        }
        Ok(params)
    }
}

/// `application/x-www-form-urlencoded`, with at most a UTF-8 charset.
fn check_form_content_type(req: &HttpRequest) -> Result<(), TokenError> {
    if has_media_type(req.headers(), &["application/x-www-form-urlencoded"]) {
        Ok(())
    } else {
        Err(TokenError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

/// The client id and secret a request authenticates with.
struct ClientAuthentication {
    client_id: String,
    client_secret: SecretValue,
}

impl ClientAuthentication {
    /// From HTTP Basic or from the body, never both (RFC 6749 §2.3: one method per request).
    fn from_request(req: &HttpRequest, params: &mut TokenParams) -> Result<Self, TokenError> {
        let basic = basic_credentials(req)?;
        let body_id = params.client_id.take();
        let body_secret = params.client_secret.take();
        match (basic, body_id, body_secret) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(TokenError::invalid_request(
                "client credentials were sent both with HTTP Basic and in the body; use one",
            )),
            (Some(basic), None, None) => Ok(basic),
            (None, Some(client_id), Some(client_secret)) => Ok(Self {
                client_id,
                client_secret,
            }),
            // No client authentication, or half of it.
            (None, _, _) => Err(TokenError::InvalidClient),
        }
    }
}

/// The client id and secret of an `Authorization: Basic` header, each form-url-decoded
/// (RFC 6749 §2.3.1). `None` without an `Authorization` header.
fn basic_credentials(req: &HttpRequest) -> Result<Option<ClientAuthentication>, TokenError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || TokenError::invalid_request("the Basic credentials are malformed");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        // Only Basic authenticates a client here.
        return Err(TokenError::InvalidClient);
    }
    // The decoded `client_id:client_secret` is wiped on drop, on the error paths too.
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| malformed())?);
    let decoded = std::str::from_utf8(&decoded).map_err(|_| malformed())?;
    let (client_id, client_secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let client_id = decode_component(client_id).map_err(|_| malformed())?;
    let client_secret = SecretValue::new(decode_component(client_secret).map_err(|_| malformed())?);
    if client_id.is_empty() || client_secret.expose().is_empty() {
        return Err(TokenError::InvalidClient);
    }
    Ok(Some(ClientAuthentication {
        client_id,
        client_secret,
    }))
}
