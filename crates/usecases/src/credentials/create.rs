//! Create: a validated body becomes version 1 of a credential, its sealed secrets and its
//! `created` event, written in one transaction.

use credvault_crypto::KeyRing;
use credvault_domain::audit::AuditAction;
use credvault_domain::credential::Credential;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::patch::{NewCredential, new_credential};
use credvault_domain::time;
use credvault_persistence::{Ciphertext, IdempotencyClaim, Store, StoredResponse};

use super::Caller;
use crate::error::{Error, completing};
use crate::secrets;

/// Creates a credential in team `team_id` from `input`; returns it as stored.
pub fn create(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    caller: Caller,
    input: &NewCredential,
) -> Result<Credential, Error> {
    let (credential, ciphertext, note) = prepare(key_ring, team_id, caller, input)?;
    store.insert_credential(&credential, ciphertext.as_ref(), note)?;
    Ok(credential)
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
    render: impl FnOnce(&Credential) -> Result<StoredResponse, Error>,
) -> Result<StoredResponse, Error> {
    let (credential, ciphertext, note) = prepare(key_ring, team_id, caller, input)?;
    let response = render(&credential)?;
    store
        .insert_credential_completing(&credential, ciphertext.as_ref(), note, claim, &response)
        .map_err(completing)?;
    Ok(response)
}

/// The credential, ciphertext and audit note to insert. The credential's `created_at` and
/// `updated_at` are one instant, taken here because the response may be rendered before the
/// write; the store stamps the event with that same instant.
fn prepare(
    key_ring: &KeyRing,
    team_id: TeamId,
    caller: Caller,
    input: &NewCredential,
) -> Result<(Credential, Option<Ciphertext>, AuditNote), Error> {
    let now = time::now();
    let credential_id = CredentialId::new();
    let created = new_credential(input, credential_id, team_id, caller.actor.id, now)?;
    let ciphertext = secrets::seal(key_ring, team_id, credential_id, &created.secrets)?;
    let note = AuditNote {
        changed_fields: created.changed_fields,
        secrets: created.secret_effects,
        ..AuditNote::new(AuditAction::Created, caller.actor, caller.request_id)
    };
    Ok((created.credential, ciphertext, note))
}
