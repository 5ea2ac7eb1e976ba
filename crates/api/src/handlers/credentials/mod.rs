//! `/api/v1/teams/{team}/integrations`: create, list, get, PATCH, delete, connection tests and
//! the audit trail.
//!
//! Shared here: the response shape with its `ETag`, sealing and opening of secret maps, and the
//! audit actor of a principal.

pub mod create;
pub mod delete;
pub mod events;
pub mod get;
pub mod list;
pub mod patch;
pub mod test;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use credvault_domain::audit::Actor;
use credvault_domain::credential::Credential;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::principal::Principal;
use credvault_domain::secret::SecretMap;
use credvault_persistence::{Ciphertext, StoredCredential};

use crate::dto::credential::CredentialResponse;
use crate::error::ApiError;
use credvault_crypto::{Aad, CryptoError, KeyRing, Sealed};

/// The `ETag` of a credential version: `"<version>"`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A JSON response with a credential (secrets masked) and its `ETag`.
pub fn credential_response(
    status: StatusCode,
    credential: Credential,
) -> Result<HttpResponse, ApiError> {
    let version = credential.version;
    let body =
        serde_json::to_vec(&CredentialResponse::from(credential)).map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::ETAG, etag(version)))
        .body(body))
}

/// The audit actor of a principal.
pub fn actor(principal: &Principal) -> Actor {
    Actor {
        id: principal.id,
        kind: principal.kind,
    }
}

/// Seals a credential's secrets, bound to its team and id; `None` when there are none.
pub fn seal(
    key_ring: &KeyRing,
    secrets: &SecretMap,
    team_id: TeamId,
    credential_id: CredentialId,
) -> Result<Option<Ciphertext>, CryptoError> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let sealed = key_ring.seal(secrets, &Aad::new(team_id, credential_id))?;
    Ok(Some(Ciphertext {
        key_id: sealed.key_id().to_string(),
        bytes: sealed.to_bytes(),
    }))
}

/// Opens a stored credential's secrets (an empty map when it has none).
pub fn open(key_ring: &KeyRing, stored: &StoredCredential) -> Result<SecretMap, CryptoError> {
    let Some(ciphertext) = &stored.ciphertext else {
        return Ok(SecretMap::new());
    };
    let sealed = Sealed::from_bytes(&ciphertext.bytes)?;
    let aad = Aad::new(stored.credential.team_id, stored.credential.id);
    key_ring.open(&sealed, &aad)
}
