//! First run: an empty database gets the team `demo` and an owner token, printed once.

use anyhow::{Context, Result};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::secret::SecretValue;
use credvault_domain::team::{Team, TeamLabel};
use credvault_persistence::Store;

use crate::commands::admin::USER_TOKEN_PREFIX;

/// The label of the team created on first run.
pub const DEMO_TEAM: &str = "demo";

/// The demo team and its owner token, when this run created them.
pub struct Demo {
    /// The new team.
    pub team: Team,
    /// Its owner's token (shown once).
    pub owner_token: SecretValue,
}

/// Creates the demo team when the database has no team at all.
///
/// Safe when several instances start at once on one empty database: the store checks and
/// creates in one transaction under a lock they all take, so one of them creates the team and
/// prints its token, and the others get `None`.
pub fn demo_team_if_empty(store: &Store) -> Result<Option<Demo>> {
    if store.count_teams().context("counting teams")? > 0 {
        return Ok(None);
    }
    let label: TeamLabel = DEMO_TEAM.parse().context("demo team label")?;
    let owner_token = generate_token(USER_TOKEN_PREFIX);
    let created = store
        .create_first_team(
            &label,
            &TokenHash::of(owner_token.expose()).to_hex(),
            "demo owner (first start)",
        )
        .context("creating the demo team and its owner token")?;
    let Some((team, token)) = created else {
        log::info!("another instance created the first team meanwhile");
        return Ok(None);
    };
    log::info!(
        "user token {} issued in team {} with role owner at first start",
        token.id,
        team.id
    );
    Ok(Some(Demo { team, owner_token }))
}
