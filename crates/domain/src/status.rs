//! What a connection test does to a stored credential: the status and health rules after a test
//! (the rules after a PATCH are `patch`'s `settle_status`).
//!
//! The outcome is server-owned state: `health` becomes `healthy` or `error` with the test's
//! message as its note, and `status` becomes `connected` or `error`, except that a `revoked`
//! credential keeps its status. It is written without a new version ([`TestRecord`]).

use chrono::{DateTime, Utc};

use crate::credential::{Credential, CredentialStatus, Health, HealthStatus};

/// The outcome of a connection test to write on the tested credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRecord {
    /// The version that was tested; a credential changed since keeps its state.
    pub version: i64,
    /// The status after the test.
    pub status: CredentialStatus,
    /// The health after the test.
    pub health: Health,
    /// The field names the event gets when the outcome is written, e.g. `status`, `health`.
    pub recorded_fields: Vec<String>,
}

impl Credential {
    /// What a test of this credential that ran at `at` and succeeded (`ok`) or not, with
    /// `message` (never a secret), changes on it.
    pub fn record_test(&self, ok: bool, message: String, at: DateTime<Utc>) -> TestRecord {
        let health = Health {
            status: if ok {
                HealthStatus::Healthy
            } else {
                HealthStatus::Error
            },
            notes: vec![message],
            checked_at: Some(at),
        };
        let status = match self.status {
            CredentialStatus::Revoked => CredentialStatus::Revoked,
            _ if ok => CredentialStatus::Connected,
            _ => CredentialStatus::Error,
        };
        let mut recorded_fields = Vec::new();
        if status != self.status {
            recorded_fields.push("status".to_owned());
        }
        recorded_fields.push("health".to_owned());
        TestRecord {
            version: self.version,
            status,
            health,
            recorded_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stored_postgres_credential;

    fn with_status(status: CredentialStatus) -> Credential {
        let (mut credential, _) = stored_postgres_credential();
        credential.status = status;
        credential
    }

    #[test]
    fn success_connects_and_is_healthy() {
        let credential = with_status(CredentialStatus::CredentialsSaved);
        let at = crate::time::now();
        let record = credential.record_test(true, "connected in 3 ms".to_owned(), at);
        assert_eq!(record.status, CredentialStatus::Connected);
        assert_eq!(
            record.health,
            Health {
                status: HealthStatus::Healthy,
                notes: vec!["connected in 3 ms".to_owned()],
                checked_at: Some(at),
            }
        );
        assert_eq!(record.version, credential.version);
        assert_eq!(record.recorded_fields, ["status", "health"]);
    }

    #[test]
    fn failure_is_an_error() {
        let record = with_status(CredentialStatus::Connected).record_test(
            false,
            "timed out".to_owned(),
            crate::time::now(),
        );
        assert_eq!(record.status, CredentialStatus::Error);
        assert_eq!(record.health.status, HealthStatus::Error);
        assert_eq!(record.recorded_fields, ["status", "health"]);
    }

    #[test]
    fn an_unchanged_status_is_not_named() {
        let record = with_status(CredentialStatus::Connected).record_test(
            true,
            "ok".to_owned(),
            crate::time::now(),
        );
        assert_eq!(record.status, CredentialStatus::Connected);
        assert_eq!(record.recorded_fields, ["health"]);
    }

    #[test]
    fn revoked_keeps_its_status_whatever_the_outcome() {
        for ok in [true, false] {
            let record = with_status(CredentialStatus::Revoked).record_test(
                ok,
                "message".to_owned(),
                crate::time::now(),
            );
            assert_eq!(record.status, CredentialStatus::Revoked);
            assert_eq!(record.recorded_fields, ["health"]);
        }
    }
}
