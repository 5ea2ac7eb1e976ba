//! Where connection tests run: on threads of their own, never on actix's blocking pool (which
//! every database call uses), and only as many at once as the limits allow.
//!
//! Three limits keep tests from starving the server or one tenant from starving the others:
//! - a per-principal rate limit (`probe_rate_limit`, stricter than the general one): `429` with
//!   `Retry-After` until the principal has earned another test;
//! - a per-team bound on tests running at once (`probe_max_per_team`): `429` with `Retry-After`
//!   (the test timeout), since the team's own tests hold the slots;
//! - a global bound (`probe_max_concurrent`): `503` with `Retry-After`, like the in-flight
//!   bound, since the server as a whole is busy.
//!
//! A slot is held by the test's thread and given back when that thread ends, not when the HTTP
//! answer is sent: the tests are bounded by their deadline (libpq is driven without blocking,
//! the SSH socket is shut down at the deadline), so the threads and sockets in use are bounded
//! by the global limit too.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use credvault_domain::ids::{PrincipalId, TeamId};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;
use crate::probe::policy::ProbePolicy;
use crate::probe::{self, Target, TestCode, TestOutcome};
use crate::throttle::RateLimit;

/// How long a request waits past the deadline for a test that has not ended.
const GRACE: Duration = Duration::from_secs(2);

/// Forget principals idle long enough to have a full burst again, every so many checks.
const SWEEP_EVERY: u64 = 1024;

/// The limits of connection tests.
#[derive(Clone, Copy, Debug)]
pub struct ProbeLimits {
    /// Tests running at once on this server; `0` refuses every test.
    pub max_concurrent: usize,
    /// Tests running at once for one team.
    pub max_per_team: usize,
    /// Tests each principal may start; `None` means no limit of its own.
    pub rate_limit: Option<RateLimit>,
    /// The time limit of one test, which is also the `Retry-After` of a full team.
    pub timeout: Duration,
}

/// Runs connection tests within [`ProbeLimits`]; cheap to clone.
#[derive(Clone)]
pub struct ProbeExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    limits: ProbeLimits,
    running: Mutex<Running>,
    limiter: Option<DefaultKeyedRateLimiter<PrincipalId>>,
    checks: AtomicU64,
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
    /// An executor with these limits and nothing running.
    pub fn new(limits: ProbeLimits) -> Self {
        let limiter = limits.rate_limit.map(|rate| {
            let quota = Quota::with_period(rate.replenish_interval)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(rate.burst);
            DefaultKeyedRateLimiter::keyed(quota)
        });
        Self {
            inner: Arc::new(Inner {
                limits,
                running: Mutex::new(Running::default()),
                limiter,
                checks: AtomicU64::new(0),
            }),
        }
    }

    /// How many tests are running (their threads have not ended yet).
    pub fn running(&self) -> usize {
        self.inner.lock().total
    }

    /// Takes a slot for a test of `team` by `principal`, or says why not.
    fn admit(&self, team: TeamId, principal: PrincipalId) -> Result<Slot, ApiError> {
        if let Some(limiter) = &self.inner.limiter {
            if self.inner.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            limiter.check_key(&principal).map_err(|not_until| {
                let wait = not_until.wait_time_from(limiter.clock().now());
                ApiError::TooManyRequests {
                    retry_after_seconds: whole_seconds(wait),
                }
            })?;
        }
        let limits = self.inner.limits;
        let mut running = self.inner.lock();
        if running.total >= limits.max_concurrent {
            return Err(ApiError::Overloaded);
        }
        let team_count = running.per_team.entry(team).or_default();
        if *team_count >= limits.max_per_team {
            return Err(ApiError::TooManyRequests {
                retry_after_seconds: whole_seconds(limits.timeout),
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

    /// Runs a test of `team` by `principal` on a thread of its own and waits for its outcome;
    /// an error when a limit refuses it (nothing was connected to then).
    pub async fn run(
        &self,
        team: TeamId,
        principal: PrincipalId,
        target: Target,
        policy: ProbePolicy,
    ) -> Result<TestOutcome, ApiError> {
        let slot = self.admit(team, principal)?;
        let timeout = self.inner.limits.timeout;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("credvault-probe".to_owned())
            .spawn(move || {
                let outcome = probe::run(target, policy, timeout);
                // The slot is given back before the answer goes out, so a caller that sees the
                // answer also sees the slot free.
                drop(slot);
                // The request may have been dropped meanwhile; then nobody needs the outcome.
                let _ = sender.send(outcome);
            });
        if let Err(error) = spawned {
            log::error!("a connection test thread could not be started: {error}");
            return Err(ApiError::Overloaded);
        }
        // The test ends at its deadline; the grace only keeps the request from waiting for ever
        // should it not (its slot then stays taken until its thread ends).
        match actix_web::rt::time::timeout(timeout + GRACE, receiver).await {
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

/// `Retry-After` in whole seconds, rounded up and at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn executor(max_concurrent: usize, max_per_team: usize) -> ProbeExecutor {
        ProbeExecutor::new(ProbeLimits {
            max_concurrent,
            max_per_team,
            rate_limit: RateLimit::per_second(1, 2),
            timeout: Duration::from_secs(10),
        })
    }

    #[test]
    fn a_full_team_is_429_and_a_full_server_503_and_slots_come_back() {
        let executor = executor(3, 2);
        let (team, other) = (TeamId::new(), TeamId::new());
        let first = executor.admit(team, PrincipalId::new()).unwrap();
        let _second = executor.admit(team, PrincipalId::new()).unwrap();
        assert!(matches!(
            executor.admit(team, PrincipalId::new()),
            Err(ApiError::TooManyRequests {
                retry_after_seconds: 10
            })
        ));
        let _third = executor.admit(other, PrincipalId::new()).unwrap();
        assert_eq!(executor.running(), 3);
        assert!(matches!(
            executor.admit(TeamId::new(), PrincipalId::new()),
            Err(ApiError::Overloaded)
        ));
        drop(first);
        assert_eq!(executor.running(), 2);
        executor.admit(team, PrincipalId::new()).unwrap();
    }

    #[test]
    fn each_principal_gets_its_burst_of_tests_then_429() {
        let executor = executor(100, 100);
        let (team, principal) = (TeamId::new(), PrincipalId::new());
        drop(executor.admit(team, principal).unwrap());
        drop(executor.admit(team, principal).unwrap());
        assert!(matches!(
            executor.admit(team, principal),
            Err(ApiError::TooManyRequests { .. })
        ));
        // Another principal of the same team is not affected.
        executor.admit(team, PrincipalId::new()).unwrap();
    }
}
