//! How a workload connects to what a credential points at: the connection part of a *use*
//! (SPEC §10), built from the same fields a connection test reads.
//!
//! For PostgreSQL, the libpq parameters (`host`, `port`, `dbname`, `user`, `password`, `sslmode`,
//! and any other keyword of a stored connection string) and one `postgresql://` URI; for SFTP,
//! the host, port, user name and the pinned host key. Other providers have none.

use credvault_domain::credential::Credential;
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_domain::validate::ValidationErrors;

/// How to connect, by provider.
#[derive(Debug)]
pub enum Connection {
    /// A PostgreSQL server.
    Postgresql(PostgresConnection),
    /// An SFTP server.
    Sftp(SftpConnection),
}

/// The libpq parameters of a PostgreSQL credential. `Debug` masks every value of `params`
/// that may be secret (`password`) and the URI.
#[derive(Debug)]
pub struct PostgresConnection {
    /// `postgresql://user:password@host:port/dbname?sslmode=…`, every part percent-encoded.
    pub uri: SecretValue,
    /// libpq keyword → value, in a stable order (`host`, `port`, `dbname`, `user`, `password`,
    /// `sslmode`, then any other keyword of a connection string). Only keywords with a value.
    pub params: Vec<(String, SecretValue)>,
}

/// The connection settings of an SFTP credential (its secrets are the use's `secrets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpConnection {
    /// Host name or address.
    pub host: String,
    /// Port (22 when not stored).
    pub port: u16,
    /// User name.
    pub username: String,
    /// The pinned host key (`SHA256:…`), if the credential has one.
    pub host_key_sha256: Option<String>,
}

/// The connection of `credential` with its (opened) `secrets`: `None` for providers without one,
/// field errors when the stored fields cannot make one.
pub fn connection_for(
    credential: &Credential,
    secrets: &SecretMap,
) -> Result<Option<Connection>, ValidationErrors> {
    let _ = (credential, secrets);
    todo!("connection_for")
}
