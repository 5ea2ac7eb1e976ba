//! Integration tests of the store. One binary; every test in a `backend_tests!` block runs on
//! SQLite and, when `CREDVAULT_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod concurrency;
mod connect_states;
mod console_sessions;
mod credentials;
mod grants;
mod idempotency;
mod oauth_app_links;
mod oauth_apps;
mod open;
mod rotation;
mod rotation_oauth_apps;
mod service_accounts;
mod support;
mod teams;
mod tenancy;
mod test_records;
mod upkeep;
