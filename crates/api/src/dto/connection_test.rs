//! The answer of a connection test (`POST …/integrations/{id}/test` and `POST …/integrations/test`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::probe::{TestCode, TestOutcome};

/// The outcome of a connection test. A test that ran answers `200` whatever it found: `ok` says
/// whether it connected and `code` why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ConnectionTestResult, example = json!({
    "ok": false, "code": "auth_failed",
    "message": "connection to server at \"db.internal\" (10.0.4.2), port 5432 failed: FATAL: password authentication failed for user \"etl\"",
    "latency_ms": 41
}))]
pub struct ConnectionTestResponse {
    /// Whether the test connected and authenticated (`code` is `ok`).
    #[schema(example = true)]
    pub ok: bool,
    /// What happened, for machines.
    pub code: TestCode,
    /// What happened, for people. Short; never contains a secret or the connection string.
    #[schema(example = "connected to PostgreSQL at etl@db.internal:5432/dw and ran SELECT 1")]
    pub message: String,
    /// How long the test took, name resolution included, in milliseconds.
    #[schema(example = 41)]
    pub latency_ms: u64,
}

impl From<TestOutcome> for ConnectionTestResponse {
    fn from(outcome: TestOutcome) -> Self {
        let ok = outcome.ok();
        let TestOutcome {
            code,
            message,
            latency,
        } = outcome;
        Self {
            ok,
            code,
            message,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
