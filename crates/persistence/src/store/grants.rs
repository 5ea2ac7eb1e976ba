//! Grants of *use* of a credential to a service account, and the record of each use (SPEC §10).
//!
//! Every grant and revocation appends a `use_granted` / `use_revoked` event to the credential's
//! trail, in the same transaction; every use appends a `used` event and sets the credential's
//! `last_used` without a new version (server-owned state, like `health`), only while the grant
//! still exists, so a grant revoked on one instance stops uses on every other at once.

use credvault_domain::edit::AuditNote;
use credvault_domain::grant::Grant;
use credvault_domain::ids::{CredentialId, GrantId, ServiceAccountId, TeamId};

use crate::error::StoreError;
use crate::store::Store;
use crate::types::{GrantFilter, StoredCredential, UseOutcome};

impl Store {
    /// Stores `grant` and appends the `use_granted` event of `audit` (stamped with the grant's
    /// `created_at`) to its credential's trail. When the service account already holds a grant
    /// of the credential, returns that one and writes nothing; the flag says whether `grant` was
    /// stored. `NotFound` when the team has no such credential or no such service account.
    pub fn create_grant(
        &self,
        grant: &Grant,
        audit: AuditNote,
    ) -> Result<(Grant, bool), StoreError> {
        let _ = (grant, audit);
        todo!("create_grant")
    }

    /// The team's grants that match `filter`, oldest first.
    pub fn list_grants(
        &self,
        team_id: TeamId,
        filter: GrantFilter,
    ) -> Result<Vec<Grant>, StoreError> {
        let _ = (team_id, filter);
        todo!("list_grants")
    }

    /// Deletes grant `id` of credential `credential_id` of the team and appends the `use_revoked`
    /// event of `audit`; returns the grant. `NotFound` (nothing written) when the team has no
    /// such grant of that credential.
    pub fn revoke_grant(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        id: GrantId,
        audit: AuditNote,
    ) -> Result<Grant, StoreError> {
        let _ = (team_id, credential_id, id, audit);
        todo!("revoke_grant")
    }

    /// Whether service account `service_account_id` holds a grant of use of the credential.
    pub fn holds_grant(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
    ) -> Result<bool, StoreError> {
        let _ = (team_id, credential_id, service_account_id);
        todo!("holds_grant")
    }

    /// The credential, for a use by `service_account_id` (`None` for a user): the row and
    /// whether that service account holds a grant of it, read together. `None` when the team
    /// has no such credential.
    pub fn find_credential_for_use(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: Option<ServiceAccountId>,
    ) -> Result<Option<(StoredCredential, bool)>, StoreError> {
        let _ = (team_id, credential_id, service_account_id);
        todo!("find_credential_for_use")
    }

    /// Records a use of the credential by `service_account_id`: sets its `last_used` (`at` and
    /// the actor of `audit`) and appends the `used` event of `audit`, both stamped with one new
    /// instant, in one atomic write and only if the grant still exists: otherwise nothing is
    /// written and the answer is [`UseOutcome::NotGranted`]. `version`, `updated_at` and
    /// `modified_by` stay. `NotFound` when the team has no such credential (any more).
    pub fn record_use(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
        audit: AuditNote,
    ) -> Result<UseOutcome, StoreError> {
        let _ = (team_id, credential_id, service_account_id, audit);
        todo!("record_use")
    }
}
