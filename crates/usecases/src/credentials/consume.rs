//! Use: a service account holding a grant receives a credential's secrets (SPEC §10).
//!
//! One read (the credential and whether the caller holds a grant of it, together), the decision
//! (`domain::authz::authorize_use`, then `domain::release::released_fields`), the secrets opened
//! in memory, and one write that records the use (`last_used` and the `used` event naming the
//! released fields) only while the grant still exists. Nothing is released unless the use was
//! recorded: a grant revoked between the read and the write (on any instance) refuses the use.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use credvault_crypto::KeyRing;
use credvault_domain::audit::{AuditAction, SecretEffect};
use credvault_domain::authz::{Denied, authorize_use};
use credvault_domain::credential::{Credential, LastUse};
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::principal::{Principal, Role};
use credvault_domain::refresh::{expires_at, needs_refresh};
use credvault_domain::release::{ACCESS_TOKEN, released_fields};
use credvault_domain::secret::SecretMap;
use credvault_domain::time::now;
use credvault_persistence::{Store, StoreError, StoredCredential, UseOutcome};

use super::Caller;
use super::refresh::{Reason, Refreshed, Refresher};
use crate::error::Error;
use crate::secrets;

/// What a use released: the credential (with this use as its `last_used`) and the released
/// secrets in plaintext, wiped on drop. `Debug` masks the values.
pub struct Release {
    /// The credential, as stored, with `last_used` set to this use.
    pub credential: Credential,
    /// The released secrets; for OAuth kinds only the access token.
    pub secrets: SecretMap,
    /// When the use was recorded (the `used` event's `at`).
    pub used_at: DateTime<Utc>,
    /// The OAuth app the credential is linked to, without its client secret.
    pub oauth_app: Option<OAuthApp>,
}

impl std::fmt::Debug for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `SecretMap`'s own `Debug` prints the names and the mask.
        f.debug_struct("Release")
            .field("credential", &self.credential)
            .field("secrets", &self.secrets)
            .field("used_at", &self.used_at)
            .field("oauth_app", &self.oauth_app)
            .finish()
    }
}

/// Releases the secrets of credential `credential_id` of team `team_id` to `principal`, whose
/// role in the team is `role`, in request `caller`.
///
/// [`Error::Store`] `NotFound` when the team has no such credential; [`Error::Denied`]
/// `NotGranted` when the caller is a user, or a service account without a grant of it (also when
/// the grant is revoked while this runs); [`Error::NotUsable`] when there is nothing to release
/// yet; [`Error::Crypto`] when the secrets cannot be opened (their key is not in the ring).
/// Nothing is written unless the secrets are released.
///
/// With `refresh`, an OAuth credential whose access token is missing or expires within the
/// margin is refreshed first ([`super::refresh()`], once however many uses ask at the same
/// time), and the use releases the new token. If the refresh fails, the stored token is released
/// while it is still valid; otherwise [`Error::TokenUnavailable`] says why, in words.
#[expect(
    clippy::too_many_arguments,
    reason = "one call with what a use reads: who, in which request, of what, and how to refresh"
)]
pub fn use_credential(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    credential_id: CredentialId,
    role: Role,
    principal: &Principal,
    caller: Caller,
    refresh: Option<&Refresher>,
) -> Result<Release, Error> {
    let (mut stored, granted) = store
        .find_credential_for_use(team_id, credential_id, principal.service_account)?
        .ok_or(StoreError::NotFound)?;
    authorize_use(Some(role), principal.kind, granted)?;
    let service_account = principal.service_account.ok_or(Denied::NotGranted)?;
    if let Some(context) = refresh
        && needs_refresh(&stored.credential, None, now(), &context.settings)
    {
        stored = refreshed_for_use(store, key_ring, context, stored, principal, caller)?;
    }
    let released = released_fields(&stored.credential)?;
    let secrets = open_released(key_ring, &stored, &released)?;
    let mut note = AuditNote::new(AuditAction::Used, caller.actor, caller.request_id);
    note.secrets = released
        .iter()
        .map(|name| (name.clone(), SecretEffect::Released))
        .collect::<BTreeMap<_, _>>();
    let used_at = match store.record_use(team_id, credential_id, service_account, note)? {
        UseOutcome::Recorded(at) => at,
        UseOutcome::NotGranted => return Err(Denied::NotGranted.into()),
    };
    let StoredCredential {
        mut credential,
        oauth_app,
        ..
    } = stored;
    credential.last_used = Some(LastUse {
        at: used_at,
        by: caller.actor.id,
    });
    Ok(Release {
        credential,
        secrets,
        used_at,
        oauth_app,
    })
}

/// The credential after a refresh on behalf of a use: read again (with the caller's grant) when
/// the refresh stored new tokens or found them fresh; when it failed, the stored credential if its
/// access token is still valid, else why not.
fn refreshed_for_use(
    store: &Store,
    key_ring: &KeyRing,
    context: &Refresher,
    stored: StoredCredential,
    principal: &Principal,
    caller: Caller,
) -> Result<StoredCredential, Error> {
    let credential = &stored.credential;
    let (team_id, id) = (credential.team_id, credential.id);
    match super::refresh(
        store,
        key_ring,
        context,
        team_id,
        id,
        Reason::Use,
        caller.request_id,
    )? {
        Refreshed::Refreshed(_) | Refreshed::NotNeeded => {}
        Refreshed::Failed {
            stored: after,
            error,
        } => {
            unusable_unless_valid(credential, &after.credential, error.is_transient())?;
            log::warn!("credential {id}: refresh failed; releasing the stored token while valid");
        }
        Refreshed::Deferred {
            stored: after,
            retrying,
        } => {
            // Transient while a backoff runs (due again later); parked otherwise.
            unusable_unless_valid(credential, &after.credential, retrying)?;
        }
    }
    let (stored, _) = store
        .find_credential_for_use(team_id, id, principal.service_account)?
        .ok_or(StoreError::NotFound)?;
    Ok(stored)
}

/// `Ok` when `credential`'s stored access token is still valid, so a use may release it although
/// it could not be refreshed; else [`Error::TokenUnavailable`] with the health note of `after`.
fn unusable_unless_valid(
    credential: &Credential,
    after: &Credential,
    transient: bool,
) -> Result<(), Error> {
    let still_valid = credential.secret_fields.contains(ACCESS_TOKEN)
        && expires_at(credential).is_some_and(|expires| expires > now());
    if still_valid {
        return Ok(());
    }
    let note = after.health.notes.first().cloned().unwrap_or_else(|| {
        "the access token has expired and could not be refreshed; reconnect the credential"
            .to_owned()
    });
    Err(Error::TokenUnavailable { transient, note })
}

/// The stored secrets named in `released`, opened; the others are wiped at once.
fn open_released(
    key_ring: &KeyRing,
    stored: &StoredCredential,
    released: &std::collections::BTreeSet<String>,
) -> Result<SecretMap, Error> {
    let mut all = secrets::open(key_ring, stored)?;
    let mut out = SecretMap::new();
    for name in released {
        if let Some(value) = all.remove(name) {
            out.insert(name.clone(), value);
        }
    }
    Ok(out)
}
