//! The `application/problem+json` body of every error (RFC 9457).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error, as RFC 9457 describes: what kind, a short title, the status, a human explanation and
/// the request id to quote when reporting it. Never holds a secret, SQL or a stack trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, safe to match on.
    #[serde(rename = "type")]
    #[schema(example = "https://credvault.dev/problems/validation")]
    pub problem_type: String,
    /// A short summary of the kind of problem (the same for every occurrence).
    #[schema(example = "Unprocessable Content")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[schema(example = "the request failed validation; see `errors`")]
    pub detail: String,
    /// The id of the request (`X-Request-ID`), also found in the server log and audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "0192f3a4-1b2c-7d3e-8f40-123456789abc")]
    pub request_id: Option<String>,
    /// For `422` (and a `400` about query parameters): every failing field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorResponse>>,
    /// For `412`: the version the credential is at now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 7)]
    pub current_version: Option<i64>,
}

/// One failing field of a `422` problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorResponse {
    /// The path of the field, e.g. `name`, `extra_data.port`, `clear_secrets.password`.
    #[schema(example = "extra_data.port")]
    pub field: String,
    /// What is wrong with it; never repeats the value.
    #[schema(example = "must be an integer from 1 to 65535")]
    pub message: String,
}

impl From<credvault_domain::validate::FieldError> for FieldErrorResponse {
    fn from(error: credvault_domain::validate::FieldError) -> Self {
        let credvault_domain::validate::FieldError { field, message } = error;
        Self { field, message }
    }
}
