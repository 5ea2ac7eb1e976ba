//! Creating a credential and rotating its password with the domain crate alone.
//!
//! Run with `cargo run -p credvault-domain --example rotate_password`. A service that stores
//! credentials itself can copy this flow: parse the body, apply it to the stored state, store
//! the outcome (sealing `outcome.secrets` first) only when `outcome.changed()`.

use chrono::Utc;
use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::patch::{CredentialPatch, NewCredential, apply_patch, new_credential};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let team_id = TeamId::new();
    let owner = PrincipalId::new();

    let create_body = json!({
        "provider": "postgresql",
        "kind": "user_password",
        "name": "Warehouse",
        "extra_data": {"host": "db.internal", "port": 5432, "database": "dw", "username": "etl",
                       "password": "first-password"}
    });
    let input = NewCredential::from_json(create_body)?;
    let created = new_credential(&input, CredentialId::new(), team_id, owner, Utc::now())?;
    report(
        "created",
        &created.changed_fields,
        created.credential.status.as_str(),
    );

    // An edit form sends the mask back for untouched secrets: nothing changes.
    let untouched = CredentialPatch::from_json(json!({"extra_data": {"password": "••••"}}))?;
    let outcome = apply_patch(&created.credential, Some(&created.secrets), &untouched)?;
    report(
        "mask sent back",
        &outcome.changed_fields,
        outcome.credential.status.as_str(),
    );

    // A new password replaces the stored one; the host moves too.
    let rotation = CredentialPatch::from_json(json!({
        "extra_data": {"password": "second-password", "host": "db2.internal"}
    }))?;
    // Only a patch that touches secrets needs the decrypted values.
    let stored = rotation
        .touches_secrets(&created.credential)
        .then_some(&created.secrets);
    let outcome = apply_patch(&created.credential, stored, &rotation)?;
    report(
        "rotated",
        &outcome.changed_fields,
        outcome.credential.status.as_str(),
    );

    // Invalid input: every problem at once, nothing to store.
    let invalid = CredentialPatch::from_json(json!({"extra_data": {"port": 0, "api_token": "x"}}))?;
    if let Err(error) = apply_patch(&created.credential, None, &invalid) {
        eprintln!("rejected: {error}");
    }
    Ok(())
}

fn report(step: &str, changed_fields: &[String], status: &str) {
    eprintln!("{step}: changed {changed_fields:?}, status {status}");
}
