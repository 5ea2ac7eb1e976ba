//! Where connection tests run: on threads of their own, never on a pool that database calls use
//! (such as actix's blocking pool), and only as many at once as the limits allow.
//!
//! Two bounds keep tests from starving the server or one tenant from starving the others:
//! - a per-team bound on tests running at once ([`ProbeSettings::max_per_team`]):
//!   [`Refused::TeamBusy`], to retry after the test timeout, since the team's own tests hold the
//!   slots;
//! - a global bound ([`ProbeSettings::max_concurrent`]): [`Refused::ServerBusy`], since the server
//!   as a whole is busy.
//!
//! A per-principal rate of tests is the caller's (the HTTP API charges it before it asks).
//!
//! A slot is held by the test's thread and given back when that thread ends, not when the
//! caller gets its answer: the tests are bounded by their deadline (libpq is driven without
//! blocking, the SSH socket is shut down at the deadline), so the threads and sockets in use are
//! bounded by the global limit too.
//!
//! [`ProbeExecutor::run`] waits with `tokio::time`, so it runs inside a Tokio runtime with its
//! time driver (actix-web's is one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use credvault_domain::ids::TeamId;

use crate::policy::ProbePolicy;
use crate::{ProbeSettings, Target, TestCode, TestOutcome};

/// How long a caller waits past the deadline for a test that has not ended.
const GRACE: Duration = Duration::from_secs(2);

/// Why a test was not started; nothing was connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The server's tests are all running ([`ProbeSettings::max_concurrent`]), or no thread could
    /// be started for the test.
    #[error("the server is running as many connection tests as it may")]
    ServerBusy,
    /// The team's tests are all running ([`ProbeSettings::max_per_team`]); one ends within
    /// `retry_after` (the test timeout).
    #[error("the team is running as many connection tests as it may")]
    TeamBusy {
        /// When to try again.
        retry_after: Duration,
    },
}

/// The bounds of [`ProbeExecutor`], from [`ProbeSettings`].
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_concurrent: usize,
    max_per_team: usize,
    timeout: Duration,
}

/// Runs connection tests within the bounds of [`ProbeSettings`]; cheap to clone.
#[derive(Clone)]
pub struct ProbeExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    limits: Limits,
    running: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    total: usize,
    per_team: HashMap<TeamId, usize>,
}

/// A slot of a running test, given back on drop.
struct Slot {
    inner: Arc<Inner>,
    team: TeamId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.inner.lock();
        running.total = running.total.saturating_sub(1);
        if let Some(count) = running.per_team.get_mut(&self.team) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.per_team.remove(&self.team);
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        // The counts stay consistent even if a holder panicked: every change is one statement.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ProbeExecutor {
    /// An executor with the bounds and timeout of `settings`, and nothing running.
    pub fn new(settings: &ProbeSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits: Limits {
                    max_concurrent: settings.max_concurrent,
                    max_per_team: settings.max_per_team,
                    timeout: settings.timeout,
                },
                running: Mutex::new(Running::default()),
            }),
        }
    }

    /// How many tests are running (their threads have not ended yet).
    pub fn running(&self) -> usize {
        self.inner.lock().total
    }

    /// Takes a slot for a test of `team`, or says why not.
    fn admit(&self, team: TeamId) -> Result<Slot, Refused> {
        let limits = self.inner.limits;
        let mut running = self.inner.lock();
        if running.total >= limits.max_concurrent {
            return Err(Refused::ServerBusy);
        }
        let team_count = running.per_team.entry(team).or_default();
        if *team_count >= limits.max_per_team {
            return Err(Refused::TeamBusy {
                retry_after: limits.timeout,
            });
        }
        *team_count += 1;
        running.total += 1;
        drop(running);
        Ok(Slot {
            inner: Arc::clone(&self.inner),
            team,
        })
    }

    /// Runs a test of `team` on a thread of its own and waits for its outcome; an error when a
    /// bound refuses it (nothing was connected to then).
    pub async fn run(
        &self,
        team: TeamId,
        target: Target,
        policy: ProbePolicy,
    ) -> Result<TestOutcome, Refused> {
        let slot = self.admit(team)?;
        let timeout = self.inner.limits.timeout;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("credvault-probe".to_owned())
            .spawn(move || {
                let outcome = crate::run(target, policy, timeout);
                // The slot is given back before the answer goes out, so a caller that sees the
                // answer also sees the slot free.
                drop(slot);
                // The caller may have gone meanwhile; then nobody needs the outcome.
                let _ = sender.send(outcome);
            });
        if let Err(error) = spawned {
            log::error!("a connection test thread could not be started: {error}");
            return Err(Refused::ServerBusy);
        }
        // The test ends at its deadline; the grace only keeps the caller from waiting for ever
        // should it not (its slot then stays taken until its thread ends).
        match tokio::time::timeout(timeout + GRACE, receiver).await {
            Ok(Ok(outcome)) => Ok(outcome),
            // The thread ended without an answer: it panicked.
            Ok(Err(_)) => Ok(TestOutcome {
                code: TestCode::Error,
                message: "the test failed".to_owned(),
                latency: Duration::ZERO,
            }),
            Err(_) => {
                log::error!("a connection test outlived its deadline");
                Ok(TestOutcome {
                    code: TestCode::Timeout,
                    message: format!(
                        "the test did not finish within {} s",
                        timeout.as_secs_f64().ceil()
                    ),
                    latency: timeout + GRACE,
                })
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn executor(max_concurrent: usize, max_per_team: usize) -> ProbeExecutor {
        ProbeExecutor::new(&ProbeSettings {
            max_concurrent,
            max_per_team,
            timeout: Duration::from_secs(10),
            ..ProbeSettings::default()
        })
    }

    #[test]
    fn a_full_team_waits_for_the_timeout_a_full_server_is_busy_and_slots_come_back() {
        let executor = executor(3, 2);
        let (team, other) = (TeamId::new(), TeamId::new());
        let first = executor.admit(team).unwrap();
        let _second = executor.admit(team).unwrap();
        assert!(matches!(
            executor.admit(team),
            Err(Refused::TeamBusy { retry_after }) if retry_after == Duration::from_secs(10)
        ));
        let _third = executor.admit(other).unwrap();
        assert_eq!(executor.running(), 3);
        assert!(matches!(
            executor.admit(TeamId::new()),
            Err(Refused::ServerBusy)
        ));
        drop(first);
        assert_eq!(executor.running(), 2);
        executor.admit(team).unwrap();
    }
}
