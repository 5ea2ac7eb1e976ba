//! The use cases against a real store, on SQLite and (with `CREDVAULT_TEST_POSTGRES_URL`)
//! PostgreSQL: what each writes, and what the dry run and the test preparation do not.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod consume;
mod credentials;
mod health_checks;
mod oauth_apps;
mod refresh;
mod rotation;
mod secrets;
mod support;
