//! Create: a validated body becomes version 1 of a credential, its sealed secrets and its
//! `created` event, written in one transaction.

use credvault_crypto::KeyRing;
use credvault_domain::audit::AuditAction;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::patch::{NewCredential, new_credential};
use credvault_domain::time;
use credvault_persistence::{Ciphertext, IdempotencyClaim, Store, StoredResponse};

use super::{Caller, LinkedCredential, app_to_link, check_new_link, link_refused};
use crate::error::{Error, completing};
use crate::secrets;

/// Creates a credential in team `team_id` from `input`; returns it as stored, with the OAuth app
/// it links to (`oauth_app_id` must name an app of the team and the credential's provider, or
/// [`Error::Invalid`]).
pub fn create(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    caller: Caller,
    input: &NewCredential,
) -> Result<LinkedCredential, Error> {
    let (linked, ciphertext, note) = prepare(store, key_ring, team_id, caller, input)?;
    store
        .insert_credential(&linked.credential, ciphertext.as_ref(), note)
        .map_err(|error| link_refused(error.into(), &input.fields.oauth_app_id))?;
    Ok(linked)
}

/// [`create`], completing `claim` in the same transaction with the response `render` makes of
/// the new credential (rendered before the write, so the answer and every replay are the same
/// bytes); returns that response.
pub fn create_completing(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    caller: Caller,
    input: &NewCredential,
    claim: &IdempotencyClaim,
    render: impl FnOnce(&LinkedCredential) -> Result<StoredResponse, Error>,
) -> Result<StoredResponse, Error> {
    let (linked, ciphertext, note) = prepare(store, key_ring, team_id, caller, input)?;
    let response = render(&linked)?;
    store
        .insert_credential_completing(
            &linked.credential,
            ciphertext.as_ref(),
            note,
            claim,
            &response,
        )
        .map_err(|error| link_refused(completing(error), &input.fields.oauth_app_id))?;
    Ok(response)
}

/// The credential (with its app), ciphertext and audit note to insert. The credential's
/// `created_at` and `updated_at` are one instant, taken here because the response may be
/// rendered before the write; the store stamps the event with that same instant.
fn prepare(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    caller: Caller,
    input: &NewCredential,
) -> Result<(LinkedCredential, Option<Ciphertext>, AuditNote), Error> {
    let now = time::now();
    let credential_id = CredentialId::new();
    let created = new_credential(input, credential_id, team_id, caller.actor.id, now)?;
    let link = &input.fields.oauth_app_id;
    let oauth_app = app_to_link(store, team_id, link)?;
    check_new_link(&created.credential, link, oauth_app.as_ref())?;
    let ciphertext = secrets::seal(key_ring, team_id, credential_id, &created.secrets)?;
    let note = AuditNote {
        changed_fields: created.changed_fields,
        secrets: created.secret_effects,
        ..AuditNote::new(AuditAction::Created, caller.actor, caller.request_id)
    };
    let linked = LinkedCredential {
        credential: created.credential,
        oauth_app,
    };
    Ok((linked, ciphertext, note))
}
