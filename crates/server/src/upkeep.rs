//! The upkeep worker of `credvault serve`: a thread of its own that runs
//! [`credvault_usecases::upkeep::run_round`] one round after another, pausing between rounds,
//! until the server stops.
//!
//! It never runs on the HTTP workers nor on actix's blocking pool: a slow token endpoint delays
//! only the worker's own round. A round that claimed a full batch is followed by the next one at
//! once, so a backlog drains at the pace the limits allow.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use credvault_api::AppState;
use credvault_usecases::upkeep::{RoundLimits, run_round};

/// The running worker; [`Worker::stop`] (or dropping it) ends it after its current round.
pub struct Worker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker over `state` (its store, key ring, refresher and metrics), a round every
    /// `interval` within `limits`. `None` when the state has no refresher (no token endpoint).
    pub fn start(state: &AppState, interval: Duration, limits: RoundLimits) -> Option<Worker> {
        let refresher = state.refresher.clone()?;
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
                    let pause = match run_round(&store, &key_ring, &refresher, limits, &metrics) {
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
