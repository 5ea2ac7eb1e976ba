//! Every query of the product, one module per group of tables, under one convention:
//!
//! - Ids come in typed (`TeamId`, `CredentialId`, `PrincipalId`, …) and values as domain values
//!   (`Team`, `ServiceAccount`, `UserToken`, `Ciphertext`, `DateTime<Utc>`); a function returns
//!   domain values, a count, a flag or `()`. The stored form is made here, where a query binds
//!   it: an id as its UUID text, a time through `convert::db_time`, a row through `crate::convert`.
//! - The exceptions are the whole-row writes of the credential path, `credentials::insert` (and
//!   `backend::update_if_version`) and `idempotency::insert_claim`: they take the row that
//!   `convert` built, because the store encodes an insert before it takes SQLite's write lock,
//!   encodes a claim once for its retries, and encodes a PATCH's row once, where it is decided.
//! - Each function that reads or writes a team's data takes the team's id and filters by it in
//!   the same SQL statement as the row's own id, so "not there" and "not yours" are one answer.
//!   Key rotation (`credentials::not_on_key`, `count_by_key`) and the admin CLI's
//!   `user_tokens::find_in_any_team` are the operator's exceptions; authentication, the token
//!   exchange and idempotency records are keyed by a token hash, a client id or a principal.
//! - Functions take a connection; transactions are the caller's business.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite
//! (3.4x, as bundled) marks a statement whose `LIMIT` is a bound parameter as expired each time
//! the parameter is bound, so the cached statement was re-prepared on every call.

pub(crate) mod client_credentials;
pub(crate) mod connect_states;
pub(crate) mod console_sessions;
pub(crate) mod credentials;
pub(crate) mod events;
pub(crate) mod grants;
pub(crate) mod idempotency;
pub(crate) mod oauth_apps;
pub(crate) mod principals;
pub(crate) mod service_accounts;
pub(crate) mod teams;
pub(crate) mod test_outcomes;
pub(crate) mod user_tokens;

use uuid::Uuid;

use crate::{Page, PageRequest, StoreError};

/// How many rows a page query fetches: one more than the page holds, to learn whether another
/// page follows.
pub(crate) fn fetch_limit(page: PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, 100)) + 1
}

/// Turns the rows of a page query (at most [`fetch_limit`]) into a page.
pub(crate) fn into_page<R, T>(
    rows: Vec<R>,
    page: PageRequest,
    convert: impl Fn(R) -> Result<T, StoreError>,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Page<T>, StoreError> {
    let limit = usize::try_from(page.limit.clamp(1, 100)).unwrap_or(100);
    let has_more = rows.len() > limit;
    let items = rows
        .into_iter()
        .take(limit)
        .map(convert)
        .collect::<Result<Vec<T>, StoreError>>()?;
    let next_after = if has_more {
        items.last().map(id_of)
    } else {
        None
    };
    Ok(Page { items, next_after })
}
