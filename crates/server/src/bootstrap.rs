//! First run: an empty database gets the team `demo` and an owner token, printed once.

use anyhow::{Context, Result};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::principal::Role;
use credvault_domain::secret::SecretValue;
use credvault_domain::team::{Team, TeamLabel};
use credvault_persistence::{NewUserToken, Store};

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
pub fn demo_team_if_empty(store: &Store) -> Result<Option<Demo>> {
    if store.count_teams().context("counting teams")? > 0 {
        return Ok(None);
    }
    let label: TeamLabel = DEMO_TEAM.parse().context("demo team label")?;
    let team = store
        .create_team(&label)
        .context("creating the demo team")?;
    let owner_token = generate_token(USER_TOKEN_PREFIX);
    store
        .issue_user_token(&NewUserToken {
            team_id: team.id,
            role: Role::Owner,
            name: "demo owner (first start)",
            token_hash: &TokenHash::of(owner_token.expose()).to_hex(),
            created_by: None,
            expires_at: None,
        })
        .context("creating the demo owner token")?;
    Ok(Some(Demo { team, owner_token }))
}
