//! OAuth apps (SPEC §11): a team's OAuth 2.0 clients, which OAuth credentials are issued
//! through. The client secret is sealed here ([`secrets::seal_client_secret`]) and never
//! leaves in plaintext: the wire shows the mask.
//!
//! A PATCH reads the app, applies [`OAuthAppPatch::apply`] and writes it if the stored version
//! has not moved in between. With a precondition (`If-Match`) a version that fails it or moves is
//! [`StoreError::VersionMismatch`]; without one the PATCH is read and applied again, so two
//! PATCHes of different fields both survive. A PATCH that changes nothing writes nothing (the
//! version and `updated_at` stay).

use credvault_crypto::KeyRing;
use credvault_domain::ids::{OAuthAppId, TeamId};
use credvault_domain::oauth_app::{NewOAuthApp, OAuthApp, OAuthAppPatch};
use credvault_domain::time;
use credvault_persistence::{OAuthAppDeletion, Store, StoreError, StoredOAuthApp};

use crate::error::Error;
use crate::secrets;

/// How often a PATCH without an expected version is read and applied again when another write
/// came first.
const UPDATE_ATTEMPTS: usize = 5;

/// Creates the app `input` describes in team `team_id`, its client secret sealed.
pub fn create(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    input: NewOAuthApp,
) -> Result<OAuthApp, Error> {
    let (app, client_secret) = input.into_app(team_id, time::now());
    let ciphertext = secrets::seal_client_secret(key_ring, team_id, app.id, &client_secret)?;
    Ok(store.create_oauth_app(&app, &ciphertext)?.app)
}

/// What a PATCH did.
#[derive(Clone, Debug)]
pub struct Updated {
    /// The app as stored after the PATCH.
    pub app: OAuthApp,
    /// The wire names of the fields that changed; empty when nothing was written.
    pub changed_fields: Vec<&'static str>,
}

/// A precondition on the stored version (an `If-Match` list): whether a version satisfies it.
pub type Precondition<'a> = &'a (dyn Fn(i64) -> bool + Sync);

/// PATCHes app `id` of team `team_id`. With a `precondition`, the stored app's version must
/// satisfy it and still be that version when the write happens
/// ([`StoreError::VersionMismatch`] otherwise, nothing written).
///
/// [`Error::Invalid`] when the merged app breaks a rule (nothing written); [`Error::Store`]
/// `NotFound` when the team has no such app.
pub fn update(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    id: OAuthAppId,
    patch: &OAuthAppPatch,
    precondition: Option<Precondition<'_>>,
) -> Result<Updated, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let stored = store
            .find_oauth_app(team_id, id)?
            .ok_or(StoreError::NotFound)?;
        if let Some(precondition) = precondition
            && !precondition(stored.app.version)
        {
            return Err(StoreError::VersionMismatch {
                current: stored.app.version,
            }
            .into());
        }
        let change = patch.clone().apply(&stored.app)?;
        if change.changed_fields.is_empty() {
            return Ok(Updated {
                app: stored.app,
                changed_fields: Vec::new(),
            });
        }
        let sealed = match &change.client_secret {
            Some(secret) => Some(secrets::seal_client_secret(key_ring, team_id, id, secret)?),
            None => None,
        };
        match store.update_oauth_app(&change.app, sealed.as_ref()) {
            Ok(written) => {
                return Ok(Updated {
                    app: written.app,
                    changed_fields: change.changed_fields,
                });
            }
            Err(StoreError::VersionMismatch { .. })
                if precondition.is_none() && attempt < UPDATE_ATTEMPTS => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Deletes app `id` of team `team_id`; [`Error::Store`] `NotFound` when there is none,
/// [`Error::OAuthAppInUse`] (and nothing deleted) while credentials are linked to it.
pub fn delete(store: &Store, team_id: TeamId, id: OAuthAppId) -> Result<(), Error> {
    match store.delete_oauth_app(team_id, id)? {
        OAuthAppDeletion::Deleted => Ok(()),
        OAuthAppDeletion::InUse { credentials } => Err(Error::OAuthAppInUse { credentials }),
    }
}

/// The opened client secret of a stored app, for whoever redeems tokens with it (never for a
/// response).
pub fn client_secret(
    key_ring: &KeyRing,
    stored: &StoredOAuthApp,
) -> Result<credvault_domain::secret::SecretValue, Error> {
    Ok(secrets::open_client_secret(key_ring, stored)?)
}
