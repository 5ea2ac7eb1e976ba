//! `credvault admin …`: create teams, and issue, list and revoke user tokens, without the HTTP API.

use anyhow::{Context, Result, bail};
use chrono::{TimeDelta, Utc};
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::ids::PrincipalId;
use credvault_domain::principal::Role;
use credvault_domain::team::{Team, TeamLabel, TeamRef};
use credvault_persistence::{NewUserToken, PageRequest, Store, StoreError, UserToken};
use serde_json::{Value, json};

use crate::config::Config;

/// Prefix of user API tokens, so a leaked one is recognisable (the same as the API's).
pub const USER_TOKEN_PREFIX: &str = credvault_api::handlers::tokens::USER_TOKEN_PREFIX;

/// Creates a team and an owner token; prints `{"team_id", "label", "owner_token", "token_id"}`.
pub fn create_team(config: &Config, label: &str) -> Result<()> {
    let label: TeamLabel = label
        .parse()
        .with_context(|| format!("invalid team label {label:?}"))?;
    let store = super::open_store(config)?;
    let team = store
        .create_team(&label)
        .with_context(|| format!("creating team {label}"))?;
    let token = generate_token(USER_TOKEN_PREFIX);
    let issued = store
        .issue_user_token(&NewUserToken {
            team_id: team.id,
            role: Role::Owner,
            name: "team owner (admin CLI)",
            token_hash: &TokenHash::of(token.expose()).to_hex(),
            created_by: None,
            expires_at: None,
        })
        .context("creating the owner token")?;
    log::info!(
        "user token {} issued in team {} with role owner by the admin CLI",
        issued.id,
        team.id
    );
    super::print_json(&json!({
        "team_id": team.id.to_string(),
        "label": team.label.as_str(),
        "owner_token": token.expose(),
        "token_id": issued.id.to_string(),
    }));
    Ok(())
}

/// Creates a user token with a role in a team; prints
/// `{"principal_id", "token_id", "team_id", "role", "name", "expires_at", "token"}`.
pub fn create_token(
    config: &Config,
    team: &str,
    role: &str,
    name: &str,
    expires_in: Option<u32>,
) -> Result<()> {
    let role: Role = role.parse().context("invalid role")?;
    let name = credvault_domain::validate::check_name(name)
        .map_err(|message| anyhow::anyhow!("invalid name: {message}"))?;
    let store = super::open_store(config)?;
    let team = find_team(&store, team)?;
    let expires_at = expires_in.map(|seconds| Utc::now() + TimeDelta::seconds(seconds.into()));
    let token = generate_token(USER_TOKEN_PREFIX);
    let issued = store
        .issue_user_token(&NewUserToken {
            team_id: team.id,
            role,
            name: &name,
            token_hash: &TokenHash::of(token.expose()).to_hex(),
            created_by: None,
            expires_at,
        })
        .context("creating the token")?;
    log::info!(
        "user token {} issued in team {} with role {role} by the admin CLI",
        issued.id,
        team.id
    );
    let mut printed = token_json(&issued);
    printed["principal_id"] = json!(issued.id.to_string());
    printed["token_id"] = json!(issued.id.to_string());
    printed["token"] = json!(token.expose());
    super::print_json(&printed);
    Ok(())
}

/// Prints `{"items": [...]}`: every user token of the team, oldest first, metadata only.
pub fn list_tokens(config: &Config, team: &str) -> Result<()> {
    let store = super::open_store(config)?;
    let team = find_team(&store, team)?;
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_user_tokens(team.id, PageRequest { after, limit: 100 })
            .context("listing the tokens")?;
        items.extend(page.items.iter().map(token_json));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    super::print_json(&json!({ "items": items }));
    Ok(())
}

/// Revokes a user token of any team; prints `{"revoked": true, "token_id", "team_id"}`.
pub fn revoke_token(config: &Config, token_id: &str) -> Result<()> {
    let id: PrincipalId = token_id
        .parse()
        .with_context(|| format!("invalid token id {token_id:?}"))?;
    let store = super::open_store(config)?;
    let revoked = match store.revoke_user_token_in_any_team(id) {
        Ok(revoked) => revoked,
        Err(StoreError::NotFound) => bail!("no user token {id}"),
        Err(error) => return Err(error).context("revoking the token"),
    };
    log::info!(
        "user token {id} revoked in team {} by the admin CLI",
        revoked.team_id
    );
    super::print_json(&json!({
        "revoked": true,
        "token_id": id.to_string(),
        "team_id": revoked.team_id.to_string(),
    }));
    Ok(())
}

fn find_team(store: &Store, team: &str) -> Result<Team> {
    let team_ref: TeamRef = team
        .parse()
        .with_context(|| format!("invalid team {team:?}"))?;
    match store.find_team(&team_ref).context("looking the team up")? {
        Some(team) => Ok(team),
        None => bail!("no team {team_ref}"),
    }
}

/// A user token's metadata as the CLI prints it (the API's shape).
fn token_json(token: &UserToken) -> Value {
    json!({
        "id": token.id.to_string(),
        "team_id": token.team_id.to_string(),
        "name": token.name,
        "role": token.role.as_str(),
        "created_at": token.created_at.to_rfc3339(),
        "expires_at": token.expires_at.map(|at| at.to_rfc3339()),
        "last_used_at": token.last_used_at.map(|at| at.to_rfc3339()),
        "created_by": token.created_by.map(|id| id.to_string()),
    })
}
