//! Queues for concurrent updates of one credential within a process.
//!
//! On PostgreSQL an update reads the row, decides, and writes only if the version it read is
//! still stored. Concurrent updates of one row from the same process would mostly lose that race
//! and retry, so they wait here for each other instead, before taking a connection: the
//! database then sees one update of the row at a time from this process, and a retry happens
//! only when another process wrote in between.
//!
//! The locks are striped: a fixed array of mutexes indexed by the credential id, so memory does
//! not grow with the number of credentials. Two credentials that share a stripe queue together
//! for the few milliseconds of a write, which costs some throughput, never correctness.

use std::sync::{Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

/// How many stripes: well above the number of connections, so that updates of different
/// credentials rarely share one.
const STRIPES: usize = 256;

/// Striped mutexes keyed by credential id.
pub(crate) struct RowLocks {
    stripes: Box<[Mutex<()>]>,
}

impl RowLocks {
    pub(crate) fn new() -> RowLocks {
        RowLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Waits until no other update of a credential in the same stripe runs in this process;
    /// holds that until the guard is dropped.
    pub(crate) fn lock(&self, id: &Uuid) -> MutexGuard<'_, ()> {
        // The low bits of a UUID v7 are random, so they spread ids evenly.
        let stripe = (id.as_u128() % STRIPES as u128) as usize;
        // A panic while holding a stripe leaves nothing to repair: the lock guards no data.
        self.stripes[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failed expect is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_stripe_and_ids_spread() {
        let locks = RowLocks::new();
        let id = Uuid::now_v7();
        let held = locks.lock(&id);
        // The same id would block now; another stripe is free.
        let stripe = (id.as_u128() % STRIPES as u128) as usize;
        assert!(locks.stripes[stripe].try_lock().is_err());
        let other = (0..)
            .map(|_| Uuid::now_v7())
            .find(|other| (other.as_u128() % STRIPES as u128) as usize != stripe)
            .expect("a uuid in another stripe");
        drop(locks.lock(&other));
        drop(held);
        assert!(locks.stripes[stripe].try_lock().is_ok());

        // 4096 v7 ids made in one burst (same millisecond prefix) cover most stripes.
        let mut used = [false; STRIPES];
        for _ in 0..4096 {
            used[(Uuid::now_v7().as_u128() % STRIPES as u128) as usize] = true;
        }
        assert!(used.iter().filter(|used| **used).count() > STRIPES * 9 / 10);
    }
}
