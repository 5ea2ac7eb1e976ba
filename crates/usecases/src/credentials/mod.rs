//! The use cases of integration credentials: [`create`](create()), [`update`](update()) (the PATCH) and
//! its [`dry_run`], [`delete`](delete()), and the two halves of a connection test
//! ([`prepare_test`] and [`record_test`], or [`candidate`] for values not yet stored).
//!
//! Each runs synchronously on the caller's thread (the API runs it in `web::block`) and makes
//! the same store calls the product has always made: one for a create, an update or a delete,
//! one read to prepare a test and one write to record it. The `*_completing` variants complete
//! an `Idempotency-Key` claim in the same transaction as their write, with the response the
//! caller renders (its bytes are HTTP's business, not this crate's).

pub mod consume;
pub mod create;
pub mod delete;
pub mod refresh;
pub mod test;
pub mod update;

use credvault_domain::audit::Actor;
use credvault_domain::ids::RequestId;
use credvault_domain::principal::Principal;

pub use consume::{Release, use_credential};
pub use create::{create, create_completing};
pub use delete::delete;
pub use refresh::{Reason, Refreshed, Refresher, refresh};
pub use test::{PendingRecord, PreparedTest, Subject, candidate, prepare_test, record_test};
pub use update::{PatchRequest, Plan, dry_run, plan, update, update_completing};

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
