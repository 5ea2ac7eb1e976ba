//! The PATCH: [`plan`] decides what a patch makes of a stored credential; [`update`] runs it on
//! the latest row inside the store's transaction and writes the change, [`dry_run`] runs it on
//! the row as read and writes nothing.
//!
//! Both go through the one pure [`plan`] (and a test with a body, `super::test`, does too), so a
//! dry run's answer is the credential a real PATCH would write, minus what only the write stamps
//! (`version`, `updated_at`, `modified_by`). The stored secrets are opened only when the patch
//! sets or clears one (a test opens them anyway, to connect).

use std::collections::BTreeMap;

use credvault_crypto::KeyRing;
use credvault_domain::audit::{AuditAction, SecretEffect};
use credvault_domain::credential::Credential;
use credvault_domain::edit::{AuditNote, CredentialEdit};
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::patch::{CredentialPatch, Patch, PatchOutcome, apply_patch};
use credvault_domain::secret::SecretMap;
use credvault_persistence::{
    CredentialChange, IdempotencyClaim, SecretsUpdate, Store, StoreError, StoredCredential,
    StoredResponse,
};

use super::{Caller, LinkedCredential, app_to_link, check_new_link, link_refused};
use crate::error::{Error, completing};
use crate::secrets;

/// A PATCH of one credential, as the caller sent it.
#[derive(Clone, Copy, Debug)]
pub struct PatchRequest<'a> {
    /// The credential's team.
    pub team_id: TeamId,
    /// The credential.
    pub credential_id: CredentialId,
    /// The version the caller expects (`If-Match`); `None` for no condition.
    pub expected_version: Option<i64>,
    /// The parsed body.
    pub patch: &'a CredentialPatch,
    /// Who asks.
    pub caller: Caller,
}

/// What a patch makes of a stored credential, decided without writing.
#[derive(Debug)]
pub struct Plan {
    outcome: PatchOutcome,
}

/// Applies `patch` to `current` in memory. `stored_secrets` are its opened secrets, needed when
/// the patch sets or clears one ([`CredentialPatch::touches_secrets`]).
pub fn plan(
    current: &Credential,
    stored_secrets: Option<&SecretMap>,
    patch: &CredentialPatch,
) -> Result<Plan, Error> {
    Ok(Plan {
        outcome: apply_patch(current, stored_secrets, patch)?,
    })
}

impl Plan {
    /// The would-be credential (`version`, `updated_at` and `modified_by` as stored).
    pub fn credential(&self) -> &Credential {
        &self.outcome.credential
    }

    /// Whether the patch changes anything; one that does not writes nothing.
    pub fn changes_anything(&self) -> bool {
        self.outcome.changed()
    }

    /// The changed fields (`name`, `extra_data.host`, `secrets.password`, `status`, …).
    pub fn changed_fields(&self) -> &[String] {
        &self.outcome.changed_fields
    }

    /// What happened to each secret field the patch named.
    pub fn secret_effects(&self) -> &BTreeMap<String, SecretEffect> {
        &self.outcome.secret_effects
    }

    /// The outcome of the merge, whole.
    pub fn into_outcome(self) -> PatchOutcome {
        self.outcome
    }

    /// The change to write on `current`: the caller-owned fields, the sealed secrets (only when
    /// they changed) and the `updated` note of `caller`.
    fn into_change(
        self,
        key_ring: &KeyRing,
        current: &Credential,
        caller: Caller,
    ) -> Result<CredentialChange, Error> {
        if !self.changes_anything() {
            return Ok(CredentialChange::Unchanged);
        }
        let PatchOutcome {
            credential,
            secrets,
            changed_fields,
            secret_effects,
        } = self.outcome;
        let secrets = match secrets {
            None => SecretsUpdate::Keep,
            Some(new_secrets) => {
                match secrets::seal(key_ring, current.team_id, current.id, &new_secrets)? {
                    Some(ciphertext) => SecretsUpdate::Replace(ciphertext),
                    None => SecretsUpdate::Remove,
                }
            }
        };
        Ok(CredentialChange::Update {
            edit: CredentialEdit::from(credential),
            secrets,
            audit: AuditNote {
                changed_fields,
                secrets: secret_effects,
                ..AuditNote::new(AuditAction::Updated, caller.actor, caller.request_id)
            },
        })
    }
}

/// Runs the PATCH on the latest stored row and writes its change with an `updated` event (a
/// patch that changes nothing writes nothing); returns the credential as it is then.
///
/// A patch that links an OAuth app (`oauth_app_id`) must name an app of the team and the
/// credential's provider, or [`Error::Invalid`] and nothing is written.
pub fn update(
    store: &Store,
    key_ring: &KeyRing,
    request: &PatchRequest<'_>,
) -> Result<LinkedCredential, Error> {
    let link = &request.patch.oauth_app_id;
    let app = app_to_link(store, request.team_id, link)?;
    let stored = store
        .update_credential(
            request.team_id,
            request.credential_id,
            request.expected_version,
            |stored| decide(key_ring, request, app.as_ref(), stored),
        )
        .map_err(|error| link_refused(error.into(), link))?;
    Ok(LinkedCredential {
        credential: stored.credential,
        oauth_app: stored.oauth_app,
    })
}

/// [`update`], completing `claim` in the same transaction with the response `render` makes of
/// the credential as it is after the update; returns that response.
pub fn update_completing(
    store: &Store,
    key_ring: &KeyRing,
    request: &PatchRequest<'_>,
    claim: &IdempotencyClaim,
    render: impl FnOnce(&LinkedCredential) -> Result<StoredResponse, Error>,
) -> Result<StoredResponse, Error> {
    let link = &request.patch.oauth_app_id;
    let app = app_to_link(store, request.team_id, link)?;
    let mut response = None;
    store
        .update_credential_completing(
            request.team_id,
            request.credential_id,
            request.expected_version,
            claim,
            |stored| decide(key_ring, request, app.as_ref(), stored),
            |stored| {
                let rendered = render(&LinkedCredential {
                    credential: stored.credential.clone(),
                    oauth_app: stored.oauth_app.clone(),
                })?;
                response = Some(rendered.clone());
                Ok(rendered)
            },
        )
        .map_err(|error| link_refused(completing(error), link))?;
    response.ok_or_else(|| Error::Render("the update completed without a response".to_owned()))
}

/// The PATCH without a write: the credential it would produce from the row as stored now,
/// after the same `If-Match` check as [`update`].
pub fn dry_run(
    store: &Store,
    key_ring: &KeyRing,
    request: &PatchRequest<'_>,
) -> Result<LinkedCredential, Error> {
    let link = &request.patch.oauth_app_id;
    let app = app_to_link(store, request.team_id, link)?;
    let stored = store
        .find_credential(request.team_id, request.credential_id)?
        .ok_or(StoreError::NotFound)?;
    let current = stored.credential.version;
    if request
        .expected_version
        .is_some_and(|expected| expected != current)
    {
        return Err(StoreError::VersionMismatch { current }.into());
    }
    let stored_secrets = secrets_for(key_ring, &stored, request.patch)?;
    let plan = plan(&stored.credential, stored_secrets.as_ref(), request.patch)?;
    check_new_link(plan.credential(), link, app.as_ref())?;
    let oauth_app = match link {
        Patch::Absent => stored.oauth_app,
        Patch::Null => None,
        Patch::Value(_) => app,
    };
    Ok(LinkedCredential {
        credential: plan.into_outcome().credential,
        oauth_app,
    })
}

/// The update closure: plan on the row the store read (or locked), then the change to write.
fn decide(
    key_ring: &KeyRing,
    request: &PatchRequest<'_>,
    app: Option<&OAuthApp>,
    stored: &StoredCredential,
) -> Result<CredentialChange, Error> {
    let stored_secrets = secrets_for(key_ring, stored, request.patch)?;
    let plan = plan(&stored.credential, stored_secrets.as_ref(), request.patch)?;
    check_new_link(plan.credential(), &request.patch.oauth_app_id, app)?;
    plan.into_change(key_ring, &stored.credential, request.caller)
}

/// The stored secrets, opened only when the patch sets or clears one.
fn secrets_for(
    key_ring: &KeyRing,
    stored: &StoredCredential,
    patch: &CredentialPatch,
) -> Result<Option<SecretMap>, Error> {
    if !patch.touches_secrets(&stored.credential) {
        return Ok(None);
    }
    Ok(Some(secrets::open(key_ring, stored)?))
}
