//! `credvault keys …`: master key tools.
//!
//! `rotate` re-encrypts every stored ciphertext to the active key while the server keeps
//! serving: the credentials' secrets, then the OAuth apps' client secrets. Each batch is its own
//! transaction and locks the rows it rewrites, so a concurrent PATCH either commits first (and
//! its new ciphertext, already under the active key, is skipped) or waits for the batch.
//! Interrupting it loses nothing; running it again resumes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, anyhow, bail};
use credvault_crypto::{CryptoError, KeyId, KeyRing, generate_master_key};
use credvault_domain::ids::{CredentialId, OAuthAppId};
use credvault_persistence::Store;
use credvault_usecases::rotation::{self, RotationError};
use serde_json::json;

use crate::config::Config;

/// Prints a new random master key as `{"key_id", "key": "id:base64"}`.
pub fn generate(id: &str) -> Result<()> {
    let key_id: KeyId = id.parse().context("invalid key id")?;
    super::print_json(&json!({
        "key_id": key_id.as_str(),
        "key": format!("{key_id}:{}", generate_master_key()),
    }));
    Ok(())
}

/// Prints how many ciphertexts each key protects, and which stored key ids are not configured.
pub fn status(config: &Config) -> Result<()> {
    let store = super::open_store(config)?;
    let (key_ring, _) = config.load_key_ring()?;
    let counts = counts_by_key(&store)?;
    let unknown: Vec<&String> = counts
        .keys()
        .filter(|key_id| !is_configured(&key_ring, key_id))
        .collect();
    let configured: Vec<String> = key_ring.key_ids().iter().map(ToString::to_string).collect();
    super::print_json(&json!({
        "active_key_id": key_ring.active_key_id().as_str(),
        "configured_key_ids": configured,
        "ciphertexts_by_key": counts,
        "unconfigured_key_ids_in_use": unknown,
    }));
    Ok(())
}

/// Re-encrypts every ciphertext that is not under the active key; prints progress on stderr
/// (a bar on a terminal, JSON lines otherwise) and a summary on stdout.
pub fn rotate(config: &Config, batch_size: u32) -> Result<()> {
    let store = super::open_store(config)?;
    let (key_ring, _) = config.load_key_ring()?;
    let active = key_ring.active_key_id().to_string();
    let before = counts_by_key(&store)?;
    let missing: Vec<&String> = before
        .keys()
        .filter(|key_id| !is_configured(&key_ring, key_id))
        .collect();
    if !missing.is_empty() {
        bail!(
            "stored secrets are sealed under key id(s) {missing:?} that are not configured; add them \
             to CREDVAULT_MASTER_KEYS (after the active key) before rotating"
        );
    }
    let total: i64 = before
        .iter()
        .filter(|(key_id, _)| **key_id != active)
        .map(|(_, count)| count)
        .sum();
    // Every ciphertext not on the active key, credentials and apps alike.
    let mut progress = Progress::new(u64::try_from(total).unwrap_or(0));
    let batch_size = batch_size.max(1);
    let mut after: Option<CredentialId> = None;
    let mut credentials = 0u64;
    loop {
        let batch = rotation::reencrypt_batch(&store, &key_ring, after, batch_size)
            .map_err(describe)
            .context(
                "re-encrypting a batch (it was rolled back; run the command again to resume)",
            )?;
        credentials += batch.reencrypted;
        progress.update(credentials);
        match batch.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut after: Option<OAuthAppId> = None;
    let mut oauth_apps = 0u64;
    loop {
        let batch = rotation::reencrypt_oauth_app_batch(&store, &key_ring, after, batch_size)
            .map_err(describe)
            .context(
                "re-encrypting a batch of OAuth apps (it was rolled back; run the command again \
                 to resume)",
            )?;
        oauth_apps += batch.reencrypted;
        progress.update(credentials + oauth_apps);
        match batch.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    progress.finish();
    let reencrypted = credentials + oauth_apps;
    let after_counts = counts_by_key(&store)?;
    log::info!(
        "re-encrypted {credentials} credential(s) and {oauth_apps} OAuth app secret(s) to key \
         {active}"
    );
    super::print_json(&json!({
        "active_key_id": active,
        "reencrypted": reencrypted,
        "reencrypted_credentials": credentials,
        "reencrypted_oauth_apps": oauth_apps,
        "ciphertexts_by_key": after_counts,
    }));
    Ok(())
}

/// A batch's failure as the operator reads it: the credential or app it stopped at and why.
fn describe(error: RotationError) -> anyhow::Error {
    match error {
        RotationError::Store(error) => anyhow::Error::new(error),
        RotationError::Reseal {
            team_id,
            credential_id,
            source: CryptoError::UnknownKeyId(key_id),
        } => anyhow!(
            "credential {credential_id} of team {team_id} is sealed under key {key_id}, which is \
             not configured"
        ),
        RotationError::Reseal {
            team_id,
            credential_id,
            source,
        } => anyhow::Error::new(source)
            .context(format!("credential {credential_id} of team {team_id}")),
        RotationError::ResealOAuthApp {
            team_id,
            app_id,
            source: CryptoError::UnknownKeyId(key_id),
        } => anyhow!(
            "OAuth app {app_id} of team {team_id} has its client secret sealed under key \
             {key_id}, which is not configured"
        ),
        RotationError::ResealOAuthApp {
            team_id,
            app_id,
            source,
        } => anyhow::Error::new(source).context(format!("OAuth app {app_id} of team {team_id}")),
    }
}

fn counts_by_key(store: &Store) -> Result<BTreeMap<String, i64>> {
    Ok(store
        .ciphertext_counts()
        .context("counting ciphertexts by key")?
        .into_iter()
        .collect())
}

fn is_configured(key_ring: &KeyRing, key_id: &str) -> bool {
    key_id
        .parse::<KeyId>()
        .is_ok_and(|key_id| key_ring.contains(&key_id))
}

/// Progress on stderr: a bar on a terminal, one JSON object per update otherwise.
struct Progress {
    total: u64,
    terminal: bool,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, done: u64) {
        let mut stderr = std::io::stderr().lock();
        let total = self.total.max(done);
        if self.terminal {
            const WIDTH: u64 = 30;
            let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
            let bar: String = (0..WIDTH)
                .map(|i| if i < filled { '#' } else { '.' })
                .collect();
            let _ = write!(stderr, "\rre-encrypting [{bar}] {done}/{total}");
        } else {
            let _ = writeln!(
                stderr,
                "{}",
                json!({"progress": {"reencrypted": done, "total": total}})
            );
        }
    }

    fn finish(&self) {
        if self.terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
}
