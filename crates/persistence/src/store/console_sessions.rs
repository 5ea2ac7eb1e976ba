//! Web console sessions: sign-in with a user token, lookup by the session id's hash, sign-out.

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::principal::PrincipalKind;

use crate::error::StoreError;
use crate::rows::ConsoleSessionRow;
use crate::store::Store;
use crate::types::{CONSOLE_SESSION_TOUCH_PRECISION, ConsoleSession, NewConsoleSession};
use crate::{backend, convert, repo};

impl Store {
    /// Signs in to the web console: when `new.token_hash` is an unexpired *user* token, stores a
    /// session under `new.id_hash` in that token's team, ending at `now + new.lifetime` or at the
    /// token's expiry, whichever comes first. `None` for an unknown or expired token, and for a
    /// service account's (the console is for people). Also deletes some ended sessions; `idle`
    /// is the console's idle timeout, which tells which.
    pub fn open_console_session(
        &self,
        new: &NewConsoleSession<'_>,
        now: DateTime<Utc>,
        idle: TimeDelta,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let now = credvault_domain::time::to_micros(now);
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let Some(token) = repo::principals::authenticate(conn, new.token_hash, now)? else {
                return Ok(None);
            };
            if token.principal.kind != PrincipalKind::User {
                return Ok(None);
            }
            let Some(team_id) = repo::user_tokens::team_of(conn, token.principal.id)? else {
                return Ok(None);
            };
            repo::console_sessions::purge_ended(conn, now, now - idle)?;
            let mut expires_at = now + new.lifetime;
            if let Some(token_expires_at) = token.expires_at {
                expires_at = expires_at.min(token_expires_at);
            }
            let session = ConsoleSession {
                team_id,
                principal_id: token.principal.id,
                created_at: now,
                last_seen_at: now,
                expires_at,
                csrf_secret: new.csrf_secret.clone(),
            };
            repo::console_sessions::insert(
                conn,
                &ConsoleSessionRow {
                    id_hash: new.id_hash.to_owned(),
                    team_id: team_id.to_string(),
                    principal_id: token.principal.id.to_string(),
                    created_at: convert::db_time(now),
                    last_seen_at: convert::db_time(now),
                    expires_at: convert::db_time(expires_at),
                    csrf_secret: new.csrf_secret.expose().to_owned(),
                },
            )?;
            Ok(Some(session))
        })
    }

    /// The live console session stored under `id_hash` (see [`Store::open_console_session`]):
    /// `None` once it is past its absolute end, has been idle for `idle`, was signed out, or its
    /// user token expired or was revoked. A use records `last_seen_at` (to
    /// [`CONSOLE_SESSION_TOUCH_PRECISION`]).
    pub fn console_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle: TimeDelta,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let now = credvault_domain::time::to_micros(now);
        let mut conn = self.conn()?;
        let Some(mut session) =
            repo::console_sessions::find_live(&mut conn, id_hash, now, now - idle)?
        else {
            return Ok(None);
        };
        let fresh_after = now - CONSOLE_SESSION_TOUCH_PRECISION;
        if session.last_seen_at <= fresh_after {
            // Only the idle timeout reads it; a failure to record it must not refuse the request.
            let touched = backend::write_transaction(&mut conn, |conn| {
                repo::console_sessions::touch(conn, id_hash, now, fresh_after)
            });
            match touched {
                Ok(()) => session.last_seen_at = now,
                Err(error) => log::warn!("could not record the use of a console session: {error}"),
            }
        }
        Ok(Some(session))
    }

    /// Signs out: deletes the session stored under `id_hash`. Returns whether there was one.
    pub fn end_console_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::console_sessions::delete(conn, id_hash)
        })
    }
}
