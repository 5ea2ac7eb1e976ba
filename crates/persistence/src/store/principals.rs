//! Principals: users and their tokens, authentication and team membership.

use chrono::{DateTime, Utc};
use credvault_domain::ids::{PrincipalId, TeamId};
use credvault_domain::principal::{Principal, Role};
use credvault_domain::team::{Team, TeamRef};
use credvault_domain::time::to_micros;

use crate::error::StoreError;
use crate::store::{Store, now};
use crate::types::{AuthenticatedToken, NewUserToken, Page, PageRequest, UserToken};
use crate::{backend, repo};

impl Store {
    /// Creates a user principal with `role` in the team and a bearer token stored as `token_hash`
    /// (hex SHA-256): a user token named "user token" that never expires.
    pub fn create_user(
        &self,
        team_id: TeamId,
        role: Role,
        token_hash: &str,
    ) -> Result<PrincipalId, StoreError> {
        let token = self.issue_user_token(&NewUserToken {
            team_id,
            role,
            name: "user token",
            token_hash,
            created_by: None,
            expires_at: None,
        })?;
        Ok(token.id)
    }

    /// Issues a user token: a user principal with the role in the team, its bearer token stored
    /// as `token_hash` (hex SHA-256) with its expiry, and the metadata owners list.
    pub fn issue_user_token(&self, new: &NewUserToken<'_>) -> Result<UserToken, StoreError> {
        let token = UserToken {
            id: PrincipalId::new(),
            team_id: new.team_id,
            name: new.name.to_owned(),
            role: new.role,
            created_by: new.created_by,
            created_at: now(),
            expires_at: new.expires_at.map(to_micros),
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::principals::insert_user_token(conn, &token, new.token_hash)
        })?;
        Ok(token)
    }

    /// A page of the team's user tokens, oldest first (expired ones included).
    pub fn list_user_tokens(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<UserToken>, StoreError> {
        repo::user_tokens::list_in_team(&mut *self.conn()?, team_id, page)
    }

    /// One user token of the team.
    pub fn find_user_token(
        &self,
        team_id: TeamId,
        id: PrincipalId,
    ) -> Result<Option<UserToken>, StoreError> {
        repo::user_tokens::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// Revokes a user token of the team: its principal, membership, token and metadata are
    /// deleted, so it stops authenticating at the next store lookup. `NotFound` when the team has
    /// no such user token (a service account's principal is not one).
    pub fn revoke_user_token(&self, team_id: TeamId, id: PrincipalId) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::user_tokens::find_in_team(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
            repo::principals::delete(conn, id)
        })
    }

    /// Revokes a user token of whatever team it is in, for the admin CLI (an operator's tool,
    /// never reachable over HTTP); returns what it was. `NotFound` when there is none.
    pub fn revoke_user_token_in_any_team(&self, id: PrincipalId) -> Result<UserToken, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let token =
                repo::user_tokens::find_in_any_team(conn, id)?.ok_or(StoreError::NotFound)?;
            repo::principals::delete(conn, id)?;
            Ok(token)
        })
    }

    /// The principal holding an unexpired token with this hash.
    pub fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        Ok(self
            .authenticate_token(token_hash, now)?
            .map(|token| token.principal))
    }

    /// The principal holding an unexpired token with this hash, and when the token expires, so
    /// that a cache of the answer does not outlive the token.
    pub fn authenticate_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthenticatedToken>, StoreError> {
        repo::principals::authenticate(&mut *self.conn()?, token_hash, now)
    }

    /// The team and the principal's role in it, in one query. `None` when the team does not exist
    /// *or* the principal has no role in it: callers must not tell these apart.
    pub fn membership(
        &self,
        team: &TeamRef,
        principal_id: PrincipalId,
    ) -> Result<Option<(Team, Role)>, StoreError> {
        repo::teams::membership(&mut *self.conn()?, team, principal_id)
    }
}
