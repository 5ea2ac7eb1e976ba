//! `credvault keys …`: master key tools.

use anyhow::{Context, Result};
use credvault_crypto::{KeyId, generate_master_key};
use serde_json::json;

/// Prints a new random master key as `{"key_id", "key": "id:base64"}`.
pub fn generate(id: &str) -> Result<()> {
    let key_id: KeyId = id.parse().context("invalid key id")?;
    super::print_json(&json!({
        "key_id": key_id.as_str(),
        "key": format!("{key_id}:{}", generate_master_key()),
    }));
    Ok(())
}
