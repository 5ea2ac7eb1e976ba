//! Delete: the credential and its ciphertext go; its audit trail stays, ending with `deleted`.

use credvault_domain::audit::AuditAction;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_persistence::Store;

use super::Caller;
use crate::error::Error;

/// Deletes credential `credential_id` of team `team_id` and appends its `deleted` event;
/// [`Error::Store`] with `NotFound` when the team has no such credential.
pub fn delete(
    store: &Store,
    team_id: TeamId,
    credential_id: CredentialId,
    caller: Caller,
) -> Result<(), Error> {
    let note = AuditNote::new(AuditAction::Deleted, caller.actor, caller.request_id);
    // The store stamps the event, its `at` once the row is locked, so that it is the trail's last.
    store.delete_credential(team_id, credential_id, note)?;
    Ok(())
}
