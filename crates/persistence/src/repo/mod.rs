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

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};
use uuid::Uuid;

use crate::{Page, PageRequest, StoreError};

/// A statement whose SQL text is the same for every value of its type, run through the
/// prepared-statement cache.
///
/// diesel never caches an `UPDATE`, because a changeset may skip `None` fields and so change its
/// SQL from one call to the next. A changeset derived with `treat_none_as_null = true` writes
/// every column every time, so its SQL is fixed and the statement can be prepared once per
/// connection instead of once per call. Wrap only such statements.
#[derive(Debug, Clone, Copy, QueryId)]
pub(crate) struct FixedSql<Q>(pub(crate) Q);

impl<Q, DB> QueryFragment<DB> for FixedSql<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for FixedSql<Q> {}

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
