//! `Idempotency-Key` on POST and PATCH.
//!
//! The fingerprint of a request is the hex SHA-256 of its method, path, query and body. A first
//! request's successful (2xx) response is stored in the database for its principal and key; a
//! retry within 24 hours with the same fingerprint gets that response again, byte for byte, and
//! the same key with another fingerprint is a `422`. Failed responses are not stored, so a
//! corrected retry may reuse the key. Records live in the database so that every instance sees them.

use actix_web::body::MessageBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use credvault_domain::principal::Principal;
use credvault_persistence::{IdempotencyRecord, StoreError};

use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::blocking;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The longest accepted key.
const MAX_KEY_LEN: usize = 255;

/// The response headers worth replaying.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// An `Idempotency-Key` and the fingerprint of the request that carried it.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    key: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// The key of a request, if it sent one (`400` when it is empty, too long or not printable).
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| {
                !key.is_empty()
                    && key.len() <= MAX_KEY_LEN
                    && key.bytes().all(|byte| byte.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} printable ASCII characters"
                ))
            })?;
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            req.method().as_str().as_bytes(),
            req.path().as_bytes(),
            req.query_string().as_bytes(),
        ] {
            context.update(part);
            context.update(b"\n");
        }
        context.update(body);
        let fingerprint = context
            .finish()
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(Some(Self {
            key: key.to_owned(),
            fingerprint,
        }))
    }

    /// The stored response of an earlier request with this key, or `422` when that request was
    /// another one.
    pub async fn replay(
        &self,
        state: &AppState,
        principal: &Principal,
    ) -> Result<Option<HttpResponse>, ApiError> {
        let store = state.store.clone();
        let (principal_id, key) = (principal.id, self.key.clone());
        let Some(record) =
            blocking(move || store.find_idempotency(principal_id, &key, Utc::now())).await?
        else {
            return Ok(None);
        };
        if record.fingerprint != self.fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let status = StatusCode::from_u16(record.status).map_err(ApiError::internal)?;
        let mut response = HttpResponse::build(status);
        for (name, value) in &record.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(value),
            ) {
                response.insert_header((name, value));
            }
        }
        Ok(Some(response.body(record.body)))
    }

    /// Stores a successful response for later retries and returns it unchanged.
    pub async fn remember(
        &self,
        state: &AppState,
        principal: &Principal,
        response: HttpResponse,
    ) -> Result<HttpResponse, ApiError> {
        if !response.status().is_success() {
            return Ok(response);
        }
        let (head, body) = response.into_parts();
        let body = body.try_into_bytes().unwrap_or_default();
        let headers = REPLAYED_HEADERS
            .iter()
            .filter_map(|name| {
                let value = head.headers().get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect();
        let record = IdempotencyRecord {
            principal_id: principal.id,
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            status: head.status().as_u16(),
            headers,
            body: body.to_vec(),
            created_at: Utc::now(),
        };
        let store = state.store.clone();
        match web::block(move || store.insert_idempotency(&record)).await? {
            // A concurrent retry stored its response first; both answered the same request.
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(head.set_body(body).map_into_boxed_body())
    }
}
