//! One module per command.

pub mod admin;
pub mod exec;
pub mod keys;
pub mod migrate;
pub mod serve;

use anyhow::{Context, Result};
use credvault_persistence::Store;

use crate::config::Config;

/// Opens the database and applies pending migrations.
pub(crate) fn open_store(config: &Config) -> Result<Store> {
    let store = Store::open(&config.database_url, &config.store_options())
        .with_context(|| format!("opening the database {}", config.database_display()))?;
    let applied = store.migrate().context("applying database migrations")?;
    if !applied.is_empty() {
        log::info!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(store)
}

/// Prints one JSON object on stdout, the machine-readable result of a command.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
