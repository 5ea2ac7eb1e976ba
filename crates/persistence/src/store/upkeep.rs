//! The upkeep of stored OAuth tokens: claims on a credential's refresh (a lease, so that one
//! refresh token is redeemed once across requests, workers and instances), the write of a
//! refresh's outcome, and the due list of the upkeep worker.
//!
//! All of it is server-owned state: nothing here moves a credential's `version`, `updated_at` or
//! `modified_by`, so an owner's `If-Match` keeps working across refreshes.

use chrono::{DateTime, Utc};
use credvault_domain::credential::{CredentialStatus, Health};
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, EventId, TeamId};
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::{Store, now};
use crate::convert::{db_time, utc};
use crate::error::{UpdateError, db_error};
use crate::schema::credentials;
use crate::types::{Ciphertext, StoredCredential};
use crate::{StoreError, backend, repo};

/// The upkeep columns of one credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpkeepState {
    /// When the worker next looks at it; `None` when nothing is scheduled.
    pub due_at: Option<DateTime<Utc>>,
    /// Failed refreshes in a row.
    pub failures: u32,
    /// The claim on its refresh, if any: who holds it and until when.
    pub lease: Option<(String, DateTime<Utc>)>,
    /// The last successful refresh.
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// The answer of [`Store::claim_refresh`].
#[derive(Debug)]
pub enum Claim {
    /// The caller holds the claim until it completes or releases it (or the lease runs out).
    Claimed {
        /// The credential as stored when the claim was taken.
        stored: Box<StoredCredential>,
        /// Its upkeep columns, the new claim included.
        upkeep: UpkeepState,
    },
    /// Someone else holds a claim until the instant given.
    Busy(DateTime<Utc>),
}

/// What [`Store::complete_refresh`] writes, as decided from the row read under its lock.
#[derive(Debug)]
pub enum RefreshWrite {
    /// Nothing is written but the release of the caller's claim (the refresh token redeemed is
    /// no longer the stored one: a client or another refresh replaced it).
    Superseded,
    /// The outcome of the refresh, and its event.
    Outcome(Box<RefreshOutcome>),
}

/// The server-owned state a refresh writes.
#[derive(Debug)]
pub struct RefreshOutcome {
    /// New secrets and their names (after a success), or `None` to keep them.
    pub secrets: Option<(Ciphertext, std::collections::BTreeSet<String>)>,
    /// The new `extra_data` (a success's `expires_at`), or `None` to keep it.
    pub extra_data: Option<Map<String, Value>>,
    /// The new status.
    pub status: CredentialStatus,
    /// The new health.
    pub health: Health,
    /// Failures in a row.
    pub failures: u32,
    /// When the worker looks next; `None` parks the credential.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the refresh succeeded (sets `token_refreshed_at`).
    pub refreshed: bool,
    /// The `refreshed` or `refresh_failed` event.
    pub audit: AuditNote,
}

/// A credential whose upkeep is due, claimed for the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueCredential {
    /// Its team.
    pub team_id: TeamId,
    /// The credential.
    pub credential_id: CredentialId,
}

type UpkeepColumns = (
    Option<chrono::NaiveDateTime>,
    i32,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    Option<chrono::NaiveDateTime>,
);

fn upkeep_columns() -> (
    credentials::upkeep_due_at,
    credentials::upkeep_failures,
    credentials::upkeep_lease_until,
    credentials::upkeep_lease_holder,
    credentials::token_refreshed_at,
) {
    (
        credentials::upkeep_due_at,
        credentials::upkeep_failures,
        credentials::upkeep_lease_until,
        credentials::upkeep_lease_holder,
        credentials::token_refreshed_at,
    )
}

fn upkeep_state(columns: UpkeepColumns) -> UpkeepState {
    let (due_at, failures, lease_until, lease_holder, refreshed_at) = columns;
    UpkeepState {
        due_at: due_at.map(utc),
        failures: u32::try_from(failures).unwrap_or(0),
        lease: lease_holder.zip(lease_until.map(utc)),
        refreshed_at: refreshed_at.map(utc),
    }
}

fn read_upkeep(
    conn: &mut crate::conn::DbConn,
    team_id: TeamId,
    id: CredentialId,
) -> Result<Option<UpkeepState>, StoreError> {
    credentials::table
        .filter(credentials::team_id.eq(team_id.to_string()))
        .filter(credentials::id.eq(id.to_string()))
        .select(upkeep_columns())
        .first::<UpkeepColumns>(conn)
        .optional()
        .map(|columns| columns.map(upkeep_state))
        .map_err(db_error)
}

impl Store {
    /// The upkeep columns of the team's credential; `NotFound` when it has none such.
    pub fn upkeep_of(&self, team_id: TeamId, id: CredentialId) -> Result<UpkeepState, StoreError> {
        read_upkeep(&mut *self.conn()?, team_id, id)?.ok_or(StoreError::NotFound)
    }

    /// Claims the refresh of the team's credential for `holder` until `until`, unless someone
    /// else holds an unexpired claim: one conditional `UPDATE`, so of many holders on any number
    /// of instances exactly one gets [`Claim::Claimed`]. A holder's own claim (one the worker took
    /// with [`Store::claim_due`]) is renewed: callers within one process serialize themselves. `NotFound` when the team has no such
    /// credential.
    pub fn claim_refresh(
        &self,
        team_id: TeamId,
        id: CredentialId,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut pooled = self.conn()?;
        let conn: &mut crate::conn::DbConn = &mut pooled;
        let at = db_time(now());
        let claimed = diesel::update(
            credentials::table
                .filter(credentials::team_id.eq(team_id.to_string()))
                .filter(credentials::id.eq(id.to_string()))
                .filter(
                    credentials::upkeep_lease_until
                        .is_null()
                        .or(credentials::upkeep_lease_until.lt(at))
                        .or(credentials::upkeep_lease_holder.eq(holder)),
                ),
        )
        .set((
            credentials::upkeep_lease_until.eq(Some(db_time(until))),
            credentials::upkeep_lease_holder.eq(Some(holder)),
        ))
        .execute(conn)
        .map_err(db_error)?
            == 1;
        if !claimed {
            let upkeep = read_upkeep(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
            // Released between the two statements: say busy for a moment; the caller looks again.
            let until = upkeep.lease.map_or_else(now, |(_, until)| until);
            return Ok(Claim::Busy(until));
        }
        let stored = backend::read_credential(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
        let upkeep = read_upkeep(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
        Ok(Claim::Claimed {
            stored: Box::new(stored),
            upkeep,
        })
    }

    /// Gives up `holder`'s claim on the credential without a refresh, and schedules the next look
    /// at `due_at` (`None` parks it). A claim someone else holds is left alone.
    pub fn release_refresh(
        &self,
        team_id: TeamId,
        id: CredentialId,
        holder: &str,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        diesel::update(
            credentials::table
                .filter(credentials::team_id.eq(team_id.to_string()))
                .filter(credentials::id.eq(id.to_string()))
                .filter(credentials::upkeep_lease_holder.eq(holder)),
        )
        .set((
            credentials::upkeep_lease_until.eq(None::<chrono::NaiveDateTime>),
            credentials::upkeep_lease_holder.eq(None::<String>),
            credentials::upkeep_due_at.eq(due_at.map(db_time)),
        ))
        .execute(&mut **self.conn()?)
        .map(drop)
        .map_err(db_error)
    }

    /// Writes the outcome of a refresh that `holder` claimed: under the row's lock the closure
    /// sees the credential and its upkeep as stored now, and decides ([`RefreshWrite`]); the
    /// outcome and its event are written in one transaction, and `holder`'s claim is released
    /// either way. Returns the credential as stored after the call. `NotFound` when the
    /// credential was deleted meanwhile (nothing is written).
    ///
    /// The closure is where the refresh is made conditional: it writes the new tokens only if the
    /// refresh token it redeemed is still the stored one.
    pub fn complete_refresh<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        holder: &str,
        decide: impl FnOnce(&StoredCredential, &UpkeepState) -> Result<RefreshWrite, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let stored =
                backend::lock_credential(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
            let upkeep = read_upkeep(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
            let ours = upkeep
                .lease
                .as_ref()
                .is_some_and(|(lease_holder, _)| lease_holder == holder);
            let write = decide(&stored, &upkeep).map_err(UpdateError::Rejected)?;
            let (team, credential_id) = (team_id.to_string(), id.to_string());
            let target = || {
                credentials::table
                    .filter(credentials::team_id.eq(&team))
                    .filter(credentials::id.eq(&credential_id))
            };
            if ours {
                diesel::update(target())
                    .set((
                        credentials::upkeep_lease_until.eq(None::<chrono::NaiveDateTime>),
                        credentials::upkeep_lease_holder.eq(None::<String>),
                    ))
                    .execute(conn)
                    .map_err(db_error)?;
            }
            let outcome = match write {
                RefreshWrite::Superseded => return Ok(stored),
                RefreshWrite::Outcome(outcome) => *outcome,
            };
            let at = now();
            let StoredCredential {
                mut credential,
                mut ciphertext,
                oauth_app,
            } = stored;
            if let Some((sealed, names)) = outcome.secrets {
                diesel::update(target())
                    .set((
                        credentials::secret_key_id.eq(Some(sealed.key_id.clone())),
                        credentials::secret_ciphertext.eq(Some(sealed.bytes.clone())),
                        credentials::secret_fields.eq(crate::convert::to_json(
                            "credentials.secret_fields",
                            &names,
                        )?),
                    ))
                    .execute(conn)
                    .map_err(db_error)?;
                credential.secret_fields = names;
                ciphertext = Some(sealed);
            }
            if let Some(extra_data) = outcome.extra_data {
                diesel::update(target())
                    .set(credentials::extra_data.eq(crate::convert::to_json(
                        "credentials.extra_data",
                        &extra_data,
                    )?))
                    .execute(conn)
                    .map_err(db_error)?;
                credential.extra_data = extra_data;
            }
            let notes = crate::convert::to_json("credentials.health_notes", &outcome.health.notes)?;
            let failures = i32::try_from(outcome.failures).unwrap_or(i32::MAX);
            diesel::update(target())
                .set((
                    credentials::status.eq(outcome.status.as_str()),
                    credentials::health_status.eq(outcome.health.status.as_str()),
                    credentials::health_notes.eq(notes),
                    credentials::health_checked_at.eq(outcome.health.checked_at.map(db_time)),
                    credentials::upkeep_failures.eq(failures),
                    credentials::upkeep_due_at.eq(outcome.due_at.map(db_time)),
                ))
                .execute(conn)
                .map_err(db_error)?;
            if outcome.refreshed {
                diesel::update(target())
                    .set(credentials::token_refreshed_at.eq(Some(db_time(at))))
                    .execute(conn)
                    .map_err(db_error)?;
            }
            credential.status = outcome.status;
            credential.health = outcome.health;
            let event = outcome.audit.into_event(EventId::new(), team_id, id, at);
            repo::events::insert(conn, &event)?;
            Ok(StoredCredential {
                credential,
                ciphertext,
                oauth_app,
            })
        })
    }

    /// Claims up to `limit` credentials whose upkeep is due at `at` and that nobody has claimed,
    /// for `holder` until `until`, earliest due first. On PostgreSQL the rows are picked with
    /// `FOR UPDATE SKIP LOCKED`, so workers of several instances claim disjoint sets without
    /// waiting on each other; on SQLite the write lock serializes them.
    pub fn claim_due(
        &self,
        holder: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueCredential>, StoreError> {
        let at = db_time(at);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.conn()?;
        backend::write_transaction(&mut conn, |conn| {
            let due = credentials::table
                .filter(credentials::upkeep_due_at.le(at))
                .filter(
                    credentials::upkeep_lease_until
                        .is_null()
                        .or(credentials::upkeep_lease_until.lt(at)),
                )
                .order(credentials::upkeep_due_at.asc())
                .limit(limit)
                .select((credentials::team_id, credentials::id));
            let picked: Vec<(String, String)> = match conn {
                crate::conn::DbConn::Pg(pg) => due.for_update().skip_locked().load(pg),
                crate::conn::DbConn::Sqlite(sqlite) => due.load(sqlite),
            }
            .map_err(db_error)?;
            let ids: Vec<&str> = picked.iter().map(|(_, id)| id.as_str()).collect();
            if !ids.is_empty() {
                diesel::update(credentials::table.filter(credentials::id.eq_any(&ids)))
                    .set((
                        credentials::upkeep_lease_until.eq(Some(db_time(until))),
                        credentials::upkeep_lease_holder.eq(Some(holder)),
                    ))
                    .execute(conn)
                    .map_err(db_error)?;
            }
            picked
                .into_iter()
                .map(|(team_id, id)| {
                    Ok(DueCredential {
                        team_id: crate::convert::parse("credentials.team_id", &team_id)?,
                        credential_id: crate::convert::parse("credentials.id", &id)?,
                    })
                })
                .collect()
        })
    }

    /// How many credentials are due for upkeep at `at` (claimed or not): the worker's backlog.
    pub fn upkeep_backlog(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let count: i64 = credentials::table
            .filter(credentials::upkeep_due_at.le(db_time(at)))
            .count()
            .get_result(&mut **self.conn()?)
            .map_err(db_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
