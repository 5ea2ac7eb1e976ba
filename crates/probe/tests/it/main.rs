//! Connection tests against real servers: the throwaway SCRAM cluster and an OpenSSH server of
//! `credvault_probe::testing`, closed ports and ports that never answer; and the OAuth token
//! client against the token server of `credvault_probe::testing::oauth_server`.
//!
//! One test binary (`cargo test -p credvault-probe --test it`). A test whose server this machine
//! cannot run skips, saying why, unless `CREDVAULT_REQUIRE_PROBE_SERVERS=1` (or
//! `CREDVAULT_REQUIRE_POSTGRES=1`) makes it fail.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod libpq;
mod oauth;
mod policy;
mod postgres;
mod sftp;
mod support;
