//! Servers for connection-test tests (feature `testing`, which only `[dev-dependencies]`
//! enable): a throwaway PostgreSQL cluster that checks passwords ([`cluster`]), an OpenSSH
//! server ([`sshd`]), and an OAuth 2.0 token and authorization server ([`oauth_server`], which
//! needs nothing installed and never skips).
//!
//! A machine without the server binaries skips these tests (the fixture says why), unless
//! [`servers_required`]: then a missing server fails the test, so that CI cannot pass by
//! skipping. Setting a fixture up either works or panics with a message saying why.

pub mod cluster;
pub mod oauth_server;
pub mod sshd;

use std::net::TcpListener;
use std::process::Command;

/// When this variable is `1` the connection-test servers (the SCRAM cluster, an SSH server) must
/// be available: the tests panic instead of skipping. `.ci/run` sets it; so does
/// [`REQUIRE_POSTGRES_VAR`].
pub const REQUIRE_PROBE_SERVERS_VAR: &str = "CREDVAULT_REQUIRE_PROBE_SERVERS";

/// The variable that makes the PostgreSQL tests of the workspace required (see
/// `credvault_persistence::testing`); it requires the connection-test servers too.
pub const REQUIRE_POSTGRES_VAR: &str = "CREDVAULT_REQUIRE_POSTGRES";

/// Whether a missing test server must fail the tests rather than skip them.
pub fn servers_required() -> bool {
    [REQUIRE_PROBE_SERVERS_VAR, REQUIRE_POSTGRES_VAR]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| value == "1"))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("cannot find a free port: {error}"))
}

/// Whether the tests run as root (the servers then run as a user of their own).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}
