//! `/api/v1/teams/{team}/service-accounts/{service_account_id}/credentials`: the client id and
//! secret pairs a service account signs in with.
//!
//! The secret is random (256 bits), shown once in the create response and stored only as its
//! SHA-256. Deleting a credential revokes the tokens issued through it at once.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod patch;

use credvault_domain::ids::{ClientCredentialId, ServiceAccountId, TeamId};

/// The prefix of client ids (`cvc_…`): public, but recognisable.
pub const CLIENT_ID_PREFIX: &str = "cvc";
/// The prefix of client secrets (`cvs_…`), so that secret scanners can recognise them.
pub const CLIENT_SECRET_PREFIX: &str = "cvs";

/// `/api/v1/teams/{team}/service-accounts/{service_account_id}/credentials/{id}`.
pub fn client_credential_location(
    team_id: TeamId,
    service_account_id: ServiceAccountId,
    id: ClientCredentialId,
) -> String {
    format!("/api/v1/teams/{team_id}/service-accounts/{service_account_id}/credentials/{id}")
}
