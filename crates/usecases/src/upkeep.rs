//! The upkeep worker's round: claim the credentials whose upkeep is due and handle each by its
//! kind, a bounded number at a time, with counters for `/metrics`:
//!
//! - an OAuth credential is refreshed if its token needs it, else rescheduled
//!   ([`credentials::refresh`](crate::credentials::refresh::refresh));
//! - a connectable credential with a `health_check_interval_seconds` gets a scheduled health
//!   check: its stored connection test, run through the [`ConnectionChecker`] port (the server's
//!   bounded probe executor, under the outbound policy of connection tests), recorded by
//!   [`record_test`] as its `health`, its `status` and a `tested` event by the system actor, and
//!   the next check is due an interval later (a minute later when the executor's bounds refused
//!   to run it now);
//! - anything else is parked until a client writes it again.
//!
//! The round is synchronous; the server runs rounds on a thread of its own, one after another,
//! with a pause between them. Several instances run rounds at once without working on the same
//! credential: [`Store::claim_due`] hands each due row to one of them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::TimeDelta;
use credvault_crypto::KeyRing;
use credvault_domain::audit::Actor;
use credvault_domain::credential::CredentialStatus;
use credvault_domain::health_check::is_connectable;
use credvault_domain::ids::{RequestId, TeamId};
use credvault_domain::principal::Role;
use credvault_domain::release::is_oauth;
use credvault_domain::time::now;
use credvault_persistence::{DueCredential, Store, StoreError};

use crate::credentials::refresh::{Reason, Refreshed, Refresher, refresh};
use crate::credentials::{Caller, PreparedTest, Subject, prepare_test, record_test};
use crate::error::Error;

/// Runs the connection test of a scheduled health check: the port through which the round
/// reaches the network, implemented by the server with its bounded probe executor, so that a
/// check runs under the same outbound policy and limits as a test through the API.
pub trait ConnectionChecker: Send + Sync {
    /// Tests `subject`, a stored credential of team `team_id` with its secrets: whether the test
    /// succeeded and its message (never a secret), or `None` when the executor's bounds refused
    /// to run it now (nothing was connected to).
    fn check(&self, team_id: TeamId, subject: &Subject) -> Option<(bool, String)>;
}

/// How long after a check the executor refused the round tries again.
pub const CHECK_RETRY: TimeDelta = TimeDelta::minutes(1);

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
    /// Looked at and rescheduled without a token request or a connection test (a check the
    /// executor refused to run now included), or parked.
    pub rescheduled: usize,
    /// Scheduled health checks run and recorded.
    pub checked: usize,
    /// Of those, the checks whose connection test failed.
    pub check_failures: usize,
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
    /// Scheduled health checks run and recorded.
    pub health_checks: AtomicU64,
    /// Scheduled health checks whose connection test failed.
    pub health_check_failures: AtomicU64,
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
        self.health_checks
            .fetch_add(count(report.checked), Ordering::Relaxed);
        self.health_check_failures
            .fetch_add(count(report.check_failures), Ordering::Relaxed);
    }
}

/// Runs one round: claims up to `limits.batch` due credentials for `refresher`'s holder and
/// handles them on at most `limits.concurrency` threads, health checks through `checker`.
/// Records the round in `metrics`.
pub fn run_round(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    checker: &dyn ConnectionChecker,
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
                    let outcome = handle(store, key_ring, refresher, checker, due);
                    let mut report = report
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match outcome {
                        Ok(Handled::Refresh(Refreshed::Refreshed(_))) => report.refreshed += 1,
                        Ok(Handled::Refresh(Refreshed::Failed { .. })) => report.failed += 1,
                        Ok(Handled::Checked { ok }) => {
                            report.checked += 1;
                            if !ok {
                                report.check_failures += 1;
                            }
                        }
                        Ok(
                            Handled::Refresh(Refreshed::NotNeeded | Refreshed::Deferred { .. })
                            | Handled::Rescheduled,
                        ) => {
                            report.rescheduled += 1;
                        }
                        Ok(Handled::Gone) => {}
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

/// What the round did with one claimed credential.
enum Handled {
    /// An OAuth credential: what its refresh did.
    Refresh(Refreshed),
    /// A health check ran and was recorded.
    Checked {
        /// Whether the connection test succeeded.
        ok: bool,
    },
    /// Rescheduled or parked without a test.
    Rescheduled,
    /// Deleted since it was claimed.
    Gone,
}

fn handle(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    checker: &dyn ConnectionChecker,
    due: DueCredential,
) -> Result<Handled, Error> {
    let result = handle_by_kind(store, key_ring, refresher, checker, due);
    match &result {
        Ok(Handled::Refresh(refreshed)) => log_refresh(due, refreshed),
        Ok(Handled::Checked { ok }) => {
            log::info!(
                "scheduled health check of credential {} finished ok={ok}",
                due.credential_id
            );
        }
        Ok(Handled::Rescheduled | Handled::Gone) => {}
        // A credential deleted since it was claimed is nobody's business any more.
        Err(Error::Store(StoreError::NotFound)) => return Ok(Handled::Gone),
        Err(error) => {
            log::error!(
                "the upkeep of credential {} failed: {error}",
                due.credential_id
            );
        }
    }
    result
}

/// OAuth kinds are refreshed, connectable kinds with an interval checked, the rest parked.
fn handle_by_kind(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    checker: &dyn ConnectionChecker,
    due: DueCredential,
) -> Result<Handled, Error> {
    let Some(stored) = store.find_credential(due.team_id, due.credential_id)? else {
        return Ok(Handled::Gone);
    };
    let credential = &stored.credential;
    if is_oauth(credential.kind) {
        return refresh(
            store,
            key_ring,
            refresher,
            due.team_id,
            due.credential_id,
            Reason::Upkeep,
            RequestId::new(),
        )
        .map(Handled::Refresh);
    }
    let interval = credential
        .health_check_interval_seconds
        .filter(|_| is_connectable(credential.provider, credential.kind));
    match interval {
        Some(_) => health_check(store, key_ring, refresher, checker, due),
        None => {
            store.release_refresh(due.team_id, due.credential_id, &refresher.holder, None)?;
            Ok(Handled::Rescheduled)
        }
    }
}

/// A scheduled health check: the stored credential's connection test by the system actor,
/// recorded as a test through the API would be, then the next one an interval later. A
/// credential that cannot be tested as it is (`pending`: a required secret is missing) or
/// must not be (`revoked`) is parked until a client writes it.
fn health_check(
    store: &Store,
    key_ring: &KeyRing,
    refresher: &Refresher,
    checker: &dyn ConnectionChecker,
    due: DueCredential,
) -> Result<Handled, Error> {
    let caller = Caller {
        actor: Actor::system(),
        request_id: RequestId::new(),
    };
    // Without a body the role is not asked; a member's is the least that may test.
    let PreparedTest { subject, pending } = prepare_test(
        store,
        key_ring,
        due.team_id,
        due.credential_id,
        Role::Member,
        caller,
        None,
    )?;
    let release =
        |due_at| store.release_refresh(due.team_id, due.credential_id, &refresher.holder, due_at);
    let credential = &subject.credential;
    let Some(interval) = credential.health_check_interval_seconds else {
        release(None)?;
        return Ok(Handled::Rescheduled);
    };
    if matches!(
        credential.status,
        CredentialStatus::Pending | CredentialStatus::Revoked
    ) {
        release(None)?;
        return Ok(Handled::Rescheduled);
    }
    let outcome = checker.check(due.team_id, &subject);
    drop(subject);
    let Some((ok, message)) = outcome else {
        release(Some(now() + CHECK_RETRY))?;
        return Ok(Handled::Rescheduled);
    };
    record_test(store, pending, ok, message)?;
    release(Some(now() + TimeDelta::seconds(i64::from(interval))))?;
    Ok(Handled::Checked { ok })
}

fn log_refresh(due: DueCredential, result: &Refreshed) {
    match result {
        Refreshed::Refreshed(_) => {
            log::info!("refreshed the token of credential {}", due.credential_id);
        }
        Refreshed::Failed { error, .. } => {
            log::warn!(
                "refreshing the token of credential {} failed: {error}",
                due.credential_id
            );
        }
        Refreshed::NotNeeded | Refreshed::Deferred { .. } => {}
    }
}
