//! The HTTP API through the real actix stack, on SQLite and (when configured) PostgreSQL.
//!
//! One test binary (`cargo test -p credvault-api --test api`). Each test that touches the
//! database is written once as `fn name(db: &TestDb)` and instantiated as `sqlite::name` and
//! `postgres::name` by `credvault_persistence::backend_tests!`. `helpers::TestApp` starts a server
//! on `127.0.0.1:0` per test and offers clients per principal. The connection-test servers (a
//! SCRAM cluster, an OpenSSH server) are `credvault_probe::testing`'s; the probe library's own
//! tests are that crate's.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod account_name;
mod client_address;
mod connection_tests;
mod console;
mod credential_oauth_apps;
mod credentials_crud;
mod credentials_patch;
mod errors;
mod fallback;
mod grants_and_use;
mod health_and_metrics;
mod health_check_intervals;
mod helpers;
mod http_semantics;
mod idempotency;
mod input_rules;
mod oauth_apps;
mod oauth_connect;
mod oauth_refresh;
mod openapi;
mod operations;
mod outage;
mod secrets;
mod service_accounts;
mod slow_clients;
mod tenancy;
mod throttle;
mod token_cache;
mod tokens;
