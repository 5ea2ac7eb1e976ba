#![doc = include_str!("../README.md")]

mod backend;
mod checkpoint;
mod conn;
pub mod constraint;
mod convert;
mod error;
mod repo;
mod row_lock;
mod rows;
mod schema;
mod startup;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

pub use credvault_domain::status::TestRecord;
pub use error::{StoreError, UpdateError};
pub use store::{Claim, DueCredential, RefreshOutcome, RefreshWrite, Store, UpkeepState};
pub use types::{
    AuthenticatedToken, Backend, CONSOLE_SESSION_TOUCH_PRECISION, Ciphertext, ClientCredentialAuth,
    ConnectReturn, ConnectState, ConsoleSession, CredentialChange, CredentialFilter, GrantFilter,
    IDEMPOTENCY_CLAIM_TIMEOUT, IDEMPOTENCY_RETENTION, IdempotencyClaim, IdempotencyRecord,
    NewConnectState, NewConsoleSession, NewUserToken, OAuthAppDeletion, Page, PageRequest,
    ReencryptBatch, Reservation, SecretsUpdate, SqliteSynchronous, StoreOptions, StoredCredential,
    StoredOAuthApp, StoredResponse, UseOutcome, UserToken,
};
