//! What a libpq (or server) message means, as a [`TestCode`].

use crate::TestCode;

/// Classifies a libpq (or server) error message.
pub fn classify(message: &str) -> TestCode {
    let lower = message.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("timeout expired") {
        TestCode::Timeout
    } else if has("server does not support ssl")
        || (has("no pg_hba.conf entry") && has("no encryption"))
    {
        TestCode::TlsRequired
    } else if has("database \"") && has("\" does not exist") {
        TestCode::DatabaseNotFound
    } else if has("authentication failed")
        || has("no password supplied")
        || has("no pg_hba.conf entry")
        || has("pg_hba.conf rejects connection")
        || (has("role \"") && has("\" does not exist"))
        || has("scram")
    {
        TestCode::AuthFailed
    } else if has("could not translate host name") || has("name or service not known") {
        TestCode::DnsFailed
    } else if has("connection refused")
        || has("no route to host")
        || has("network is unreachable")
        || has("host is unreachable")
    {
        TestCode::Unreachable
    } else if [
        "ssl error",
        "ssl syscall",
        "ssl connection",
        "ssl negotiation",
        "ssl handshake",
        "certificate",
        "sslmode",
        "tlsv1",
        "unsupported protocol",
    ]
    .iter()
    .any(|needle| has(needle))
    {
        TestCode::TlsFailed
    } else {
        TestCode::Error
    }
}

/// What a failure says when its own message cannot be kept (empty, or holding a secret too short
/// to mask).
pub(crate) fn generic_message(code: TestCode) -> &'static str {
    match code {
        TestCode::Ok => "the test connected",
        TestCode::AuthFailed => "the server refused the login",
        TestCode::Unreachable => "the server could not be reached",
        TestCode::Timeout => "the server did not answer in time",
        TestCode::TlsRequired => "TLS is required by one side but not offered by the other",
        TestCode::TlsFailed => "the TLS handshake failed",
        TestCode::DatabaseNotFound => "the database does not exist",
        TestCode::DnsFailed => "the host name could not be resolved",
        TestCode::HostKeyMismatch => "the server's host key is not the pinned one",
        TestCode::RefusedByPolicy => "the outbound policy does not allow this connection",
        TestCode::Error => "the connection failed",
    }
}
