//! Grants of *use* (SPEC §10): an owner grants a service account use of one credential, lists
//! who may use it, and revokes. Each grant and revocation is an event on the credential's trail.

use credvault_domain::audit::AuditAction;
use credvault_domain::edit::AuditNote;
use credvault_domain::grant::Grant;
use credvault_domain::ids::{CredentialId, GrantId, ServiceAccountId, TeamId};
use credvault_domain::time;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::{GrantFilter, Store, StoreError};

use crate::credentials::Caller;
use crate::error::Error;

/// Grants service account `service_account_id` use of credential `credential_id` of team
/// `team_id`; returns the grant and whether it is new (a service account that already holds one
/// gets it back, and nothing is written).
///
/// [`Error::Invalid`] (`service_account_id`) when the team has no such service account;
/// [`Error::Store`] `NotFound` when it has no such credential.
pub fn grant(
    store: &Store,
    team_id: TeamId,
    credential_id: CredentialId,
    service_account_id: ServiceAccountId,
    caller: Caller,
) -> Result<(Grant, bool), Error> {
    if store
        .find_service_account(team_id, service_account_id)?
        .is_none()
    {
        return Err(no_such_service_account().into());
    }
    let grant = Grant::new(
        team_id,
        credential_id,
        service_account_id,
        caller.actor.id,
        time::now(),
    );
    let mut note = AuditNote::new(AuditAction::UseGranted, caller.actor, caller.request_id);
    note.changed_fields = vec![format!("grants.{service_account_id}")];
    match store.create_grant(&grant, note) {
        Ok(created) => Ok(created),
        // The service account went between the check and the write.
        Err(StoreError::NotFound)
            if store
                .find_service_account(team_id, service_account_id)?
                .is_none() =>
        {
            Err(no_such_service_account().into())
        }
        Err(error) => Err(error.into()),
    }
}

/// The grants of use of credential `credential_id` of team `team_id`, oldest first;
/// [`Error::Store`] `NotFound` when the team has no such credential.
pub fn list_for_credential(
    store: &Store,
    team_id: TeamId,
    credential_id: CredentialId,
) -> Result<Vec<Grant>, Error> {
    if store.find_credential(team_id, credential_id)?.is_none() {
        return Err(StoreError::NotFound.into());
    }
    Ok(store.list_grants(
        team_id,
        GrantFilter {
            credential_id: Some(credential_id),
            service_account_id: None,
        },
    )?)
}

/// The grants of use held by service account `service_account_id` of team `team_id`, oldest
/// first; [`Error::Store`] `NotFound` when the team has no such service account.
pub fn list_for_service_account(
    store: &Store,
    team_id: TeamId,
    service_account_id: ServiceAccountId,
) -> Result<Vec<Grant>, Error> {
    if store
        .find_service_account(team_id, service_account_id)?
        .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    Ok(store.list_grants(
        team_id,
        GrantFilter {
            credential_id: None,
            service_account_id: Some(service_account_id),
        },
    )?)
}

/// Revokes grant `grant_id` of credential `credential_id` of team `team_id`: the service account
/// can no longer use it, on any instance, from the moment this returns. Returns the grant;
/// [`Error::Store`] `NotFound` when the credential has no such grant.
pub fn revoke(
    store: &Store,
    team_id: TeamId,
    credential_id: CredentialId,
    grant_id: GrantId,
    caller: Caller,
) -> Result<Grant, Error> {
    let grant = store
        .list_grants(
            team_id,
            GrantFilter {
                credential_id: Some(credential_id),
                service_account_id: None,
            },
        )?
        .into_iter()
        .find(|grant| grant.id == grant_id)
        .ok_or(StoreError::NotFound)?;
    let mut note = AuditNote::new(AuditAction::UseRevoked, caller.actor, caller.request_id);
    note.changed_fields = vec![format!("grants.{}", grant.service_account_id)];
    Ok(store.revoke_grant(team_id, credential_id, grant_id, note)?)
}

fn no_such_service_account() -> ValidationErrors {
    ValidationErrors::single(
        "service_account_id",
        "this team has no such service account; grants of use are for service accounts only",
    )
}
