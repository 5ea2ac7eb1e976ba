//! The views of connection tests: the outcome of a test (never a secret: the probe's messages
//! are scrubbed) and the page of a stored credential's test.

use askama::Template;
use credvault_probe::TestOutcome;

use crate::console::views::{Chrome, ErrorRow};

/// What a connection test found, as shown.
pub struct TestResult {
    /// Whether it connected and authenticated.
    pub ok: bool,
    /// What happened, for machines (`ok`, `auth_failed`, `unreachable`, …).
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
    /// How long it took, in milliseconds.
    pub latency_ms: u128,
}

impl From<&TestOutcome> for TestResult {
    fn from(outcome: &TestOutcome) -> Self {
        Self {
            ok: outcome.ok(),
            code: outcome.code.as_str(),
            message: outcome.message.clone(),
            latency_ms: outcome.latency.as_millis(),
        }
    }
}

/// The outcome of testing a stored credential, or why it cannot be tested.
#[derive(Template)]
#[template(path = "console/connection_test.html")]
pub struct ConnectionTestPage {
    /// The layout.
    pub chrome: Chrome,
    /// The credential's id.
    pub id: String,
    /// The credential's name.
    pub name: String,
    /// What the test found; `None` when it could not run.
    pub result: Option<TestResult>,
    /// Why it could not run (missing fields, a provider that cannot be tested).
    pub errors: Vec<ErrorRow>,
}
