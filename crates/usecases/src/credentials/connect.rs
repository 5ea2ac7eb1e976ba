//! OAuth connect (SPEC §11): the authorization-code grant with PKCE `S256` that fills an OAuth
//! credential's tokens, in two halves around the browser's visit to the provider.
//!
//! [`start`] checks that the credential can be connected (`domain::oauth_connect`), stores a
//! pending connect (the hash of a random single-use `state`, the PKCE verifier sealed under the
//! key ring, the principal, the redirect URI, an expiry) and answers the provider's authorize
//! URL. [`complete`] takes that pending connect by its state, once, exchanges the provider's code
//! at the linked app's token URL with the verifier through the [`TokenEndpoint`] (the network is
//! the caller's; the API's goes under the outbound policy), and writes the tokens as an
//! ordinary update of the credential by the principal who started: a new version and an
//! `updated` event, unlike a refresh, which is server-owned.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credvault_crypto::{Aad, KeyRing, Sealed, TokenHash, generate_token, pkce};
use credvault_domain::audit::{Actor, AuditAction, SecretEffect};
use credvault_domain::authz::{Action, authorize};
use credvault_domain::credential::{CredentialStatus, Health, HealthStatus};
use credvault_domain::edit::{AuditNote, CredentialEdit};
use credvault_domain::ids::{CredentialId, RequestId, TeamId};
use credvault_domain::oauth_connect::{
    STATE_LIFETIME, STATE_PREFIX, authorize_url, check_connectable, error_code_or_unknown,
    provider_error_text, status_after_connect,
};
use credvault_domain::oauth_token::{CodeExchange, TokenEndpoint, TokenError, clean_description};
use credvault_domain::principal::Principal;
use credvault_domain::refresh::{expires_at_text, expiry_of};
use credvault_domain::schema::fields::{ACCESS_TOKEN, EXPIRES_AT, REFRESH_TOKEN};
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_domain::team::TeamRef;
use credvault_domain::time::now;
use credvault_persistence::{
    Ciphertext, ConnectReturn, ConnectState, CredentialChange, NewConnectState, SecretsUpdate,
    Store, StoreError,
};
use serde_json::Value;

use crate::error::Error;
use crate::secrets;

/// The name the verifier is sealed under.
const VERIFIER: &str = "code_verifier";

/// A connect to start, as the caller asked for it.
#[derive(Clone, Copy, Debug)]
pub struct StartRequest<'a> {
    /// The credential's team.
    pub team_id: TeamId,
    /// The credential to connect.
    pub credential_id: CredentialId,
    /// Who asks (already authorized to update the credential).
    pub principal: &'a Principal,
    /// The callback URL the provider redirects to (the server's public URL + the callback path).
    pub redirect_uri: &'a str,
    /// Where the callback sends the browser once done.
    pub return_to: ConnectReturn,
}

/// A started connect: where to send the browser, and until when it may come back.
pub struct Started {
    /// The provider's authorize URL, carrying the state and the PKCE challenge.
    pub authorize_url: String,
    /// The single-use state (also in `authorize_url`).
    pub state: SecretValue,
    /// When the pending connect expires.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field(EXPIRES_AT, &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Starts a connect of credential `request.credential_id`.
///
/// [`Error::Store`] `NotFound` when the team has no such credential; [`Error::NotConnectable`]
/// when it is not of an OAuth kind or not linked to an OAuth app. Writes only the pending
/// connect (the credential is unchanged until the callback).
pub fn start(
    store: &Store,
    key_ring: &KeyRing,
    request: &StartRequest<'_>,
) -> Result<Started, Error> {
    let stored = store
        .find_credential(request.team_id, request.credential_id)?
        .ok_or(StoreError::NotFound)?;
    check_connectable(&stored.credential, stored.oauth_app.as_ref())?;
    let Some(app) = stored.oauth_app else {
        return Err(
            StoreError::Corrupt("a connectable credential without its app".to_owned()).into(),
        );
    };
    let state = generate_token(STATE_PREFIX);
    let verifier = pkce::new_verifier();
    let challenge = pkce::challenge_s256(&verifier);
    let mut sealed = SecretMap::new();
    sealed.insert(VERIFIER.to_owned(), verifier);
    let sealed = key_ring.seal(
        &sealed,
        &Aad::for_connect(request.team_id, request.credential_id),
    )?;
    let created_at = now();
    let expires_at = created_at + STATE_LIFETIME;
    store.begin_connect(&NewConnectState {
        state_hash: &TokenHash::of(state.expose()).to_hex(),
        team_id: request.team_id,
        credential_id: request.credential_id,
        principal_id: request.principal.id,
        verifier: Ciphertext {
            key_id: sealed.key_id().to_string(),
            bytes: sealed.to_bytes(),
        },
        redirect_uri: request.redirect_uri,
        return_to: request.return_to,
        created_at,
        expires_at,
    })?;
    Ok(Started {
        authorize_url: authorize_url(&app, request.redirect_uri, state.expose(), &challenge),
        state,
        expires_at,
    })
}

/// What the provider's redirect to the callback carried besides the state.
pub enum CallbackInput {
    /// The authorization code (RFC 6749 §4.1.2).
    Code(SecretValue),
    /// The provider's error (RFC 6749 §4.1.2.1).
    Error {
        /// `error`.
        code: String,
        /// `error_description`, as sent.
        description: Option<String>,
    },
}

/// A callback's outcome for a known, unexpired state: which credential, where the browser goes,
/// and whether its tokens were stored (with its status then) or why not, in words.
#[derive(Debug)]
pub struct Completed {
    /// The credential's team.
    pub team_id: TeamId,
    /// The credential.
    pub credential_id: CredentialId,
    /// Where the browser goes.
    pub return_to: ConnectReturn,
    /// The credential's status once its tokens were stored, or why nothing was stored (never
    /// quoting a secret).
    pub outcome: Result<CredentialStatus, String>,
}

/// Completes the connect whose single-use state is `state`, with what the provider's redirect
/// carried, exchanging a code through `endpoint`; the tokens are written as an update by the
/// principal who started, in request `request_id`.
///
/// [`Error::ConnectStateUnknown`] for a state that is unknown, already used or expired (one
/// answer for all three); the pending connect is gone after any call that found it. A provider's
/// error, a refused exchange, or a principal who may no longer update the credential is a
/// [`Completed`] with the reason in words, and nothing is written.
pub fn complete(
    store: &Store,
    key_ring: &KeyRing,
    endpoint: &dyn TokenEndpoint,
    state: &str,
    input: CallbackInput,
    request_id: RequestId,
) -> Result<Completed, Error> {
    let pending = store
        .take_connect(&TokenHash::of(state).to_hex(), now())?
        .ok_or(Error::ConnectStateUnknown)?;
    let outcome = exchange_and_store(store, key_ring, endpoint, &pending, input, request_id)?;
    if let Err(reason) = &outcome {
        log::info!(
            "credential {}: OAuth connect failed: {reason}",
            pending.credential_id
        );
    }
    Ok(Completed {
        team_id: pending.team_id,
        credential_id: pending.credential_id,
        return_to: pending.return_to,
        outcome,
    })
}

/// The part of [`complete`] after the state was taken: `Ok(Err(words))` for every failure the
/// person connecting should read.
fn exchange_and_store(
    store: &Store,
    key_ring: &KeyRing,
    endpoint: &dyn TokenEndpoint,
    pending: &ConnectState,
    input: CallbackInput,
    request_id: RequestId,
) -> Result<Result<CredentialStatus, String>, Error> {
    let (team_id, id) = (pending.team_id, pending.credential_id);
    let code = match input {
        CallbackInput::Code(code) => code,
        CallbackInput::Error { code, description } => {
            let description = description
                .as_deref()
                .and_then(|text| clean_description(text, &[]));
            return Ok(Err(provider_error_text(
                error_code_or_unknown(&code),
                description.as_deref(),
            )));
        }
    };
    let role = store
        .membership(&TeamRef::Id(team_id), pending.principal.id)?
        .map(|(_, role)| role);
    if authorize(role, Action::UpdateIntegration).is_err() {
        return Ok(Err(
            "whoever started this connect may no longer change the credential; nothing was stored"
                .to_owned(),
        ));
    }
    let Some(stored) = store.find_credential(team_id, id)? else {
        return Ok(Err(
            "the credential no longer exists; nothing was stored".to_owned()
        ));
    };
    if let Err(not_connectable) = check_connectable(&stored.credential, stored.oauth_app.as_ref()) {
        return Ok(Err(format!("{not_connectable}; nothing was stored")));
    }
    let Some(app_id) = stored.credential.oauth_app_id else {
        return Ok(Err(
            "the credential is not linked to an OAuth app".to_owned()
        ));
    };
    let app = store
        .find_oauth_app(team_id, app_id)?
        .ok_or(StoreError::NotFound)?;
    let client_secret = secrets::open_client_secret(key_ring, &app)?;
    let mut verifier = key_ring.open(
        &Sealed::from_bytes(&pending.verifier.bytes)?,
        &Aad::for_connect(team_id, id),
    )?;
    let code_verifier = verifier.remove(VERIFIER).ok_or(StoreError::Corrupt(
        "a pending connect's sealed verifier holds no verifier".to_owned(),
    ))?;
    let exchange = CodeExchange {
        token_url: app.app.token_url.clone(),
        client_id: app.app.client_id.clone(),
        client_secret,
        code,
        redirect_uri: pending.redirect_uri.clone(),
        code_verifier,
    };
    let grant = match endpoint.exchange_code(team_id, &exchange) {
        Ok(grant) => grant,
        Err(error) => return Ok(Err(exchange_error_text(&error))),
    };
    let actor = Actor::from(&pending.principal);
    let written = store
        .update_credential(team_id, id, None, |current| {
            let mut secrets_now = secrets::open(key_ring, current)?;
            let mut effects = BTreeMap::new();
            secrets_now.insert(ACCESS_TOKEN.to_owned(), grant.access_token.clone());
            effects.insert(ACCESS_TOKEN.to_owned(), SecretEffect::Set);
            if let Some(refresh_token) = &grant.refresh_token {
                secrets_now.insert(REFRESH_TOKEN.to_owned(), refresh_token.clone());
                effects.insert(REFRESH_TOKEN.to_owned(), SecretEffect::Set);
            }
            let at = now();
            let mut credential = current.credential.clone();
            match expiry_of(at, grant.expires_in) {
                Some(expires) => {
                    credential.extra_data.insert(
                        EXPIRES_AT.to_owned(),
                        Value::String(expires_at_text(expires)),
                    );
                }
                None => {
                    credential.extra_data.remove(EXPIRES_AT);
                }
            }
            credential.status = status_after_connect(&credential);
            credential.health = Health {
                status: HealthStatus::Healthy,
                notes: Vec::new(),
                checked_at: Some(at),
            };
            credential.secret_fields = secrets_now.names().map(str::to_owned).collect();
            let mut changed_fields: Vec<String> = effects
                .keys()
                .map(|name| format!("secrets.{name}"))
                .collect();
            if credential.extra_data.get(EXPIRES_AT)
                != current.credential.extra_data.get(EXPIRES_AT)
            {
                changed_fields.push(format!("extra_data.{EXPIRES_AT}"));
            }
            if credential.status != current.credential.status {
                changed_fields.push("status".to_owned());
            }
            if credential.health.status != current.credential.health.status
                || credential.health.notes != current.credential.health.notes
            {
                changed_fields.push("health".to_owned());
            }
            let ciphertext = secrets::seal(key_ring, team_id, id, &secrets_now)?.ok_or(
                StoreError::Corrupt("connected secrets sealed to nothing".to_owned()),
            )?;
            Ok::<_, Error>(CredentialChange::Update {
                edit: CredentialEdit::from(credential),
                secrets: SecretsUpdate::Replace(ciphertext),
                audit: AuditNote {
                    changed_fields,
                    secrets: effects,
                    ..AuditNote::new(AuditAction::Updated, actor, request_id)
                },
            })
        })
        .map_err(Error::from)?;
    log::info!("credential {id}: connected through OAuth by {}", actor.id);
    Ok(Ok(written.credential.status))
}

/// A refused code exchange, in words.
fn exchange_error_text(error: &TokenError) -> String {
    let what = match error {
        TokenError::InvalidGrant { .. } => format!(
            "the provider refused the authorization code ({error}): it expired, was already used, \
             or did not match this connect; connect again"
        ),
        TokenError::InvalidClient { .. } => {
            format!("the provider refused the OAuth app ({error}): check its client id and secret")
        }
        TokenError::Rejected { .. } => {
            format!("the provider's token endpoint refused the code exchange ({error})")
        }
        TokenError::Refused { .. } => {
            format!("the token URL may not be reached from this server: {error}")
        }
        TokenError::Transient { .. } => {
            format!("the provider's token endpoint failed ({error}); connect again later")
        }
    };
    format!("{what}; nothing was stored")
}
