//! `Idempotency-Key` on POST and PATCH.
//!
//! A request with a key first claims it in the database ([`begin`]), before anything runs; the
//! primary key of the record decides between concurrent requests, on one instance or many. The
//! winner runs and stores its successful (2xx) response in the same transaction as its write
//! (`Store::insert_credential_completing`, `Store::update_credential_completing`), so the write
//! and its record commit together or not at all. A failed request gives the key back before it
//! answers ([`finish`]), so a corrected retry may reuse the key.
//!
//! Another request with the same key and the same fingerprint gets the first response again, byte
//! for byte, or `409` with `Retry-After` while the first is still running; one with another
//! fingerprint is a `422`. A claim whose holder died (a crash between claim and write) expires
//! after `IDEMPOTENCY_CLAIM_TIMEOUT`, and records after 24 hours.
//!
//! The fingerprint is an HMAC of method, path, query and body under a key derived from the master
//! key ring (`credvault_crypto::KeyRing::fingerprint`), never a plain hash: the body holds
//! plaintext secrets. It names the master key it was made under, so it still matches after a
//! rotation while that key is in the ring.

use actix_web::body::MessageBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use credvault_crypto::{Fingerprint, KeyRing};
use credvault_domain::principal::Principal;
use credvault_persistence::{
    IdempotencyClaim, IdempotencyRecord, Reservation, Store, StoreError, StoredResponse, constraint,
};

use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::blocking;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The longest accepted key.
const MAX_KEY_LEN: usize = 255;

/// The response headers worth replaying.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// What to do with a request, after its `Idempotency-Key` was looked at.
#[derive(Debug)]
pub enum Begin {
    /// Run the request; with `Some`, it holds the key and must complete the claim with its
    /// write (or drop it, which releases the key).
    Run(Option<Claim>),
    /// The first request with this key answered: send its response again.
    Replay(HttpResponse),
}

/// Looks at the request's `Idempotency-Key`, if it sent one, and claims it.
///
/// `400` for a malformed key; `422` when the key was used for another request; `409` with
/// `Retry-After` while the first request with the key is still running.
pub async fn begin(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Begin, ApiError> {
    let Some(key) = key_of(req)? else {
        return Ok(Begin::Run(None));
    };
    let fingerprint = state.key_ring.fingerprint(&parts(req, body));
    let store = state.store.clone();
    let principal_id = principal.id;
    let reservation = blocking(move || {
        store.reserve_idempotency(
            principal_id,
            &key,
            &fingerprint.to_hex(),
            fingerprint.key_id().as_str(),
            Utc::now(),
        )
    })
    .await?;
    match reservation {
        Reservation::Claimed(claim) => Ok(Begin::Run(Some(Claim {
            store: Some(state.store.clone()),
            claim,
        }))),
        Reservation::Taken(record) => {
            answer(&state.key_ring, &record, req, body).map(Begin::Replay)
        }
    }
}

/// For a request that never stores a response (a dry run): the stored response of an earlier
/// request with this key, if it was the same request; `422` or `409` as in [`begin`]. Claims
/// nothing.
pub async fn check(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Option<HttpResponse>, ApiError> {
    let Some(key) = key_of(req)? else {
        return Ok(None);
    };
    let store = state.store.clone();
    let principal_id = principal.id;
    match blocking(move || store.find_idempotency(principal_id, &key, Utc::now())).await? {
        None => Ok(None),
        Some(record) => answer(&state.key_ring, &record, req, body).map(Some),
    }
}

/// The key of a request, if it sent one (`400` when it is empty, too long or not printable).
fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| {
            !key.is_empty()
                && key.len() <= MAX_KEY_LEN
                && key.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} printable ASCII characters"
            ))
        })
}

/// What the fingerprint covers: method, path, query and body.
fn parts<'a>(req: &'a HttpRequest, body: &'a [u8]) -> [&'a [u8]; 4] {
    [
        req.method().as_str().as_bytes(),
        req.path().as_bytes(),
        req.query_string().as_bytes(),
        body,
    ]
}

/// The answer to a request whose key another request holds or held.
fn answer(
    key_ring: &KeyRing,
    record: &IdempotencyRecord,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let same_request = Fingerprint::from_stored(&record.fingerprint_key_id, &record.fingerprint)
        .is_ok_and(|fingerprint| key_ring.matches_fingerprint(&fingerprint, &parts(req, body)));
    if !same_request {
        return Err(ApiError::IdempotencyKeyReused);
    }
    match &record.response {
        None => Err(ApiError::IdempotencyKeyInProgress),
        Some(response) => replay(response),
    }
}

/// A stored response as sent: the same status, replayed headers and body bytes.
pub fn replay(stored: &StoredResponse) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(stored.status).map_err(ApiError::internal)?;
    let mut response = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            response.insert_header((name, value));
        }
    }
    Ok(response.body(stored.body.clone()))
}

/// The part of a response that is stored for replay: status, the headers worth replaying (`ETag`, `Location`,
/// `Content-Type`) and body.
pub fn to_stored(response: HttpResponse) -> StoredResponse {
    let (head, body) = response.into_parts();
    let headers = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = head.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    StoredResponse {
        status: head.status().as_u16(),
        headers,
        body: body.try_into_bytes().unwrap_or_default().to_vec(),
    }
}

/// A store error of a write that was to complete a claim: the claim's loss (it went stale and
/// another request took the key; the write rolled back) is a `409`, like a request in progress.
pub fn completion_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { constraint } if constraint == constraint::IDEMPOTENCY_KEY => {
            ApiError::IdempotencyKeyInProgress
        }
        other => other.into(),
    }
}

/// This request's hold on its `Idempotency-Key`.
///
/// Pass [`Claim::claim`] to the write that stores the response, then hand the outcome to
/// [`finish`], which keeps the record after a success and releases the key after a failure.
/// Dropped without either (the client went away and the request was cancelled), it releases the
/// key in the background; if that fails, the claim simply expires.
#[derive(Debug)]
pub struct Claim {
    /// `None` once completed.
    store: Option<Store>,
    claim: IdempotencyClaim,
}

impl Claim {
    /// The claim to complete in the write's transaction.
    pub fn claim(&self) -> &IdempotencyClaim {
        &self.claim
    }

    /// The write that stored the response committed: keep the record.
    pub fn completed(mut self) {
        self.store = None;
    }

    /// The request failed: give the key back now, before the answer goes out.
    pub async fn release(mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let claim = self.claim.clone();
        match web::block(move || store.release_idempotency(&claim)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                log::warn!("could not release an idempotency key; it expires instead: {error}");
            }
            Err(error) => {
                log::warn!("could not release an idempotency key; it expires instead: {error}");
            }
        }
    }
}

/// Ends a request that may hold a claim: a success has completed it in its write's transaction;
/// a failure releases it before the answer goes out, so that a corrected retry sent right after
/// the answer finds the key free.
pub async fn finish(
    claim: Option<Claim>,
    outcome: Result<HttpResponse, ApiError>,
) -> Result<HttpResponse, ApiError> {
    match (claim, &outcome) {
        (Some(claim), Ok(_)) => claim.completed(),
        (Some(claim), Err(_)) => claim.release().await,
        (None, _) => {}
    }
    outcome
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let claim = self.claim.clone();
        let release = move || {
            if let Err(error) = store.release_idempotency(&claim) {
                log::warn!("could not release an idempotency key; it expires instead: {error}");
            }
        };
        // Drop cannot wait; the release runs on the blocking pool of the running system.
        match actix_web::rt::System::try_current() {
            Some(system) => {
                system.arbiter().spawn(async move {
                    if web::block(release).await.is_err() {
                        log::warn!("could not release an idempotency key; it expires instead");
                    }
                });
            }
            None => release(),
        }
    }
}
