//! Grants of *use*: the permission to receive a credential's plaintext secrets.
//!
//! Seeing that a credential exists and what it points at (the `member` role) is not permission
//! to get its secrets. That is a separate grant, held by nobody by default: an owner grants a
//! service account *use* of one named credential. Users never hold it: a person who needs a
//! password reads it where it is used, through a workload that holds a grant, so that every
//! release of a plaintext secret is a `used` event naming a machine identity and a request.
//!
//! A grant names one credential. A grant for "every credential of a provider" would quietly
//! extend to credentials created after it, and could not be audited on any one credential's
//! trail; owners name the credentials instead.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ids::{CredentialId, GrantId, PrincipalId, ServiceAccountId, TeamId};
use crate::validate::ValidationErrors;

/// A service account's grant of *use* of one credential of its team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The grant's id (UUID v7).
    pub id: GrantId,
    /// The team of the credential and of the service account.
    pub team_id: TeamId,
    /// The credential that may be used.
    pub credential_id: CredentialId,
    /// The service account that may use it.
    pub service_account_id: ServiceAccountId,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// The owner who granted it.
    pub created_by: PrincipalId,
}

impl Grant {
    /// A new grant by `created_by`, at `created_at`.
    pub fn new(
        team_id: TeamId,
        credential_id: CredentialId,
        service_account_id: ServiceAccountId,
        created_by: PrincipalId,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: GrantId::new(),
            team_id,
            credential_id,
            service_account_id,
            created_at,
            created_by,
        }
    }
}

/// The body of a grant: the service account to grant use to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewGrant {
    /// The service account.
    pub service_account_id: ServiceAccountId,
}

impl NewGrant {
    /// The keys a grant's body may have.
    pub const FIELDS: [&'static str; 1] = ["service_account_id"];

    /// Reads a grant's JSON body: an object with one UUID `service_account_id`. Every problem
    /// is listed, by field; values are never quoted.
    ///
    /// ```
    /// use credvault_domain::grant::NewGrant;
    /// use serde_json::json;
    ///
    /// let id = "0192f3a4-0000-7000-8000-0000000000cc";
    /// assert!(NewGrant::from_json(json!({"service_account_id": id})).is_ok());
    /// let refused = NewGrant::from_json(json!({"service_account_id": id, "role": "owner"}));
    /// assert_eq!(refused.unwrap_err().errors()[0].field, "role");
    /// ```
    pub fn from_json(value: Value) -> Result<Self, ValidationErrors> {
        let Value::Object(object) = value else {
            return Err(ValidationErrors::single(
                "body",
                "must be a JSON object with `service_account_id`",
            ));
        };
        let mut errors = ValidationErrors::new();
        for key in object.keys() {
            if !Self::FIELDS.contains(&key.as_str()) {
                errors.push(
                    key.clone(),
                    "is not a field of a grant; send `service_account_id` only",
                );
            }
        }
        let service_account_id = match object.get("service_account_id") {
            None | Some(Value::Null) => {
                errors.push(
                    "service_account_id",
                    "is required: the service account to grant use to",
                );
                None
            }
            Some(Value::String(text)) => match text.parse::<ServiceAccountId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(
                        "service_account_id",
                        "must be a service account's id (a UUID)",
                    );
                    None
                }
            },
            Some(_) => {
                errors.push(
                    "service_account_id",
                    "must be a service account's id (a UUID)",
                );
                None
            }
        };
        match service_account_id {
            Some(service_account_id) if errors.is_empty() => Ok(Self { service_account_id }),
            _ => Err(errors),
        }
    }
}
