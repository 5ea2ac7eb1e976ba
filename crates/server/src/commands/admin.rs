//! `credvault admin …`: create teams and tokens without the HTTP API.

use anyhow::{Context, Result, bail};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::principal::Role;
use credvault_domain::team::{TeamLabel, TeamRef};
use serde_json::json;

use crate::config::Config;

/// Prefix of user API tokens, so a leaked one is recognisable.
pub const USER_TOKEN_PREFIX: &str = "cvu";

/// Creates a team and an owner token; prints `{"team_id", "label", "owner_token"}`.
pub fn create_team(config: &Config, label: &str) -> Result<()> {
    let label: TeamLabel = label
        .parse()
        .with_context(|| format!("invalid team label {label:?}"))?;
    let store = super::open_store(config)?;
    let team = store
        .create_team(&label)
        .with_context(|| format!("creating team {label}"))?;
    let token = generate_token(USER_TOKEN_PREFIX);
    store
        .create_user(
            team.id,
            Role::Owner,
            &TokenHash::of(token.expose()).to_hex(),
        )
        .context("creating the owner token")?;
    super::print_json(&json!({
        "team_id": team.id.to_string(),
        "label": team.label.as_str(),
        "owner_token": token.expose(),
    }));
    Ok(())
}

/// Creates a user token with a role in a team; prints `{"principal_id", "token"}`.
pub fn create_token(config: &Config, team: &str, role: &str) -> Result<()> {
    let team_ref: TeamRef = team
        .parse()
        .with_context(|| format!("invalid team {team:?}"))?;
    let role: Role = role.parse().context("invalid role")?;
    let store = super::open_store(config)?;
    let Some(team) = store.find_team(&team_ref).context("looking the team up")? else {
        bail!("no team {team_ref}");
    };
    let token = generate_token(USER_TOKEN_PREFIX);
    let principal_id = store
        .create_user(team.id, role, &TokenHash::of(token.expose()).to_hex())
        .context("creating the token")?;
    super::print_json(&json!({
        "principal_id": principal_id.to_string(),
        "team_id": team.id.to_string(),
        "role": role.as_str(),
        "token": token.expose(),
    }));
    Ok(())
}
