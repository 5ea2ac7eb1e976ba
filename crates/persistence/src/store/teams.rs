//! Teams: creating them (the first one under a lock) and finding them by id or label.

use credvault_domain::ids::{PrincipalId, TeamId};
use credvault_domain::principal::Role;
use credvault_domain::team::{Team, TeamLabel, TeamRef};

use crate::error::StoreError;
use crate::store::{Store, now};
use crate::types::UserToken;
use crate::{backend, repo, startup};

impl Store {
    /// Creates a team; `Conflict` when the label is taken.
    pub fn create_team(&self, label: &TeamLabel) -> Result<Team, StoreError> {
        let team = Team {
            id: TeamId::new(),
            label: label.clone(),
            created_at: now(),
        };
        repo::teams::insert(&mut *self.conn()?, &team)?;
        Ok(team)
    }

    /// Creates the team `label` with an owner token, but only if the database has no team at
    /// all; returns the team and the token's metadata, or `None` when a team existed.
    ///
    /// The check and the writes are one transaction that holds a lock every instance takes for
    /// this (an advisory lock on PostgreSQL, the write lock on SQLite), so of several instances
    /// starting at once on an empty database exactly one creates the team and the others find it.
    pub fn create_first_team(
        &self,
        label: &TeamLabel,
        owner_token_hash: &str,
        owner_token_name: &str,
    ) -> Result<Option<(Team, UserToken)>, StoreError> {
        let at = now();
        let team = Team {
            id: TeamId::new(),
            label: label.clone(),
            created_at: at,
        };
        let token = UserToken {
            id: PrincipalId::new(),
            team_id: team.id,
            name: owner_token_name.to_owned(),
            role: Role::Owner,
            created_by: None,
            created_at: at,
            expires_at: None,
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            startup::lock_bootstrap(conn)?;
            if repo::teams::count(conn)? > 0 {
                return Ok(None);
            }
            repo::teams::insert(conn, &team)?;
            repo::principals::insert_user_token(conn, &token, owner_token_hash)?;
            Ok(Some((team, token)))
        })
    }

    /// How many teams exist (the server creates `demo` when there are none).
    pub fn count_teams(&self) -> Result<i64, StoreError> {
        repo::teams::count(&mut *self.conn()?)
    }

    /// Looks a team up by id or label.
    pub fn find_team(&self, team: &TeamRef) -> Result<Option<Team>, StoreError> {
        repo::teams::find(&mut *self.conn()?, team)
    }
}
