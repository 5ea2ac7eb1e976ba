//! Every query of the product. Each function that reads or writes a team's data takes the team's
//! id and filters by it in the same SQL statement as the row's own id, so "not there" and "not
//! yours" are one answer. Functions take a connection; transactions are the caller's business.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite
//! (3.4x, as bundled) marks a statement whose `LIMIT` is a bound parameter as expired each time
//! the parameter is bound, so the cached statement was re-prepared on every call.

pub(crate) mod client_credentials;
pub(crate) mod credentials;
pub(crate) mod events;
pub(crate) mod idempotency;
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
