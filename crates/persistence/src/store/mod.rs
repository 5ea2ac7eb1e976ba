//! [`Store`]: the pool, opening and migrating; its query methods live in one file per aggregate.

mod connect_states;
mod console_sessions;
mod credentials;
mod grants;
mod idempotency;
mod oauth_apps;
mod principals;
mod rotation;
mod service_accounts;
mod teams;
mod upkeep;

pub use upkeep::{Claim, DueCredential, RefreshOutcome, RefreshWrite, UpkeepState};

use std::sync::Arc;

use crate::error;
use crate::error::StoreError;
use crate::types::{Backend, StoreOptions};
use crate::{backend, checkpoint, conn, row_lock, startup};

// The store's clock is the product's: instants at µs precision, which read back equal on both
// backends.
use credvault_domain::time::now;

/// The database: a connection pool and every query of the product, each scoped by team.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: conn::Pool,
    backend: Backend,
    /// Queues this process's concurrent updates of one credential (PostgreSQL).
    row_locks: Arc<row_lock::RowLocks>,
    /// Checkpoints the WAL of an SQLite file; stops with the last clone of the store.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool on `sqlite://PATH` (file created if missing) or `postgres://…`.
    ///
    /// The first connection is made here: an unreachable database gives
    /// [`StoreError::Unavailable`] after `options.connection_timeout`. SQLite also accepts
    /// `sqlite::memory:`, a database that lives as long as the store.
    pub fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let target = conn::Target::parse(url)?;
        let backend = target.backend;
        let checkpointer = match backend {
            Backend::Sqlite if target.address != ":memory:" => Some(Arc::new(
                checkpoint::Checkpointer::start(&target.address, options.connection_timeout)
                    .map_err(|error| StoreError::Database(error.to_string()))?,
            )),
            _ => None,
        };
        let pool = conn::build_pool(target, options)?;
        log::debug!("opened the {backend:?} store");
        Ok(Store {
            pool,
            backend,
            row_locks: Arc::new(row_lock::RowLocks::new()),
            _checkpointer: checkpointer,
        })
    }

    /// Applies pending migrations; returns the names applied.
    ///
    /// On PostgreSQL this holds an advisory lock, so instances that start at once migrate one
    /// after the other, and the later ones find nothing left to apply.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let applied = startup::with_migration_lock(&mut *self.conn()?, backend::run_migrations)?;
        log::debug!("applied {} migrations", applied.len());
        Ok(applied)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        conn::ping(&mut *self.conn()?)
    }

    pub(crate) fn conn(&self) -> Result<conn::PooledConn, StoreError> {
        self.pool.get().map_err(error::pool_error)
    }
}
