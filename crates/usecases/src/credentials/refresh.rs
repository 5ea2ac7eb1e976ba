//! Refreshing a stored OAuth token (RFC 6749 §6): claim the credential's refresh, redeem its
//! refresh token through the [`TokenEndpoint`], and write the new tokens, or the failure's status
//! and health, under the row lock, only if the refresh token redeemed is still the stored one.
//!
//! One refresh token is redeemed once: callers in this process queue on [`RefreshGate`] (one
//! mutex per credential), and callers in other processes meet at the store's claim (a lease on the
//! row, [`Store::claim_refresh`]). Whoever does not hold the claim waits for it to be released and
//! then finds the token fresh. Both the use of a credential (`consume`) and the upkeep worker
//! call [`refresh`]; the network half is the [`TokenEndpoint`]'s, so this crate stays free of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use credvault_crypto::KeyRing;
use credvault_domain::audit::{Actor, AuditAction, SecretEffect};
use credvault_domain::credential::Credential;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, RequestId, TeamId};
use credvault_domain::oauth_app::default_urls;
use credvault_domain::oauth_token::{RefreshRequest, TokenEndpoint, TokenError, TokenGrant};
use credvault_domain::refresh::{
    self, RefreshSettings, after_failure, after_success, expires_at_text, expiry_of,
};
use credvault_domain::schema::Provider;
use credvault_domain::schema::fields::{
    ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, EXPIRES_AT, REFRESH_TOKEN, SCOPES, TENANT_ID, TOKEN_URL,
};
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_domain::time::now;
use credvault_persistence::{
    Claim, RefreshOutcome, RefreshWrite, Store, StoreError, StoredCredential, UpkeepState,
};
use serde_json::Value;

use crate::error::Error;
use crate::secrets;

/// One mutex per credential being refreshed in this process, so that concurrent callers here
/// redeem a refresh token once and the others wait without polling the database.
#[derive(Debug, Default)]
struct RefreshGate {
    locks: Mutex<HashMap<CredentialId, Arc<Mutex<()>>>>,
}

impl RefreshGate {
    /// Runs `body` holding credential `id`'s mutex.
    fn with<T>(&self, id: CredentialId, body: impl FnOnce() -> T) -> T {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(id).or_default())
        };
        let result = {
            let _held = lock.lock().unwrap_or_else(PoisonError::into_inner);
            body()
        };
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's clone and ours: nobody else waits, so the entry goes.
        if Arc::strong_count(&lock) <= 2 {
            locks.remove(&id);
        }
        result
    }
}

/// What a refresh needs besides the store and the key ring; one per process, shared by the
/// requests that use credentials and the upkeep worker.
pub struct Refresher {
    /// Sends the token requests.
    pub endpoint: Arc<dyn TokenEndpoint>,
    /// When to refresh, and the rules after a failure.
    pub settings: RefreshSettings,
    /// Who claims: unique per process (and stable for its life), so a claim is recognizably ours.
    pub holder: String,
    /// How long a claim lasts: longer than a token request may take.
    pub lease: Duration,
    /// How long a caller waits for another process's refresh before giving up.
    pub wait: Duration,
    /// This process's queue per credential.
    gate: RefreshGate,
}

impl Refresher {
    /// A refresher sending through `endpoint` under `settings`, claiming as `holder`, with a
    /// lease of `lease` (make it longer than the endpoint's timeout) and callers waiting at most
    /// `wait` for another process's refresh.
    pub fn new(
        endpoint: Arc<dyn TokenEndpoint>,
        settings: RefreshSettings,
        holder: String,
        lease: Duration,
        wait: Duration,
    ) -> Self {
        Self {
            endpoint,
            settings,
            holder,
            lease,
            wait,
            gate: RefreshGate::default(),
        }
    }
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("settings", &self.settings)
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// Why a refresh was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A use found the access token missing or about to expire: refresh only if that is still
    /// so once the claim is held.
    Use,
    /// The upkeep worker's look: refresh if due now ([`refresh::due_now`]), else reschedule.
    Upkeep,
}

/// What [`refresh`] did.
#[derive(Debug)]
pub enum Refreshed {
    /// New tokens were stored; the credential as it is now.
    Refreshed(Box<StoredCredential>),
    /// The token endpoint refused or failed; its status and health were recorded.
    Failed {
        /// The credential as it is now.
        stored: Box<StoredCredential>,
        /// Why.
        error: TokenError,
    },
    /// Not asked: an earlier failure's backoff is still running, or a refusal parked the
    /// credential until a client writes it (so that uses do not hammer a failing provider). Its
    /// health says why.
    Deferred {
        /// The credential as it is now.
        stored: Box<StoredCredential>,
        /// Whether another attempt is scheduled (a backoff), rather than the credential parked.
        retrying: bool,
    },
    /// Nothing to do: the token was fresh once the claim was held (another caller refreshed
    /// it), the credential cannot be refreshed, or a client replaced the refresh token while it
    /// was redeemed. Nothing was recorded but the next look.
    NotNeeded,
}

/// Refreshes the OAuth token of credential `id` of team `team_id`, for `reason`, in request
/// `request_id` (the events' request; the actor is [`Actor::system`]).
///
/// [`Error::Store`] `NotFound` when the team has no such credential; [`Error::RefreshBusy`] when
/// another process held the claim for longer than [`Refresher::wait`]; [`Error::Crypto`]
/// when the secrets cannot be opened.
pub fn refresh(
    store: &Store,
    key_ring: &KeyRing,
    context: &Refresher,
    team_id: TeamId,
    id: CredentialId,
    reason: Reason,
    request_id: RequestId,
) -> Result<Refreshed, Error> {
    context.gate.with(id, || {
        let started = Instant::now();
        loop {
            let until = now() + TimeDelta::from_std(context.lease).unwrap_or(TimeDelta::MAX);
            match store.claim_refresh(team_id, id, &context.holder, until)? {
                Claim::Claimed { stored, upkeep } => {
                    return redeem(
                        store, key_ring, context, *stored, &upkeep, reason, request_id,
                    );
                }
                Claim::Busy(until) => {
                    if started.elapsed() >= context.wait {
                        return Err(Error::RefreshBusy);
                    }
                    let left = (until - now()).to_std().unwrap_or_default();
                    std::thread::sleep(left.clamp(Duration::from_millis(5), POLL));
                }
            }
        }
    })
}

/// How often a caller waiting for another process's refresh looks again.
const POLL: Duration = Duration::from_millis(50);

/// The claimed half of [`refresh`]: decide, redeem, record.
fn redeem(
    store: &Store,
    key_ring: &KeyRing,
    context: &Refresher,
    stored: StoredCredential,
    upkeep: &UpkeepState,
    reason: Reason,
    request_id: RequestId,
) -> Result<Refreshed, Error> {
    let credential = &stored.credential;
    let (team_id, id) = (credential.team_id, credential.id);
    let at = now();
    let wanted = match reason {
        Reason::Use => {
            refresh::needs_refresh(credential, upkeep.refreshed_at, at, &context.settings)
        }
        Reason::Upkeep => refresh::due_now(credential, upkeep.refreshed_at, at, &context.settings),
    };
    if !wanted {
        let next = refresh::next_look(credential, upkeep.refreshed_at, at, &context.settings);
        store.release_refresh(team_id, id, &context.holder, next)?;
        return Ok(Refreshed::NotNeeded);
    }
    let backing_off = upkeep.failures > 0 && upkeep.due_at.is_none_or(|due| due > at);
    if reason == Reason::Use && backing_off {
        store.release_refresh(team_id, id, &context.holder, upkeep.due_at)?;
        return Ok(Refreshed::Deferred {
            stored: Box::new(stored),
            retrying: upkeep.due_at.is_some(),
        });
    }
    let opened = match secrets::open(key_ring, &stored) {
        Ok(opened) => opened,
        Err(error) => {
            store.release_refresh(team_id, id, &context.holder, upkeep.due_at)?;
            return Err(error.into());
        }
    };
    let Some(refresh_token) = opened.get(REFRESH_TOKEN).cloned() else {
        store.release_refresh(team_id, id, &context.holder, None)?;
        return Ok(Refreshed::NotNeeded);
    };
    let client = match client_of(store, key_ring, &stored, &opened) {
        Ok(client) => client,
        Err(error) => {
            store.release_refresh(team_id, id, &context.holder, upkeep.due_at)?;
            return Err(error);
        }
    };
    let result = match client.request(refresh_token.clone()) {
        Ok(request) => context.endpoint.refresh(team_id, &request),
        Err(error) => Err(error),
    };
    let settings = context.settings;
    let mut superseded = false;
    let outcome = store.complete_refresh(team_id, id, &context.holder, |current, upkeep| {
        let write = decide(
            key_ring,
            current,
            upkeep,
            &refresh_token,
            &result,
            &settings,
            request_id,
        )?;
        superseded = matches!(write, RefreshWrite::Superseded);
        Ok::<_, Error>(write)
    });
    let stored = Box::new(outcome?);
    if superseded {
        log::info!("credential {id}: its refresh token was replaced while it was redeemed");
        return Ok(Refreshed::NotNeeded);
    }
    Ok(match result {
        Ok(_) => Refreshed::Refreshed(stored),
        Err(error) => Refreshed::Failed { stored, error },
    })
}

/// Under the row lock: the outcome to write, or [`RefreshWrite::Superseded`] when the refresh
/// token redeemed is no longer the stored one.
fn decide(
    key_ring: &KeyRing,
    current: &StoredCredential,
    upkeep: &UpkeepState,
    redeemed: &SecretValue,
    result: &Result<TokenGrant, TokenError>,
    settings: &RefreshSettings,
    request_id: RequestId,
) -> Result<RefreshWrite, Error> {
    let mut stored_secrets = secrets::open(key_ring, current)?;
    let still_stored = stored_secrets
        .get(REFRESH_TOKEN)
        .is_some_and(|stored| stored.constant_time_eq(redeemed));
    if !still_stored {
        return Ok(RefreshWrite::Superseded);
    }
    let credential = &current.credential;
    let at = now();
    let mut note = AuditNote::new(AuditAction::Refreshed, Actor::system(), request_id);
    let outcome = match result {
        Ok(grant) => {
            stored_secrets.insert(ACCESS_TOKEN.to_owned(), grant.access_token.clone());
            note.secrets
                .insert(ACCESS_TOKEN.to_owned(), SecretEffect::Set);
            if let Some(rotated) = &grant.refresh_token {
                stored_secrets.insert(REFRESH_TOKEN.to_owned(), rotated.clone());
                note.secrets
                    .insert(REFRESH_TOKEN.to_owned(), SecretEffect::Set);
            }
            let sealed =
                secrets::seal(key_ring, credential.team_id, credential.id, &stored_secrets)?
                    .ok_or(StoreError::Corrupt(
                        "refreshed secrets sealed to nothing".to_owned(),
                    ))?;
            let names = stored_secrets.names().map(str::to_owned).collect();
            let expires = expiry_of(at, grant.expires_in);
            let mut extra_data = credential.extra_data.clone();
            match expires {
                Some(expires) => {
                    extra_data.insert(
                        EXPIRES_AT.to_owned(),
                        Value::String(expires_at_text(expires)),
                    );
                }
                None => {
                    extra_data.remove(EXPIRES_AT);
                }
            }
            let after = after_success(credential, expires, at, settings);
            note.changed_fields = changed_fields(credential, &note.secrets, &after);
            RefreshOutcome {
                secrets: Some((sealed, names)),
                extra_data: Some(extra_data),
                status: after.status,
                health: after.health,
                failures: after.failures,
                due_at: after.due_at,
                refreshed: true,
                audit: note,
            }
        }
        Err(error) => {
            let after = after_failure(credential, upkeep.failures, error, at, settings);
            note.action = after.action;
            note.changed_fields = changed_fields(credential, &BTreeMap::new(), &after);
            RefreshOutcome {
                secrets: None,
                extra_data: None,
                status: after.status,
                health: after.health,
                failures: after.failures,
                due_at: after.due_at,
                refreshed: false,
                audit: note,
            }
        }
    };
    Ok(RefreshWrite::Outcome(Box::new(outcome)))
}

/// The names a refresh's event lists: the secrets it set, `extra_data.expires_at` after a
/// success, and `status` and `health` when they change.
fn changed_fields(
    credential: &Credential,
    secrets: &BTreeMap<String, SecretEffect>,
    after: &refresh::AfterRefresh,
) -> Vec<String> {
    let mut fields: Vec<String> = secrets
        .keys()
        .map(|name| format!("secrets.{name}"))
        .collect();
    if after.action == AuditAction::Refreshed {
        fields.push(format!("extra_data.{EXPIRES_AT}"));
    }
    if after.status != credential.status {
        fields.push("status".to_owned());
    }
    if after.health.status != credential.health.status
        || after.health.notes != credential.health.notes
    {
        fields.push("health".to_owned());
    }
    fields
}

/// The OAuth client a credential's refresh token was issued to: its linked app's client id,
/// secret, token URL and scopes, or else its own `client_id`, `client_secret`, `token_url` (or the
/// provider's default, for Microsoft in its `tenant_id`) and `scopes`. A credential's own scopes
/// win over its app's.
struct Client {
    client_id: Option<String>,
    client_secret: Option<SecretValue>,
    token_url: Option<String>,
    scopes: Vec<String>,
}

impl Client {
    /// The refresh request, or why the credential cannot make one (a `Rejected`, recorded like
    /// the provider's refusal: the credential is parked until a client fixes it).
    fn request(self, refresh_token: SecretValue) -> Result<RefreshRequest, TokenError> {
        let missing = |what: &str| TokenError::Rejected {
            code: "not_configured".to_owned(),
            description: Some(format!("the credential has no {what}")),
        };
        Ok(RefreshRequest {
            client_id: self.client_id.ok_or_else(|| missing(CLIENT_ID))?,
            client_secret: self.client_secret.ok_or_else(|| missing(CLIENT_SECRET))?,
            token_url: self.token_url.ok_or_else(|| missing(TOKEN_URL))?,
            refresh_token,
            scopes: self.scopes,
        })
    }
}

/// The [`Client`] of `stored`, whose secrets are `secrets`. Reads the linked app (and opens its
/// client secret) when there is one.
fn client_of(
    store: &Store,
    key_ring: &KeyRing,
    stored: &StoredCredential,
    secrets: &SecretMap,
) -> Result<Client, Error> {
    let credential = &stored.credential;
    let text = |name: &str| match credential.extra_data.get(name) {
        Some(Value::String(value)) if !value.trim().is_empty() => Some(value.trim().to_owned()),
        _ => None,
    };
    let scopes: Vec<String> = match credential.extra_data.get(SCOPES) {
        Some(Value::String(value)) => value.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(app_id) = credential.oauth_app_id {
        let app = store
            .find_oauth_app(credential.team_id, app_id)?
            .ok_or(StoreError::NotFound)?;
        let client_secret = secrets::open_client_secret(key_ring, &app)?;
        return Ok(Client {
            client_id: Some(app.app.client_id.clone()),
            client_secret: Some(client_secret),
            token_url: Some(app.app.token_url.clone()),
            scopes: if scopes.is_empty() {
                app.app.scopes.clone()
            } else {
                scopes
            },
        });
    }
    Ok(Client {
        client_id: text(CLIENT_ID),
        client_secret: secrets.get(CLIENT_SECRET).cloned(),
        token_url: text(TOKEN_URL)
            .or_else(|| default_token_url(credential.provider, text(TENANT_ID).as_deref())),
        scopes,
    })
}

/// The provider's token URL; Microsoft's in the credential's tenant when it names one.
fn default_token_url(provider: Provider, tenant: Option<&str>) -> Option<String> {
    let (url, _) = default_urls(provider)?;
    let tenant_ok = |tenant: &&str| {
        tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
    };
    match (provider, tenant.filter(tenant_ok)) {
        (Provider::Microsoft | Provider::Sharepoint, Some(tenant)) => {
            Some(url.replacen("/common/", &format!("/{tenant}/"), 1))
        }
        _ => Some(url.to_owned()),
    }
}
