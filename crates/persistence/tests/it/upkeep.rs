//! The upkeep of OAuth tokens in the store: claims on a refresh, the write of its outcome, the
//! worker's due list, and how client writes and refreshes meet.

use std::collections::BTreeSet;
use std::convert::Infallible;

use chrono::{TimeDelta, Utc};
use credvault_domain::audit::{Actor, AuditAction};
use credvault_domain::credential::{Credential, CredentialStatus, Health, HealthStatus};
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, PrincipalId, RequestId};
use credvault_domain::principal::PrincipalKind;
use credvault_domain::team::Team;
use credvault_domain::testing::stored_oauth_credential;
use credvault_domain::time::now;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{
    Ciphertext, Claim, RefreshOutcome, RefreshWrite, SecretsUpdate, StoreError, StoredCredential,
    UpdateError,
};
use serde_json::Value;

use crate::grants::other_instance;
use crate::support::{
    all_events, ciphertext, insert_credential, note, postgres_credential, team_with_owner, update,
};

/// Stores a Google OAuth credential with the sealed-looking `marker` ciphertext.
fn insert_oauth(db: &TestDb, team: &Team, actor: PrincipalId, marker: &str) -> Credential {
    let at = now();
    let credential = Credential {
        id: CredentialId::new(),
        team_id: team.id,
        version: 1,
        created_at: at,
        updated_at: at,
        created_by: actor,
        modified_by: actor,
        ..stored_oauth_credential()
    };
    db.store()
        .insert_credential(
            &credential,
            Some(&ciphertext(marker)),
            note(AuditAction::Created, actor),
        )
        .unwrap();
    credential
}

fn system_note(action: AuditAction) -> AuditNote {
    AuditNote::new(action, Actor::system(), RequestId::new())
}

/// A successful refresh's outcome, with the new `marker` ciphertext.
fn success(stored: &StoredCredential, marker: &str) -> RefreshWrite {
    let mut extra_data = stored.credential.extra_data.clone();
    extra_data.insert(
        "expires_at".to_owned(),
        Value::String("2030-01-01T00:00:00Z".to_owned()),
    );
    RefreshWrite::Outcome(Box::new(RefreshOutcome {
        secrets: Some((ciphertext(marker), stored.credential.secret_fields.clone())),
        extra_data: Some(extra_data),
        status: CredentialStatus::Connected,
        health: Health {
            status: HealthStatus::Healthy,
            notes: Vec::new(),
            checked_at: Some(now()),
        },
        failures: 0,
        due_at: Some(now() + TimeDelta::hours(1)),
        refreshed: true,
        audit: system_note(AuditAction::Refreshed),
    }))
}

fn claim(db: &TestDb, credential: &Credential, holder: &str) -> Claim {
    db.store()
        .claim_refresh(
            credential.team_id,
            credential.id,
            holder,
            now() + TimeDelta::seconds(30),
        )
        .unwrap()
}

credvault_persistence::backend_tests! {
    fn a_client_write_makes_an_oauth_credential_due_and_others_never(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let oauth = insert_oauth(db, &team, owner, "v1");
        let postgres = insert_credential(db, &team, owner, "Warehouse");
        let store = db.store();
        let upkeep = store.upkeep_of(team.id, oauth.id).unwrap();
        assert_eq!(upkeep.due_at, Some(oauth.updated_at));
        assert_eq!(upkeep.failures, 0);
        assert_eq!(upkeep.lease, None);
        assert_eq!(store.upkeep_of(team.id, postgres.id).unwrap().due_at, None);
        assert_eq!(store.upkeep_backlog(now()).unwrap(), 1);
    }

    fn a_write_with_a_health_check_interval_makes_it_due_and_turning_it_off_unschedules_it(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let mut credential = postgres_credential(&team, owner, "Warehouse");
        credential.health_check_interval_seconds = Some(300);
        let store = db.store();
        store
            .insert_credential(
                &credential,
                Some(&ciphertext("v1")),
                note(AuditAction::Created, owner),
            )
            .unwrap();
        let stored = store.find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(stored.credential.health_check_interval_seconds, Some(300));
        let upkeep = store.upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.due_at, Some(stored.credential.updated_at));
        assert_eq!(upkeep.failures, 0);
        let due = store.claim_due("a", now(), now() + TimeDelta::seconds(30), 10).unwrap();
        assert_eq!(due.iter().map(|due| due.credential_id).collect::<Vec<_>>(), [credential.id]);
        store
            .release_refresh(team.id, credential.id, "a", Some(now() + TimeDelta::seconds(300)))
            .unwrap();

        // A PATCH keeping the interval makes it due again at its instant; one turning it off
        // leaves nothing scheduled.
        let mut renamed = stored.credential.clone();
        renamed.name = "Warehouse (renamed)".to_owned();
        let written = store
            .update_credential(team.id, credential.id, None, |_| {
                Ok::<_, Infallible>(update(renamed.clone(), SecretsUpdate::Keep, owner))
            })
            .unwrap();
        let upkeep = store.upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.due_at, Some(written.credential.updated_at));
        let mut off = written.credential.clone();
        off.health_check_interval_seconds = None;
        store
            .update_credential(team.id, credential.id, None, |_| {
                Ok::<_, Infallible>(update(off.clone(), SecretsUpdate::Keep, owner))
            })
            .unwrap();
        let stored = store.find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(stored.credential.health_check_interval_seconds, None);
        assert_eq!(store.upkeep_of(team.id, credential.id).unwrap().due_at, None);
        assert_eq!(store.upkeep_backlog(now()).unwrap(), 0);
    }

    fn one_holder_claims_a_refresh_until_it_completes(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        let other = other_instance(db);
        let Claim::Claimed { stored, upkeep } = claim(db, &credential, "a") else {
            panic!("the first claim is taken");
        };
        assert_eq!(upkeep.lease.as_ref().map(|(holder, _)| holder.as_str()), Some("a"));
        match other
            .claim_refresh(team.id, credential.id, "b", now() + TimeDelta::seconds(30))
            .unwrap()
        {
            Claim::Busy(until) => assert!(until > now()),
            Claim::Claimed { .. } => panic!("a second holder claimed a held refresh"),
        }
        let version = stored.credential.version;
        let updated_at = stored.credential.updated_at;
        let after = db
            .store()
            .complete_refresh(team.id, credential.id, "a", |current, _| {
                Ok::<_, Infallible>(success(current, "v2"))
            })
            .unwrap();
        assert_eq!(after.ciphertext, Some(ciphertext("v2")));
        let read = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(read.ciphertext, Some(ciphertext("v2")));
        assert_eq!(read.credential.version, version, "a refresh keeps the version");
        assert_eq!(read.credential.updated_at, updated_at);
        assert_eq!(read.credential.status, CredentialStatus::Connected);
        assert_eq!(read.credential.extra_data["expires_at"], "2030-01-01T00:00:00Z");
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.lease, None, "the claim is released");
        assert!(upkeep.refreshed_at.is_some());
        assert!(upkeep.due_at.unwrap() > now());
        let events = all_events(db, &credential);
        let last = events.last().unwrap();
        assert_eq!(last.action, AuditAction::Refreshed);
        assert_eq!(last.actor.kind, PrincipalKind::System);
        assert!(matches!(claim(db, &credential, "b"), Claim::Claimed { .. }));
    }

    fn an_expired_claim_can_be_taken_over(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        db.store()
            .claim_refresh(team.id, credential.id, "a", now() - TimeDelta::seconds(1))
            .unwrap();
        assert!(matches!(claim(db, &credential, "b"), Claim::Claimed { .. }));
    }

    fn a_superseded_refresh_writes_nothing_but_its_release(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        let before = all_events(db, &credential).len();
        claim(db, &credential, "a");
        db.store()
            .complete_refresh(team.id, credential.id, "a", |_, _| {
                Ok::<_, Infallible>(RefreshWrite::Superseded)
            })
            .unwrap();
        let read = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(read.ciphertext, Some(ciphertext("v1")));
        assert_eq!(all_events(db, &credential).len(), before);
        assert_eq!(db.store().upkeep_of(team.id, credential.id).unwrap().lease, None);
    }

    fn a_rejected_decision_writes_nothing(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        claim(db, &credential, "a");
        let result = db
            .store()
            .complete_refresh(team.id, credential.id, "a", |_, _| Err("key unavailable"));
        assert!(matches!(result, Err(UpdateError::Rejected("key unavailable"))));
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert!(upkeep.lease.is_some(), "rolled back: the lease runs out on its own");
    }

    fn a_refresh_of_a_deleted_credential_is_not_found(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        db.store()
            .delete_credential(team.id, credential.id, note(AuditAction::Deleted, owner))
            .unwrap();
        assert!(matches!(
            db.store().claim_refresh(team.id, credential.id, "a", now()),
            Err(StoreError::NotFound)
        ));
    }

    fn a_failure_parks_the_credential_until_a_client_writes_it(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = insert_oauth(db, &team, owner, "v1");
        claim(db, &credential, "a");
        db.store()
            .complete_refresh(team.id, credential.id, "a", |_, _| {
                Ok::<_, Infallible>(RefreshWrite::Outcome(Box::new(RefreshOutcome {
                    secrets: None,
                    extra_data: None,
                    status: CredentialStatus::Expired,
                    health: Health {
                        status: HealthStatus::Error,
                        notes: vec!["Google refused the refresh token".to_owned()],
                        checked_at: Some(now()),
                    },
                    failures: 1,
                    due_at: None,
                    refreshed: false,
                    audit: system_note(AuditAction::RefreshFailed),
                })))
            })
            .unwrap();
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert_eq!((upkeep.due_at, upkeep.failures), (None, 1));
        assert_eq!(db.store().upkeep_backlog(now()).unwrap(), 0);

        let stored = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let mut renamed = stored.credential.clone();
        renamed.name = "Drive (reconnected)".to_owned();
        db.store()
            .update_credential(team.id, credential.id, None, |_| {
                Ok::<_, Infallible>(update(renamed.clone(), SecretsUpdate::Keep, owner))
            })
            .unwrap();
        let upkeep = db.store().upkeep_of(team.id, credential.id).unwrap();
        assert_eq!(upkeep.failures, 0);
        assert!(upkeep.due_at.is_some_and(|at| at <= now()));
    }

    fn the_worker_claims_due_credentials_once_across_instances(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let first = insert_oauth(db, &team, owner, "one");
        let second = insert_oauth(db, &team, owner, "two");
        let later = insert_oauth(db, &team, owner, "three");
        db.store()
            .claim_refresh(team.id, later.id, "x", now())
            .unwrap();
        db.store()
            .release_refresh(team.id, later.id, "x", Some(now() + TimeDelta::hours(1)))
            .unwrap();
        let other = other_instance(db);
        let until = now() + TimeDelta::seconds(60);
        let mine = db.store().claim_due("a", now(), until, 1).unwrap();
        let theirs = other.claim_due("b", now(), until, 10).unwrap();
        let again = db.store().claim_due("a", now(), until, 10).unwrap();
        let claimed: BTreeSet<CredentialId> = mine
            .iter()
            .chain(&theirs)
            .map(|due| due.credential_id)
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(theirs.len(), 1);
        assert!(again.is_empty(), "claimed rows are not handed out again");
        assert_eq!(claimed, BTreeSet::from([first.id, second.id]));
        assert_eq!(db.store().upkeep_backlog(now()).unwrap(), 2);
    }
}

/// PostgreSQL: a PATCH that replaces secrets, read before a refresh wrote new tokens, is retried
/// from the refreshed secrets instead of writing back the redeemed refresh token. (SQLite runs the
/// whole update under its write lock, so a refresh cannot land in between.)
#[test]
fn postgres_a_patch_of_secrets_racing_a_refresh_starts_again_from_the_refreshed_ones() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let (team, owner) = team_with_owner(&db, "acme");
    let credential = insert_oauth(&db, &team, owner, "v1");
    let refresher = other_instance(&db);
    let mut seen: Vec<Option<Ciphertext>> = Vec::new();
    let written = db
        .store()
        .update_credential(team.id, credential.id, None, |stored| {
            seen.push(stored.ciphertext.clone());
            if seen.len() == 1 {
                // A refresh completes on another instance after this PATCH read the row.
                refresher
                    .claim_refresh(
                        team.id,
                        credential.id,
                        "r",
                        Utc::now() + TimeDelta::seconds(30),
                    )
                    .unwrap();
                refresher
                    .complete_refresh(team.id, credential.id, "r", |current, _| {
                        Ok::<_, Infallible>(success(current, "refreshed"))
                    })
                    .unwrap();
            }
            let marker = match &stored.ciphertext {
                Some(sealed) if sealed == &ciphertext("refreshed") => "patched-after-refresh",
                _ => "patched-from-stale",
            };
            Ok::<_, Infallible>(update(
                stored.credential.clone(),
                SecretsUpdate::Replace(ciphertext(marker)),
                owner,
            ))
        })
        .unwrap();
    assert_eq!(
        seen.len(),
        2,
        "the stale write did not apply; the update ran again"
    );
    assert_eq!(seen[1], Some(ciphertext("refreshed")));
    assert_eq!(
        written.ciphertext,
        Some(ciphertext("patched-after-refresh"))
    );
    let read = db
        .store()
        .find_credential(team.id, credential.id)
        .unwrap()
        .unwrap();
    assert_eq!(read.ciphertext, Some(ciphertext("patched-after-refresh")));
}
