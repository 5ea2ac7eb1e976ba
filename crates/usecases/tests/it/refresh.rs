//! The refresh rules of the use case, with a token endpoint that answers from memory: what is
//! stored after a success or a failure, what a use releases, that a replaced refresh token wins,
//! and that concurrent uses redeem once. (The HTTP tests do the same against a real token server
//! on loopback.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use credvault_crypto::KeyRing;
use credvault_domain::audit::AuditAction;
use credvault_domain::credential::{Credential, CredentialStatus, HealthStatus};
use credvault_domain::ids::{RequestId, TeamId};
use credvault_domain::oauth_token::{
    CodeExchange, RefreshRequest, TokenEndpoint, TokenError, TokenGrant,
};
use credvault_domain::patch::{CredentialPatch, NewCredential};
use credvault_domain::principal::{Principal, PrincipalKind, Role};
use credvault_domain::refresh::{RefreshSettings, expires_at_text};
use credvault_domain::secret::SecretValue;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, Store};
use credvault_usecases::credentials::{self, Caller, PatchRequest, Reason, Refreshed, Refresher};
use credvault_usecases::upkeep::{RoundLimits, UpkeepMetrics, run_round};
use credvault_usecases::{Error, grants, secrets};
use serde_json::json;

use crate::health_checks::NeverChecked;
use crate::support::{Team, key_ring, team};

/// A token endpoint in memory: rotates refresh tokens (`rt-1` → `rt-2` …) and counts
/// redemptions, or answers `failure` when set.
#[derive(Default)]
pub(crate) struct Endpoint {
    redemptions: AtomicUsize,
    failure: Mutex<Option<TokenError>>,
    delay: Mutex<Duration>,
    /// Runs during the request, before the answer (to change the store meanwhile).
    during: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl TokenEndpoint for Endpoint {
    fn refresh(&self, _team: TeamId, request: &RefreshRequest) -> Result<TokenGrant, TokenError> {
        std::thread::sleep(*self.delay.lock().unwrap());
        if let Some(during) = self.during.lock().unwrap().take() {
            during();
        }
        if let Some(failure) = self.failure.lock().unwrap().clone() {
            return Err(failure);
        }
        assert_eq!(request.client_id, "client-1");
        assert_eq!(request.client_secret.expose(), "client-secret");
        let n = self.redemptions.fetch_add(1, Ordering::SeqCst) + 1;
        let number: usize = request
            .refresh_token
            .expose()
            .trim_start_matches("rt-")
            .parse()
            .unwrap();
        Ok(TokenGrant {
            access_token: SecretValue::new(format!("at-{n}")),
            expires_in: Some(3600),
            refresh_token: Some(SecretValue::new(format!("rt-{}", number + 1))),
            scope: None,
        })
    }

    fn exchange_code(&self, _: TeamId, _: &CodeExchange) -> Result<TokenGrant, TokenError> {
        unreachable!("no code is exchanged here")
    }
}

pub(crate) fn refresher(endpoint: Arc<Endpoint>) -> Refresher {
    Refresher::new(
        endpoint,
        RefreshSettings::default(),
        format!("test-{}", uuid_like()),
        Duration::from_secs(30),
        Duration::from_secs(30),
    )
}

fn uuid_like() -> String {
    credvault_domain::ids::RequestId::new().to_string()
}

/// A Google OAuth credential whose access token `at-0` expires in `expires_in`, with refresh
/// token `rt-1`, granted to a service account; returns it and the account's principal.
fn drive(
    db: &TestDb,
    team: &Team,
    key_ring: &KeyRing,
    expires_in: TimeDelta,
) -> (Credential, Principal) {
    let input = NewCredential::from_json(json!({
        "provider": "google", "kind": "google_oauth", "name": "Drive",
        "extra_data": {
            "client_id": "client-1", "client_secret": "client-secret",
            "token_url": "https://oauth2.example.com/token",
            "access_token": "at-0", "refresh_token": "rt-1",
            "expires_at": expires_at_text(Utc::now() + expires_in),
        }
    }))
    .unwrap();
    let credential = credentials::create(db.store(), key_ring, team.id, team.owner, &input)
        .unwrap()
        .credential;
    let account = db
        .store()
        .create_service_account(team.id, "robot", None, Role::Member)
        .unwrap_or_else(|_| {
            db.store()
                .list_service_accounts(
                    team.id,
                    PageRequest {
                        after: None,
                        limit: 1,
                    },
                )
                .unwrap()
                .items
                .remove(0)
        });
    grants::grant(db.store(), team.id, credential.id, account.id, team.owner).unwrap();
    let principal = Principal {
        id: account.principal_id,
        kind: PrincipalKind::ServiceAccount,
        service_account: Some(account.id),
    };
    (credential, principal)
}

fn use_it(
    store: &Store,
    key_ring: &KeyRing,
    credential: &Credential,
    principal: &Principal,
    refresher: &Refresher,
) -> Result<credentials::Release, Error> {
    credentials::use_credential(
        store,
        key_ring,
        credential.team_id,
        credential.id,
        Role::Member,
        principal,
        Caller::new(principal, RequestId::new()),
        Some(refresher),
    )
}

fn stored_secret(db: &TestDb, key_ring: &KeyRing, credential: &Credential, name: &str) -> String {
    let stored = db
        .store()
        .find_credential(credential.team_id, credential.id)
        .unwrap()
        .unwrap();
    secrets::open(key_ring, &stored)
        .unwrap()
        .get(name)
        .unwrap()
        .expose()
        .to_owned()
}

fn actions(db: &TestDb, credential: &Credential) -> Vec<AuditAction> {
    db.store()
        .list_events(
            credential.team_id,
            credential.id,
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|event| event.action)
        .collect()
}

credvault_persistence::backend_tests! {
    fn a_use_near_expiry_refreshes_first_and_stores_the_rotation(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::minutes(2));
        let endpoint = Arc::new(Endpoint::default());
        let refresher = refresher(Arc::clone(&endpoint));

        let release = use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap();
        assert_eq!(release.secrets.get("access_token").unwrap().expose(), "at-1");
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 1);
        assert_eq!(stored_secret(db, &ring, &credential, "refresh_token"), "rt-2");
        assert_eq!(release.credential.version, credential.version, "no new version");
        assert_eq!(release.credential.status, CredentialStatus::Connected);
        assert_eq!(
            actions(db, &credential),
            [AuditAction::Created, AuditAction::UseGranted, AuditAction::Refreshed, AuditAction::Used]
        );

        // Fresh now: the next use does not ask.
        let again = use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap();
        assert_eq!(again.secrets.get("access_token").unwrap().expose(), "at-1");
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 1);
    }

    fn a_credential_linked_to_an_app_refreshes_with_the_app_s_client(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let app = credvault_usecases::oauth_apps::create(
            db.store(),
            &ring,
            team.id,
            credvault_domain::oauth_app::NewOAuthApp::from_json(json!({
                "name": "Drive app", "provider": "google", "client_id": "client-1",
                "client_secret": "client-secret", "token_url": "https://oauth2.example.com/token"
            }))
            .unwrap(),
        )
        .unwrap();
        let input = NewCredential::from_json(json!({
            "provider": "google", "kind": "google_oauth", "name": "Drive",
            "oauth_app_id": app.id.to_string(),
            "extra_data": {"refresh_token": "rt-1"}
        }))
        .unwrap();
        let credential = credentials::create(db.store(), &ring, team.id, team.owner, &input)
            .unwrap()
            .credential;
        let endpoint = Arc::new(Endpoint::default());
        let outcome = credentials::refresh(
            db.store(), &ring, &refresher(Arc::clone(&endpoint)), team.id, credential.id,
            Reason::Use, RequestId::new(),
        )
        .unwrap();
        assert!(matches!(outcome, Refreshed::Refreshed(_)), "{outcome:?}");
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 1);
        assert_eq!(stored_secret(db, &ring, &credential, "access_token"), "at-1");
    }

    fn a_fresh_token_is_released_without_a_request(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::hours(1));
        let endpoint = Arc::new(Endpoint::default());
        let release = use_it(db.store(), &ring, &credential, &principal, &refresher(Arc::clone(&endpoint))).unwrap();
        assert_eq!(release.secrets.get("access_token").unwrap().expose(), "at-0");
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 0);
    }

    fn concurrent_uses_redeem_the_refresh_token_once(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::minutes(1));
        let endpoint = Arc::new(Endpoint::default());
        *endpoint.delay.lock().unwrap() = Duration::from_millis(100);
        let refresher = refresher(Arc::clone(&endpoint));
        let tokens: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|_| {
                    scope.spawn(|| {
                        use_it(db.store(), &ring, &credential, &principal, &refresher)
                            .unwrap()
                            .secrets
                            .get("access_token")
                            .unwrap()
                            .expose()
                            .to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|token| token == "at-1"), "{tokens:?}");
    }

    fn a_use_of_a_parked_credential_asks_nobody(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::minutes(-1));
        let endpoint = Arc::new(Endpoint::default());
        *endpoint.failure.lock().unwrap() = Some(TokenError::InvalidGrant { description: None });
        let refresher = refresher(Arc::clone(&endpoint));
        use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap_err();
        *endpoint.failure.lock().unwrap() = None;
        for _ in 0..3 {
            let error = use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap_err();
            assert!(matches!(error, Error::TokenUnavailable { transient: false, .. }), "{error:?}");
        }
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 0, "no retry storm");
    }

    fn invalid_grant_of_an_expired_token_expires_the_credential_and_refuses_the_use(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::minutes(-1));
        let endpoint = Arc::new(Endpoint::default());
        *endpoint.failure.lock().unwrap() = Some(TokenError::InvalidGrant {
            description: Some("Token has been expired or revoked.".to_owned()),
        });
        let error = use_it(db.store(), &ring, &credential, &principal, &refresher(endpoint)).unwrap_err();
        let Error::TokenUnavailable { transient, note } = error else {
            panic!("{error:?}");
        };
        assert!(!transient);
        assert!(note.contains("Reconnect"), "{note}");
        let stored = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(stored.credential.status, CredentialStatus::Expired);
        assert_eq!(stored.credential.health.status, HealthStatus::Error);
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.due_at, None, "parked: no retry storm");
        assert_eq!(
            actions(db, &credential),
            [AuditAction::Created, AuditAction::UseGranted, AuditAction::RefreshFailed],
            "nothing was released, so no use was recorded"
        );
    }

    fn a_transient_failure_releases_the_stored_token_while_it_is_valid(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, principal) = drive(db, &team, &ring, TimeDelta::minutes(2));
        let endpoint = Arc::new(Endpoint::default());
        *endpoint.failure.lock().unwrap() = Some(TokenError::Transient {
            reason: "the token endpoint answered 503".to_owned(),
        });
        let refresher = refresher(Arc::clone(&endpoint));
        let release = use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap();
        assert_eq!(release.secrets.get("access_token").unwrap().expose(), "at-0");
        assert_eq!(release.credential.health.status, HealthStatus::Degraded);
        assert_eq!(release.credential.status, CredentialStatus::CredentialsSaved, "unchanged");
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.failures, 1);
        assert!(upkeep.due_at.is_some_and(|at| at > Utc::now()), "backoff");

        // While the backoff runs, uses do not ask again and get the stored token.
        *endpoint.failure.lock().unwrap() = None;
        let during = use_it(db.store(), &ring, &credential, &principal, &refresher).unwrap();
        assert_eq!(during.secrets.get("access_token").unwrap().expose(), "at-0");
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 0);

        // The worker's attempt once it is due succeeds, and clears the notes.
        let outcome = credentials::refresh(
            db.store(), &ring, &refresher, team.id, credential.id, Reason::Upkeep, RequestId::new(),
        )
        .unwrap();
        let Refreshed::Refreshed(stored) = outcome else { panic!("{outcome:?}") };
        assert_eq!(stored.credential.health.status, HealthStatus::Healthy);
        assert!(stored.credential.health.notes.is_empty());
        assert_eq!(stored.credential.status, CredentialStatus::Connected);
        assert_eq!(db.store().upkeep_of(team.id, credential.id).unwrap().failures, 0);
    }

    fn a_refresh_token_replaced_during_the_request_wins(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (credential, _) = drive(db, &team, &ring, TimeDelta::minutes(1));
        let endpoint = Arc::new(Endpoint::default());
        let store = db.store().clone();
        let patch_ring = key_ring("k1", &["k1"]);
        let owner = team.owner;
        let (team_id, id) = (team.id, credential.id);
        *endpoint.during.lock().unwrap() = Some(Box::new(move || {
            let patch = CredentialPatch::from_json(json!({
                "extra_data": {"refresh_token": "rt-10"}
            }))
            .unwrap();
            let request = PatchRequest {
                team_id,
                credential_id: id,
                expected_version: None,
                patch: &patch,
                caller: owner,
            };
            credentials::update(&store, &patch_ring, &request).unwrap();
        }));
        let outcome = credentials::refresh(
            db.store(), &ring, &refresher(Arc::clone(&endpoint)), team.id, credential.id,
            Reason::Use, RequestId::new(),
        )
        .unwrap();
        assert!(matches!(outcome, Refreshed::NotNeeded), "{outcome:?}");
        assert_eq!(stored_secret(db, &ring, &credential, "refresh_token"), "rt-10");
        assert_eq!(stored_secret(db, &ring, &credential, "access_token"), "at-0");
    }

    fn the_upkeep_round_refreshes_due_tokens_and_leaves_the_others(db: &TestDb) {
        let team = team(db);
        let ring = key_ring("k1", &["k1"]);
        let (soon, _) = drive(db, &team, &ring, TimeDelta::minutes(3));
        let (later, _) = drive(db, &team, &ring, TimeDelta::hours(2));
        let endpoint = Arc::new(Endpoint::default());
        let refresher = refresher(Arc::clone(&endpoint));
        let metrics = UpkeepMetrics::default();
        let report = run_round(db.store(), &ring, &refresher, &NeverChecked, RoundLimits::default(), &metrics).unwrap();
        assert_eq!((report.claimed, report.refreshed, report.rescheduled), (2, 1, 1));
        assert_eq!(endpoint.redemptions.load(Ordering::SeqCst), 1);
        assert_eq!(stored_secret(db, &ring, &soon, "access_token"), "at-1");
        assert_eq!(stored_secret(db, &ring, &later, "access_token"), "at-0");
        let next = db.store().upkeep_of(team.id, later.id).unwrap().due_at.unwrap();
        assert!(next > Utc::now() + TimeDelta::minutes(100), "scheduled at the margin: {next}");
        assert_eq!(metrics.attempts.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.backlog.load(Ordering::Relaxed), 0);
        let again = run_round(db.store(), &ring, &refresher, &NeverChecked, RoundLimits::default(), &metrics).unwrap();
        assert_eq!(again.claimed, 0);
    }
}
