//! `credvault migrate`: apply pending migrations and say which.

use anyhow::{Context, Result};
use credvault_persistence::Store;
use serde_json::json;

use crate::config::Config;

/// Applies pending migrations and prints `{"database", "applied": [...]}`.
pub fn run(config: &Config) -> Result<()> {
    let store = Store::open(&config.database_url, &config.store_options())
        .with_context(|| format!("opening the database {}", config.database_display()))?;
    let applied = store.migrate().context("applying database migrations")?;
    super::print_json(&json!({"database": config.database_display(), "applied": applied}));
    Ok(())
}
