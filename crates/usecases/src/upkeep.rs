//! The upkeep worker's round: claim the credentials whose upkeep is due, refresh those that need
//! it and reschedule the others, a bounded number at a time, with counters for `/metrics`.
//!
//! The round is synchronous; the server runs rounds on a thread of its own, one after another,
//! with a pause between them. Several instances run rounds at once without working on the same
//! credential: [`Store::claim_due`] hands each due row to one of them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::TimeDelta;
use credvault_crypto::KeyRing;
use credvault_domain::ids::RequestId;
use credvault_domain::time::now;
use credvault_persistence::{DueCredential, Store, StoreError};

use crate::credentials::refresh::{Reason, Refreshed, Refresher, refresh};
use crate::error::Error;

/// How a round is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundLimits {
    /// The most credentials claimed in one round.
    pub batch: usize,
    /// The most refreshes running at once.
    pub concurrency: usize,
}

impl Default for RoundLimits {
    fn default() -> Self {
        Self {
            batch: 50,
            concurrency: 4,
        }
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Credentials claimed.
    pub claimed: usize,
    /// Refreshed.
    pub refreshed: usize,
    /// Refresh attempts that failed (recorded as their status and health).
    pub failed: usize,
    /// Looked at and rescheduled without a token request.
    pub rescheduled: usize,
    /// Not handled because of an error of credvault's own (the store, a missing key); they are
    /// looked at again once their claim runs out.
    pub errors: usize,
}

/// The worker's counters since the process started, and the backlog its last round saw.
#[derive(Debug, Default)]
pub struct UpkeepMetrics {
    /// Token requests sent.
    pub attempts: AtomicU64,
    /// Token requests that failed.
    pub failures: AtomicU64,
    /// Successful refreshes.
    pub refreshed: AtomicU64,
    /// Credentials that could not be handled (credvault's own errors).
    pub errors: AtomicU64,
    /// Credentials due (claimed or not) at the end of the last round.
    pub backlog: AtomicU64,
    /// Rounds run.
    pub rounds: AtomicU64,
}

impl UpkeepMetrics {
    fn add(&self, report: &RoundReport) {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.attempts
            .fetch_add(count(report.refreshed + report.failed), Ordering::Relaxed);
        self.failures
            .fetch_add(count(report.failed), Ordering::Relaxed);
        self.refreshed
            .fetch_add(count(report.refreshed), Ordering::Relaxed);
        self.errors
            .fetch_add(count(report.errors), Ordering::Relaxed);
        self.rounds.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs one round: claims up to `limits.batch` due credentials for `refresher`'s holder and
/// handles them on at most `limits.concurrency` threads. Records the round in `metrics`.
pub fn run_round(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    limits: RoundLimits,
    metrics: &UpkeepMetrics,
) -> Result<RoundReport, StoreError> {
    let at = now();
    let lease = TimeDelta::from_std(refresher.lease).unwrap_or(TimeDelta::MAX);
    let due = store.claim_due(&refresher.holder, at, at + lease, limits.batch.max(1))?;
    let report = Mutex::new(RoundReport {
        claimed: due.len(),
        ..RoundReport::default()
    });
    let queue = Mutex::new(due.into_iter());
    let workers = limits.concurrency.clamp(1, 64);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .next();
                    let Some(due) = next else { break };
                    let outcome = handle(store, key_ring, refresher, due);
                    let mut report = report
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match outcome {
                        Ok(Refreshed::Refreshed(_)) => report.refreshed += 1,
                        Ok(Refreshed::Failed { .. }) => report.failed += 1,
                        Ok(Refreshed::NotNeeded | Refreshed::Deferred(_)) => {
                            report.rescheduled += 1;
                        }
                        Err(_) => report.errors += 1,
                    }
                }
            });
        }
    });
    let report = report
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    metrics.add(&report);
    if let Ok(backlog) = store.upkeep_backlog(now()) {
        metrics.backlog.store(backlog, Ordering::Relaxed);
    }
    Ok(report)
}

fn handle(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    due: DueCredential,
) -> Result<Refreshed, Error> {
    let result = refresh(
        store,
        key_ring,
        refresher,
        due.team_id,
        due.credential_id,
        Reason::Upkeep,
        RequestId::new(),
    );
    match &result {
        Ok(Refreshed::Refreshed(_)) => {
            log::info!("refreshed the token of credential {}", due.credential_id);
        }
        Ok(Refreshed::Failed { error, .. }) => {
            log::warn!(
                "refreshing the token of credential {} failed: {error}",
                due.credential_id
            );
        }
        Ok(Refreshed::NotNeeded | Refreshed::Deferred(_)) => {}
        // A credential deleted since it was claimed is nobody's business any more.
        Err(Error::Store(StoreError::NotFound)) => {}
        Err(error) => {
            log::error!(
                "the upkeep of credential {} failed: {error}",
                due.credential_id
            );
        }
    }
    result
}
