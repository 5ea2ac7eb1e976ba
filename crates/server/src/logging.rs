//! Logging: `env_logger` on stderr, `RUST_LOG` filter, `info` by default.
//!
//! What never reaches a log line: secret values, tokens, request or response bodies, header
//! values (see docs/LOGGING.md).

/// Starts the logger. Safe to call more than once (later calls do nothing).
pub fn init() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_millis()
        .try_init();
}
