//! [`Error`]: why a use case did not happen, by cause, never by HTTP status (the API maps it).

use credvault_crypto::CryptoError;
use credvault_domain::authz::Denied;
use credvault_domain::oauth_connect::NotConnectable;
use credvault_domain::patch::PatchError;
use credvault_domain::release::NotUsable;
use credvault_domain::validate::ValidationErrors;
use credvault_persistence::{StoreError, UpdateError, constraint};

/// Why a use case failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input, or the credential it would make, is invalid; every failing field is listed.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The caller's role does not allow it (a member's test body that would send a stored
    /// secret elsewhere).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The store failed, has no such credential in the team, or holds another version than the
    /// one expected.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The `Idempotency-Key` claim was no longer held when the write was to complete it (it went
    /// stale and another request took the key); the write rolled back.
    #[error("the idempotency claim was taken over")]
    ClaimLost,
    /// Stored secrets could not be opened, or new ones sealed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The stored secrets do not fit the stored credential (a broken invariant, never the
    /// caller's fault).
    #[error(transparent)]
    Inconsistent(PatchError),
    /// The credential holds nothing a use could release yet (an OAuth credential without an
    /// access token); nothing was written.
    #[error(transparent)]
    NotUsable(#[from] NotUsable),
    /// Another process has held the claim on this credential's token refresh for longer than a
    /// caller waits; nothing was written.
    #[error("the credential's access token is being refreshed elsewhere; try again shortly")]
    RefreshBusy,
    /// A use needed a fresh access token and the refresh failed: `transient` when trying again
    /// later may succeed. `note` says what happened in words (the credential's health note).
    #[error("{note}")]
    TokenUnavailable {
        /// Whether trying again later may succeed.
        transient: bool,
        /// What happened and what to do.
        note: String,
    },
    /// An OAuth app that credentials are linked to cannot be deleted; nothing was deleted.
    #[error("the OAuth app is in use by {credentials} credential(s)")]
    OAuthAppInUse {
        /// How many credentials of the team are linked to it.
        credentials: u64,
    },
    /// The credential cannot be connected through OAuth (not an OAuth kind, or not linked to
    /// an OAuth app); nothing was written.
    #[error(transparent)]
    NotConnectable(#[from] NotConnectable),
    /// An OAuth callback's state is unknown, already used or expired (one answer for the three);
    /// nothing was written.
    #[error("the OAuth connect state is unknown, already used or expired")]
    ConnectStateUnknown,
    /// The caller's renderer failed to make the response to store with the write.
    #[error("the response could not be rendered: {0}")]
    Render(String),
}

impl From<PatchError> for Error {
    fn from(error: PatchError) -> Self {
        match error {
            PatchError::Invalid(errors) => Self::Invalid(errors),
            other => Self::Inconsistent(other),
        }
    }
}

impl From<UpdateError<Error>> for Error {
    fn from(error: UpdateError<Error>) -> Self {
        match error {
            UpdateError::Store(error) => Self::Store(error),
            UpdateError::Rejected(error) => error,
        }
    }
}

/// The error of a write that was to complete an idempotency claim: the claim's loss is
/// [`Error::ClaimLost`], anything else as usual.
pub(crate) fn completing(error: impl Into<Error>) -> Error {
    match error.into() {
        Error::Store(StoreError::Conflict { constraint })
            if constraint == constraint::IDEMPOTENCY_KEY =>
        {
            Error::ClaimLost
        }
        other => other,
    }
}
