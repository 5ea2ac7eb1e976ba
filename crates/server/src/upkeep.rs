//! The upkeep worker of `credvault serve`: a thread of its own that runs
//! [`credvault_usecases::upkeep::run_round`] one round after another, pausing between rounds,
//! until the server stops.
//!
//! It never runs on the HTTP workers nor on actix's blocking pool: a slow token endpoint or
//! server under test delays only the worker's own round. A round that claimed a full batch is
//! followed by the next one at once, so a backlog drains at the pace the limits allow.
//!
//! Scheduled health checks run through [`ProbeChecker`]: the state's own probe executor and
//! outbound policy, so that they share the global and per-team bounds of the connection tests
//! of the HTTP API and reach nothing those could not.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use credvault_api::AppState;
use credvault_domain::ids::TeamId;
use credvault_probe::{ProbeExecutor, ProbePolicy, target_for};
use credvault_usecases::credentials::Subject;
use credvault_usecases::upkeep::{ConnectionChecker, RoundLimits, run_round};

/// The connection tests of scheduled health checks: [`target_for`] and the bounded
/// [`ProbeExecutor::run`], waited for on a current-thread runtime of the calling thread.
pub struct ProbeChecker {
    probes: ProbeExecutor,
    policy: ProbePolicy,
}

impl ProbeChecker {
    /// A checker sharing `state`'s probe executor and outbound policy.
    pub fn new(state: &AppState) -> Self {
        Self {
            probes: state.probes.clone(),
            policy: state.probe_policy(),
        }
    }
}

impl ConnectionChecker for ProbeChecker {
    fn check(&self, team_id: TeamId, subject: &Subject) -> Option<(bool, String)> {
        let target = match target_for(&subject.credential, &subject.secrets) {
            Ok(target) => target,
            // The fields a test needs are missing or malformed: that is the check's finding. The
            // messages name fields, never values.
            Err(errors) => {
                let reasons: Vec<String> = errors
                    .errors()
                    .iter()
                    .map(|error| format!("{} {}", error.field, error.message))
                    .collect();
                return Some((false, format!("cannot be tested: {}", reasons.join("; "))));
            }
        };
        // The round's threads each wait on a runtime of their own; building one is cheap next
        // to a connection, and the test itself runs on the executor's thread.
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                log::error!("no runtime for a scheduled health check: {error}");
                return None;
            }
        };
        match runtime.block_on(self.probes.run(team_id, target, self.policy.clone())) {
            Ok(outcome) => Some((outcome.ok(), outcome.message)),
            Err(refused) => {
                log::info!(
                    "scheduled health check of credential {} deferred: {refused}",
                    subject.credential.id
                );
                None
            }
        }
    }
}

/// The running worker; [`Worker::stop`] (or dropping it) ends it after its current round.
pub struct Worker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker over `state` (its store, key ring, refresher, probe executor and
    /// metrics), a round every `interval` within `limits`. `None` when the state has no
    /// refresher (no token endpoint).
    pub fn start(state: &AppState, interval: Duration, limits: RoundLimits) -> Option<Worker> {
        let refresher = state.refresher.clone()?;
        let checker = ProbeChecker::new(state);
        let store = state.store.clone();
        let key_ring = Arc::clone(&state.key_ring);
        let metrics = Arc::clone(&state.upkeep_metrics);
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("credvault-upkeep".to_owned())
            .spawn(move || {
                log::info!(
                    "upkeep worker started: a round every {}s, {} credentials at most, {} at once",
                    interval.as_secs(),
                    limits.batch,
                    limits.concurrency
                );
                loop {
                    let round =
                        run_round(&store, &key_ring, &refresher, &checker, limits, &metrics);
                    let pause = match round {
                        Ok(report) if report.claimed >= limits.batch => Duration::ZERO,
                        Ok(report) => {
                            if report.claimed > 0 {
                                log::debug!("upkeep round: {report:?}");
                            }
                            interval
                        }
                        Err(error) => {
                            log::warn!("upkeep round failed: {error}");
                            interval
                        }
                    };
                    let (lock, wake) = &*stopped;
                    let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    let (guard, _) = wake
                        .wait_timeout_while(guard, pause, |stop| !*stop)
                        .unwrap_or_else(PoisonError::into_inner);
                    if *guard {
                        break;
                    }
                }
                log::info!("upkeep worker stopped");
            })
            .map_err(|error| log::error!("the upkeep worker could not start: {error}"))
            .ok()?;
        Some(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Asks the worker to stop and waits for its current round to end.
    pub fn stop(mut self) {
        self.signal_and_join();
    }

    fn signal_and_join(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("the upkeep worker panicked");
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.signal_and_join();
    }
}
