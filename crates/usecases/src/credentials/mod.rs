//! The use cases of integration credentials: [`create`](create()), [`update`](update()) (the PATCH) and
//! its [`dry_run`], [`delete`](delete()), and the two halves of a connection test
//! ([`prepare_test`] and [`record_test`], or [`candidate`] for values not yet stored).
//!
//! Each runs synchronously on the caller's thread (the API runs it in `web::block`) and makes
//! the same store calls the product has always made: one for a create, an update or a delete,
//! one read to prepare a test and one write to record it. The `*_completing` variants complete
//! an `Idempotency-Key` claim in the same transaction as their write, with the response the
//! caller renders (its bytes are HTTP's business, not this crate's).

pub mod connect;
pub mod consume;
pub mod create;
pub mod delete;
pub mod refresh;
pub mod test;
pub mod update;

use credvault_domain::audit::Actor;
use credvault_domain::credential::Credential;
use credvault_domain::ids::{OAuthAppId, RequestId, TeamId};
use credvault_domain::oauth_app::{OAuthApp, check_link, no_such_app};
use credvault_domain::patch::Patch;
use credvault_domain::principal::Principal;
use credvault_persistence::{Store, StoreError, constraint};

use crate::error::Error;

pub use connect::{CallbackInput, Completed, StartRequest, Started, complete, start};
pub use consume::{Release, use_credential};
pub use create::{create, create_completing};
pub use delete::delete;
pub use refresh::{Reason, Refreshed, Refresher, refresh};
pub use test::{PendingRecord, PreparedTest, Subject, candidate, prepare_test, record_test};
pub use update::{PatchRequest, Plan, dry_run, plan, update, update_completing};

/// A credential with the OAuth app it is linked to (`None` when it has none), as its responses
/// show it: what create, update and dry run answer.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedCredential {
    /// The credential.
    pub credential: Credential,
    /// The app `credential.oauth_app_id` names, without its client secret.
    pub oauth_app: Option<OAuthApp>,
}

/// The app a create or PATCH body links to, looked up among the apps of `team_id` before the
/// write (an app's team and provider never change); `None` when the body sets no link. The
/// link itself is checked with [`check_link`] once the credential it would make is known;
/// the database's foreign key refuses a write whose app was deleted meanwhile
/// ([`link_refused`]).
fn app_to_link(
    store: &Store,
    team_id: TeamId,
    link: &Patch<OAuthAppId>,
) -> Result<Option<OAuthApp>, Error> {
    match link {
        Patch::Value(id) => Ok(store.find_oauth_app(team_id, *id)?.map(|stored| stored.app)),
        Patch::Absent | Patch::Null => Ok(None),
    }
}

/// Checks the link of `credential` when the body set one, against the app [`app_to_link`]
/// found.
fn check_new_link(
    credential: &Credential,
    link: &Patch<OAuthAppId>,
    app: Option<&OAuthApp>,
) -> Result<(), Error> {
    if matches!(link, Patch::Value(_)) {
        check_link(credential, app)?;
    }
    Ok(())
}

/// A write that set a link and was refused by the foreign key: its app was deleted after it was
/// looked up. The same answer as for an id the team never had.
fn link_refused(error: Error, link: &Patch<OAuthAppId>) -> Error {
    match error {
        Error::Store(StoreError::Conflict { constraint: name })
            if name == constraint::FOREIGN_KEY && matches!(link, Patch::Value(_)) =>
        {
            Error::Invalid(no_such_app())
        }
        other => other,
    }
}

/// Who asks, in which request: what the audit trail records of a use case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The principal, as its events name it (also `created_by`/`modified_by`).
    pub actor: Actor,
    /// The request that asked.
    pub request_id: RequestId,
}

impl Caller {
    /// `principal` asking in request `request_id`.
    pub fn new(principal: &Principal, request_id: RequestId) -> Self {
        Self {
            actor: Actor::from(principal),
            request_id,
        }
    }
}
