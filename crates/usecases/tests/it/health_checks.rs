//! Scheduled health checks in the upkeep round, with a connection checker that answers from
//! memory: what a check records, when the next one is due, and what is left alone.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use credvault_crypto::KeyRing;
use credvault_domain::audit::{Actor, AuditAction};
use credvault_domain::credential::{Credential, CredentialStatus, HealthStatus};
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::patch::NewCredential;
use credvault_domain::refresh::expires_at_text;
use credvault_persistence::PageRequest;
use credvault_persistence::testing::TestDb;
use credvault_usecases::credentials::{self, Subject};
use credvault_usecases::upkeep::{ConnectionChecker, RoundLimits, UpkeepMetrics, run_round};
use serde_json::{Value, json};

use crate::refresh::{Endpoint, refresher};
use crate::support::{Team, key_ring, team, warehouse};

/// A checker for rounds that must not run a connection test.
pub(crate) struct NeverChecked;

impl ConnectionChecker for NeverChecked {
    fn check(&self, _: TeamId, subject: &Subject) -> Option<(bool, String)> {
        panic!(
            "no health check was expected, got one of {}",
            subject.credential.id
        )
    }
}

/// Accepts the password `right` and refuses any other; or, when `busy`, refuses to run at all
/// (as the bounded executor does when its slots are taken). Records what it was asked to test.
#[derive(Default)]
struct Checker {
    busy: bool,
    checked: Mutex<Vec<(TeamId, CredentialId)>>,
}

impl ConnectionChecker for Checker {
    fn check(&self, team_id: TeamId, subject: &Subject) -> Option<(bool, String)> {
        self.checked
            .lock()
            .unwrap()
            .push((team_id, subject.credential.id));
        if self.busy {
            return None;
        }
        let password = subject.secrets.get("password").map(|value| value.expose());
        Some(if password == Some("right") {
            (true, "connected and ran SELECT 1".to_owned())
        } else {
            (false, "the server refused the password".to_owned())
        })
    }
}

/// A PostgreSQL credential with `password`, checked every `interval` seconds (or never).
fn database(
    db: &TestDb,
    team: &Team,
    ring: &KeyRing,
    password: &str,
    interval: Option<u32>,
) -> Credential {
    let mut body = json!({
        "provider": "postgresql", "kind": "user_password", "name": format!("DB {password}"),
        "extra_data": {
            "host": "db.internal", "database": "dw", "username": "etl", "password": password
        }
    });
    if let Some(seconds) = interval {
        body["health_check_interval_seconds"] = json!(seconds);
    }
    let input = NewCredential::from_json(body).unwrap();
    credentials::create(db.store(), ring, team.id, team.owner, &input)
        .unwrap()
        .credential
}

fn stored(db: &TestDb, credential: &Credential) -> Credential {
    db.store()
        .find_credential(credential.team_id, credential.id)
        .unwrap()
        .unwrap()
        .credential
}

fn actions(db: &TestDb, credential: &Credential) -> Vec<(AuditAction, Actor, Vec<String>)> {
    let page = PageRequest {
        after: None,
        limit: 100,
    };
    db.store()
        .list_events(credential.team_id, credential.id, page)
        .unwrap()
        .items
        .into_iter()
        .map(|event| (event.action, event.actor, event.changed_fields))
        .collect()
}

fn due_at(db: &TestDb, credential: &Credential) -> Option<chrono::DateTime<Utc>> {
    db.store()
        .upkeep_of(credential.team_id, credential.id)
        .unwrap()
        .due_at
}

credvault_persistence::backend_tests! {
    fn a_round_checks_credentials_with_an_interval_and_records_their_health(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let healthy = database(db, &team, &ring, "right", Some(60));
        let failing = database(db, &team, &ring, "wrong", Some(3600));
        let unscheduled = warehouse(db, &team, &ring);
        // An SFTP credential without its password is pending: nothing to test until it is saved.
        let pending_input = NewCredential::from_json(json!({
            "provider": "sftp", "kind": "user_password", "name": "Drop",
            "extra_data": {"host": "sftp.internal", "username": "etl"},
            "health_check_interval_seconds": 60
        }))
        .unwrap();
        let pending = credentials::create(db.store(), &ring, team.id, team.owner, &pending_input)
            .unwrap()
            .credential;
        assert_eq!(pending.status, CredentialStatus::Pending);
        // An OAuth credential whose token is fresh is rescheduled, not tested.
        let drive_input = NewCredential::from_json(json!({
            "provider": "google", "kind": "google_oauth", "name": "Drive",
            "extra_data": {
                "client_id": "client-1", "client_secret": "client-secret",
                "access_token": "at-0", "refresh_token": "rt-1",
                "expires_at": expires_at_text(Utc::now() + TimeDelta::hours(2)),
            }
        }))
        .unwrap();
        let drive = credentials::create(db.store(), &ring, team.id, team.owner, &drive_input)
            .unwrap()
            .credential;

        let checker = Checker::default();
        let endpoint = Arc::new(Endpoint::default());
        let refresher = refresher(endpoint);
        let metrics = UpkeepMetrics::default();
        let report =
            run_round(db.store(), &ring, &refresher, &checker, RoundLimits::default(), &metrics)
                .unwrap();
        assert_eq!(report.claimed, 4, "{report:?}");
        assert_eq!((report.checked, report.check_failures), (2, 1), "{report:?}");
        assert_eq!((report.refreshed, report.rescheduled, report.errors), (0, 2, 0));
        let mut checked = checker.checked.lock().unwrap().clone();
        checked.sort();
        let mut expected = vec![(team.id, healthy.id), (team.id, failing.id)];
        expected.sort();
        assert_eq!(checked, expected);
        assert_eq!(metrics.health_checks.load(Ordering::Relaxed), 2);
        assert_eq!(metrics.health_check_failures.load(Ordering::Relaxed), 1);

        let now = stored(db, &healthy);
        assert_eq!(now.status, CredentialStatus::Connected);
        assert_eq!(now.health.status, HealthStatus::Healthy);
        assert_eq!(now.health.notes, ["connected and ran SELECT 1"]);
        // Server-owned state: the version stays.
        assert_eq!(now.version, healthy.version);
        let events = actions(db, &healthy);
        let (action, actor, changed) = events.last().unwrap();
        assert_eq!((*action, *actor), (AuditAction::Tested, Actor::system()));
        assert_eq!(changed, &["status", "health"]);
        let next = due_at(db, &healthy).unwrap();
        assert!(next > Utc::now() + TimeDelta::seconds(50), "due a minute later: {next}");
        assert!(next <= Utc::now() + TimeDelta::seconds(60), "due a minute later: {next}");

        let now = stored(db, &failing);
        assert_eq!(now.status, CredentialStatus::Error);
        assert_eq!(now.health.status, HealthStatus::Error);
        assert_eq!(now.health.notes, ["the server refused the password"]);
        let next = due_at(db, &failing).unwrap();
        assert!(next > Utc::now() + TimeDelta::minutes(55), "due an hour later: {next}");

        // Without an interval: never due, never touched.
        assert_eq!(due_at(db, &unscheduled), None);
        let now = stored(db, &unscheduled);
        assert_eq!(now.status, CredentialStatus::CredentialsSaved);
        assert_eq!(now.health.status, HealthStatus::Unknown);
        assert_eq!(actions(db, &unscheduled).len(), 1);
        // Pending: parked until a client writes it.
        assert_eq!(due_at(db, &pending), None);
        assert_eq!(stored(db, &pending).status, CredentialStatus::Pending);
        assert!(due_at(db, &drive).unwrap() > Utc::now() + TimeDelta::minutes(30));

        let again =
            run_round(db.store(), &ring, &refresher, &checker, RoundLimits::default(), &metrics)
                .unwrap();
        assert_eq!(again.claimed, 0, "nothing is due before its interval");
    }

    fn a_check_the_executor_refuses_records_nothing_and_is_due_again_in_a_minute(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let credential = database(db, &team, &ring, "right", Some(86_400));
        let checker = Checker { busy: true, ..Checker::default() };
        let refresher = refresher(Arc::new(Endpoint::default()));
        let metrics = UpkeepMetrics::default();
        let report =
            run_round(db.store(), &ring, &refresher, &checker, RoundLimits::default(), &metrics)
                .unwrap();
        assert_eq!((report.claimed, report.checked, report.rescheduled), (1, 0, 1));
        assert_eq!(checker.checked.lock().unwrap().len(), 1);
        let now = stored(db, &credential);
        assert_eq!(now.status, CredentialStatus::CredentialsSaved);
        assert_eq!(now.health.status, HealthStatus::Unknown);
        assert_eq!(actions(db, &credential).len(), 1, "only the created event");
        let next = due_at(db, &credential).unwrap();
        assert!(next > Utc::now() + TimeDelta::seconds(50), "{next}");
        assert!(next <= Utc::now() + TimeDelta::seconds(60), "{next}");
        assert_eq!(metrics.health_checks.load(Ordering::Relaxed), 0);
    }

    fn turning_the_interval_off_stops_the_checks(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let credential = database(db, &team, &ring, "right", Some(60));
        let patch = credvault_domain::patch::CredentialPatch::from_json(
            json!({"health_check_interval_seconds": Value::Null}),
        )
        .unwrap();
        let request = credentials::PatchRequest {
            team_id: team.id,
            credential_id: credential.id,
            expected_version: None,
            caller: team.owner,
            patch: &patch,
        };
        let updated = credentials::update(db.store(), &ring, &request).unwrap();
        assert_eq!(updated.credential.health_check_interval_seconds, None);
        let (_, _, changed) = actions(db, &credential).pop().unwrap();
        assert_eq!(changed, ["health_check_interval_seconds"]);
        assert_eq!(due_at(db, &credential), None);
        let report = run_round(
            db.store(), &ring, &refresher(Arc::new(Endpoint::default())), &NeverChecked,
            RoundLimits::default(), &UpkeepMetrics::default(),
        )
        .unwrap();
        assert_eq!(report.claimed, 0);
    }
}
