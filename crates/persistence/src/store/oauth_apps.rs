//! OAuth apps (SPEC §11): a team's OAuth 2.0 clients. The store keeps the client secret as the
//! caller sealed it ([`Ciphertext`]) and never sees it in plaintext.

use credvault_domain::ids::{OAuthAppId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::time::to_micros;

use crate::constraint::FOREIGN_KEY;
use crate::error::StoreError;
use crate::rows::OAuthAppRow;
use crate::store::{Store, now};
use crate::types::{Ciphertext, OAuthAppDeletion, Page, PageRequest, StoredOAuthApp};
use crate::{backend, repo};

impl Store {
    /// Stores a new app with its sealed client secret. The store stamps `version` 1; the times
    /// are kept at µs (what a later read returns).
    pub fn create_oauth_app(
        &self,
        app: &OAuthApp,
        ciphertext: &Ciphertext,
    ) -> Result<StoredOAuthApp, StoreError> {
        let app = OAuthApp {
            created_at: to_micros(app.created_at),
            updated_at: to_micros(app.updated_at),
            version: 1,
            ..app.clone()
        };
        let row = OAuthAppRow::from_domain(&app, ciphertext)?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::oauth_apps::insert(conn, &row)
        })?;
        Ok(StoredOAuthApp {
            app,
            ciphertext: ciphertext.clone(),
        })
    }

    /// A page of the team's apps, oldest first.
    pub fn list_oauth_apps(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<StoredOAuthApp>, StoreError> {
        repo::oauth_apps::list_in_team(&mut *self.conn()?, team_id, page)
    }

    /// One app of the team, with its sealed client secret.
    pub fn find_oauth_app(
        &self,
        team_id: TeamId,
        id: OAuthAppId,
    ) -> Result<Option<StoredOAuthApp>, StoreError> {
        repo::oauth_apps::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// Writes `next` (the app after a PATCH) over the stored app, if the stored one is still at
    /// `next.version`; the store moves the version on by one and stamps `updated_at`.
    /// `secret` is the new sealed client secret, or `None` to keep the stored one: its columns
    /// are then not written, so a key rotation that resealed it since it was read is not undone.
    ///
    /// `NotFound` when the team has no such app; `VersionMismatch` (nothing written) when
    /// another write came first.
    pub fn update_oauth_app(
        &self,
        next: &OAuthApp,
        secret: Option<&Ciphertext>,
    ) -> Result<StoredOAuthApp, StoreError> {
        let expected = next.version;
        let app = OAuthApp {
            version: expected + 1,
            updated_at: now(),
            ..next.clone()
        };
        // The kept secret's columns are not written; the row needs some bytes to be built.
        let placeholder = Ciphertext {
            key_id: String::new(),
            bytes: Vec::new(),
        };
        let row = OAuthAppRow::from_domain(&app, secret.unwrap_or(&placeholder))?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            if repo::oauth_apps::update_if_version(conn, &row, expected, secret.is_none())? == 1 {
                // What is stored now, the kept ciphertext included.
                return repo::oauth_apps::find_in_team(conn, app.team_id, app.id)?
                    .ok_or(StoreError::NotFound);
            }
            match repo::oauth_apps::find_in_team(conn, app.team_id, app.id)? {
                None => Err(StoreError::NotFound),
                Some(stored) => Err(StoreError::VersionMismatch {
                    current: stored.app.version,
                }),
            }
        })
    }

    /// Deletes the team's app `id`, unless credentials are linked to it: then nothing is
    /// deleted and the answer is how many are. `NotFound` when the team has no such app.
    ///
    /// The count and the delete run in one transaction; a credential linked after the count
    /// (PostgreSQL, another transaction) makes the foreign key refuse the delete, and the
    /// answer is then the count once more.
    pub fn delete_oauth_app(
        &self,
        team_id: TeamId,
        id: OAuthAppId,
    ) -> Result<OAuthAppDeletion, StoreError> {
        let mut conn = self.conn()?;
        let deleted = backend::write_transaction(&mut conn, |conn| {
            let linked = repo::oauth_apps::count_linked_credentials(conn, team_id, id)?;
            if linked > 0 {
                return Ok(OAuthAppDeletion::InUse {
                    credentials: u64::try_from(linked).unwrap_or(u64::MAX),
                });
            }
            match repo::oauth_apps::delete_in_team(conn, team_id, id)? {
                0 => Err(StoreError::NotFound),
                _ => Ok(OAuthAppDeletion::Deleted),
            }
        });
        match deleted {
            Err(StoreError::Conflict { constraint }) if constraint == FOREIGN_KEY => {
                let linked = repo::oauth_apps::count_linked_credentials(&mut conn, team_id, id)?;
                Ok(OAuthAppDeletion::InUse {
                    credentials: u64::try_from(linked).unwrap_or(u64::MAX).max(1),
                })
            }
            other => other,
        }
    }
}
