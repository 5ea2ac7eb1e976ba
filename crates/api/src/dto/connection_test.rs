//! The answer of a connection test (`POST …/integrations/{id}/test` and `POST …/integrations/test`).

use credvault_probe::{TestCode, TestOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::enums::mirror;

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
    pub code: TestCodeDto,
    /// What happened, for people. Short; never contains a secret or the connection string.
    #[schema(example = "connected to PostgreSQL at etl@db.internal:5432/dw and ran SELECT 1")]
    pub message: String,
    /// How long the test took, name resolution included, in milliseconds.
    #[schema(example = 41)]
    pub latency_ms: u64,
}

/// The outcome of a connection test, for machines: `ok` (connected and authenticated),
/// `auth_failed` (login refused: password, key, passphrase, role), `unreachable` (connection
/// refused, no route), `timeout` (no answer within the limit), `tls_required` (TLS required by
/// one side, not offered by the other), `tls_failed` (TLS handshake or certificate check
/// failed), `host_key_mismatch` (the SSH host key is not the pinned
/// `extra_data.host_key_sha256`), `database_not_found`, `dns_failed` (the host name does not
/// resolve), `refused_by_policy` (the outbound policy does not allow that address, local socket
/// or option), `error` (anything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TestCode)]
pub enum TestCodeDto {
    /// Connected and authenticated; for PostgreSQL `SELECT 1` ran, for SFTP the home directory
    /// was listed.
    Ok,
    /// The server refused the login (password, key, role, passphrase of the key).
    AuthFailed,
    /// Nothing accepted the connection (refused, no route).
    Unreachable,
    /// No answer within the time limit.
    Timeout,
    /// TLS is required by one side but not offered by the other.
    TlsRequired,
    /// The TLS handshake or the certificate check failed.
    TlsFailed,
    /// The SSH server's host key does not match `extra_data.host_key_sha256`.
    HostKeyMismatch,
    /// The PostgreSQL database does not exist.
    DatabaseNotFound,
    /// The host name could not be resolved.
    DnsFailed,
    /// The outbound policy does not allow connecting there (this server's own address, a denied
    /// network, a local socket or file).
    RefusedByPolicy,
    /// Anything else.
    Error,
}

mirror!(TestCode <=> TestCodeDto {
    Ok, AuthFailed, Unreachable, Timeout, TlsRequired, TlsFailed, HostKeyMismatch,
    DatabaseNotFound, DnsFailed, RefusedByPolicy, Error,
});

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
            code: code.into(),
            message,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
