//! Pending OAuth connects: a start stores one, its callback takes it once.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::rows::ConnectStateRow;
use crate::store::Store;
use crate::types::{ConnectState, NewConnectState};
use crate::{backend, convert, repo};

impl Store {
    /// Stores a pending OAuth connect of `new.credential_id` (a credential of `new.team_id`;
    /// [`StoreError::NotFound`] when the team has no such credential). Also deletes some expired
    /// ones.
    pub fn begin_connect(&self, new: &NewConnectState<'_>) -> Result<(), StoreError> {
        let created_at = credvault_domain::time::to_micros(new.created_at);
        backend::write_transaction(&mut *self.conn()?, |conn| {
            if repo::credentials::find_in_team(conn, new.team_id, new.credential_id)?.is_none() {
                return Err(StoreError::NotFound);
            }
            repo::connect_states::purge_expired(conn, created_at)?;
            repo::connect_states::insert(
                conn,
                &ConnectStateRow {
                    state_hash: new.state_hash.to_owned(),
                    team_id: new.team_id.to_string(),
                    credential_id: new.credential_id.to_string(),
                    principal_id: new.principal_id.to_string(),
                    verifier_key_id: new.verifier.key_id.clone(),
                    verifier_ciphertext: new.verifier.bytes.clone(),
                    redirect_uri: new.redirect_uri.to_owned(),
                    return_to: new.return_to.as_str().to_owned(),
                    created_at: convert::db_time(created_at),
                    expires_at: convert::db_time(new.expires_at),
                },
            )
        })
    }

    /// Takes the pending connect stored under `state_hash`: deletes it and returns it, if it had
    /// not expired by `now`. Atomic and single-use: of concurrent callers, on one instance or
    /// many, at most one gets it, and nobody gets it again. `None` for an unknown, already taken
    /// or expired state (an expired one is deleted too).
    pub fn take_connect(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConnectState>, StoreError> {
        let taken = backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::connect_states::take(conn, state_hash)
        })?;
        Ok(taken.filter(|state| state.expires_at > now))
    }
}
