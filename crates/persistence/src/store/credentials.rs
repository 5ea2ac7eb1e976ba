//! Credentials and their audit trail: insert, read, list, the read-decide-write update, delete,
//! the outcome of a connection test.

use chrono::{DateTime, Utc};
use credvault_domain::audit::AuditEvent;
use credvault_domain::credential::Credential;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, EventId, OAuthAppId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::status::TestRecord;

use crate::error::{StoreError, UpdateError};
use crate::store::{Store, now};
use crate::types::{
    Backend, Ciphertext, CredentialChange, CredentialFilter, Page, PageRequest, SecretsUpdate,
    StoredCredential,
};
use crate::{backend, conn, repo, rows};

/// The decide-and-write half of [`Store::update_credential`], on a row read (or locked) by the
/// caller. Writes only if the row is still at the version read: returns the credential as it is
/// now (written, or unchanged when there was nothing to write), or `None` when it changed or went
/// after it was read and nothing was written.
pub(super) fn decide_and_write<E>(
    conn: &mut conn::DbConn,
    stored: Option<StoredCredential>,
    expected_version: Option<i64>,
    decide: &mut impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
) -> Result<Option<StoredCredential>, UpdateError<E>> {
    let stored = stored.ok_or(StoreError::NotFound)?;
    let current = stored.credential.version;
    if expected_version.is_some_and(|expected| expected != current) {
        return Err(StoreError::VersionMismatch { current }.into());
    }
    let (edit, secrets, audit) = match decide(&stored).map_err(UpdateError::Rejected)? {
        CredentialChange::Unchanged => return Ok(Some(stored)),
        CredentialChange::Update {
            edit,
            secrets,
            audit,
        } => (edit, secrets, audit),
    };
    let StoredCredential {
        credential: old,
        ciphertext: old_ciphertext,
        oauth_app: old_oauth_app,
    } = stored;
    // One clock reading for the row and its event, taken after the row was read (or locked): the
    // write below applies only if nobody wrote since that read, so the trail's times never go
    // backwards, and a delete (stamped under its lock) always comes after.
    let written_at = now();
    let credential = old.edited(edit, audit.actor.id, written_at);
    let keep_ciphertext = matches!(secrets, SecretsUpdate::Keep);
    let ciphertext = match secrets {
        SecretsUpdate::Keep => old_ciphertext.clone(),
        SecretsUpdate::Replace(ciphertext) => Some(ciphertext),
        SecretsUpdate::Remove => None,
    };
    let row = rows::CredentialRow::from_domain(&credential, ciphertext.as_ref())?;
    let event = rows::AuditEventRow::from_domain(&audit.into_event(
        EventId::new(),
        credential.team_id,
        credential.id,
        written_at,
    ))?;
    let read_bytes = old_ciphertext.as_ref().map(|sealed| &sealed.bytes);
    let written =
        backend::update_if_version(conn, &row, current, read_bytes, keep_ciphertext, &event)?;
    if !written {
        return Ok(None);
    }
    // The app the credential is linked to now: the one read, unless the link changed. (The key
    // refused the write if the new app is gone, and now keeps it from going.)
    let oauth_app = match credential.oauth_app_id {
        None => None,
        Some(app_id) if Some(app_id) == old.oauth_app_id => old_oauth_app,
        Some(app_id) => {
            repo::oauth_apps::find_in_team(conn, credential.team_id, app_id)?.map(|found| found.app)
        }
    };
    // What was written is what the caller gets: every instant in it is already at µs precision.
    Ok(Some(StoredCredential {
        credential,
        ciphertext,
        oauth_app,
    }))
}

/// The rows [`Store::insert_credential`] and [`Store::insert_credential_completing`] write: the
/// credential's, and the event's of `audit`, stamped with a new id and the credential's
/// `created_at`.
pub(super) fn created_rows(
    credential: &Credential,
    ciphertext: Option<&Ciphertext>,
    audit: AuditNote,
) -> Result<(rows::CredentialRow, AuditEvent), StoreError> {
    let row = rows::CredentialRow::from_domain(credential, ciphertext)?;
    let event = audit.into_event(
        EventId::new(),
        credential.team_id,
        credential.id,
        credential.created_at,
    );
    Ok((row, event))
}

impl Store {
    /// Inserts a new credential (version 1) and its `created` event, the event of `audit`, in
    /// one transaction.
    ///
    /// The store stamps the event's id, team, credential and `at`; the `at` is the credential's
    /// `created_at`, so that the row and its first event share one instant. (The caller chose
    /// that instant: a create that completes an idempotency claim renders its response, which
    /// shows `created_at`, before the write.)
    pub fn insert_credential(
        &self,
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
        audit: AuditNote,
    ) -> Result<(), StoreError> {
        // Encode before taking the (SQLite: database-wide) write lock.
        let (row, event) = created_rows(credential, ciphertext, audit)?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::credentials::insert(conn, &row)?;
            repo::events::insert(conn, &event)
        })
    }

    /// One credential of the team.
    pub fn find_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
    ) -> Result<Option<StoredCredential>, StoreError> {
        repo::credentials::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// The team's OAuth apps among `ids`, in one query (the apps a page of credentials is
    /// linked to); an id the team has no app for is left out.
    pub fn oauth_apps_among(
        &self,
        team_id: TeamId,
        ids: &[OAuthAppId],
    ) -> Result<Vec<OAuthApp>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        repo::oauth_apps::among_in_team(&mut *self.conn()?, team_id, ids)
    }

    /// A page of the team's credentials in id order.
    pub fn list_credentials(
        &self,
        team_id: TeamId,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<Credential>, StoreError> {
        repo::credentials::list_in_team(&mut *self.conn()?, team_id, filter, page)
    }

    /// Read-decide-write on the latest row: the closure sees the stored row; on `Update` the row
    /// is written with version + 1 and the event appended, atomically; on `Unchanged` or an
    /// error nothing is written. `expected_version` (from `If-Match`) yields `VersionMismatch`
    /// when stale. Returns the credential as it is after the call: the one written (see
    /// [`CredentialChange::Update`] for what the store stamps), or the one read.
    ///
    /// On SQLite this is one `BEGIN IMMEDIATE` transaction. On PostgreSQL, updates of one
    /// credential from this process queue in the process (see `row_lock`); the row is read, the
    /// closure decides, and the row and its event are written in one statement that applies
    /// only if the version read is still stored: two round trips and no transaction. If another
    /// process wrote in between, the closure runs again inside a transaction that locks the row
    /// first (`FOR UPDATE`), which always succeeds; so the closure runs at most twice, and
    /// nothing it decided on a stale row is ever written. When the closure keeps the secrets,
    /// the stored ciphertext is left as it is in the database (a key rotation may have resealed
    /// it meanwhile), and the returned ciphertext is the one that was read.
    pub fn update_credential<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        expected_version: Option<i64>,
        mut decide: impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        match self.backend {
            Backend::Sqlite => backend::write_transaction(&mut *self.conn()?, |conn| {
                let stored = backend::lock_credential(conn, team_id, id)?;
                // The write lock is held: nobody else can have changed the row.
                decide_and_write(conn, stored, expected_version, &mut decide)?
                    .ok_or(StoreError::NotFound.into())
            }),
            Backend::Postgres => {
                let _queued = self.row_locks.lock(id.as_uuid());
                let mut conn = self.conn()?;
                let stored = backend::read_credential(&mut conn, team_id, id)?;
                if let Some(stored) =
                    decide_and_write(&mut conn, stored, expected_version, &mut decide)?
                {
                    return Ok(stored);
                }
                log::debug!("credential {id} changed under an update; retrying under a row lock");
                backend::write_transaction(&mut conn, |conn| {
                    let stored = backend::lock_credential(conn, team_id, id)?;
                    // The row is locked: it cannot have changed; a broken invariant if it did.
                    decide_and_write(conn, stored, expected_version, &mut decide)?
                        .ok_or(StoreError::NotFound.into())
                })
            }
        }
    }

    /// Deletes the credential, its ciphertext and its grants of use and appends the `deleted`
    /// event of `audit`; the audit trail stays. `NotFound` when the team has no such credential.
    ///
    /// The store stamps the event's id, team, credential and `at`, the `at` once the row is
    /// deleted (PostgreSQL: while its row lock is held; SQLite: under the write lock), so it is
    /// the last event of the trail, in order and in time: an update that lost the race finds no
    /// row and records nothing.
    pub fn delete_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
        audit: AuditNote,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            // Its grants first, explicitly: a use takes a grant's row before the credential's
            // (see `backend::use_if_granted`), and the cascade would take them the other way.
            repo::grants::delete_all_of_credential(conn, team_id, id)?;
            if repo::credentials::delete_in_team(conn, team_id, id)? == 0 {
                return Err(StoreError::NotFound);
            }
            let event = audit.into_event(EventId::new(), team_id, id, now());
            repo::events::insert(conn, &event)
        })
    }

    /// Appends the `tested` event of a connection test and, with a `record`, writes the test's
    /// outcome (`health` and `status`) in the same transaction, without a new version: the
    /// outcome is server-owned state, so `version`, `updated_at`, `modified_by` and the `ETag`
    /// stay, and an owner's `If-Match` keeps working while members test.
    ///
    /// The outcome is written only if the credential is still at `record.version` (otherwise it
    /// describes an older state); the event is appended either way and names
    /// `record.recorded_fields` only when the outcome was written. Returns whether it was.
    /// `NotFound` (and nothing written) when the team has no such credential. Without an outcome
    /// written, the row is still locked before the event is, so the event follows every write of
    /// the row in flight and a test racing a delete writes nothing.
    ///
    /// The event is the one of `audit`; the store stamps its id, team and credential, and its
    /// `at` is `tested_at`, the instant of the test's outcome (the one `record.health.checked_at`
    /// holds), so that the event and the recorded health share it.
    pub fn record_test(
        &self,
        team_id: TeamId,
        id: CredentialId,
        record: Option<&TestRecord>,
        tested_at: DateTime<Utc>,
        audit: AuditNote,
    ) -> Result<bool, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let recorded = match record {
                Some(record) => {
                    repo::test_outcomes::record_in_team(
                        conn,
                        team_id,
                        id,
                        record.version,
                        record.status,
                        &record.health,
                    )? == 1
                }
                None => false,
            };
            if !recorded && !repo::test_outcomes::lock_in_team(conn, team_id, id)? {
                return Err(StoreError::NotFound);
            }
            let mut event = audit.into_event(EventId::new(), team_id, id, tested_at);
            if let (true, Some(record)) = (recorded, record) {
                event
                    .changed_fields
                    .extend(record.recorded_fields.iter().cloned());
            }
            repo::events::insert(conn, &event)?;
            Ok(recorded)
        })
    }

    /// A page of a credential's audit events in the order they were written (the credential may
    /// be deleted); `page.after` is the id of the previous page's last event. `NotFound` when
    /// the team never held the credential, with or without a cursor.
    pub fn list_events(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        repo::events::list_in_team(&mut *self.conn()?, team_id, credential_id, page)
    }
}
