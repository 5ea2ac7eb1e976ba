//! The refresh rules: when a use or the worker refreshes, and the state after each outcome.

use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::testing::stored_oauth_credential;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn expiring_in(delta: TimeDelta) -> Credential {
    let mut credential = stored_oauth_credential();
    credential
        .extra_data
        .insert(EXPIRES_AT.to_owned(), expires_at_text(now() + delta).into());
    credential
}

fn transient() -> TokenError {
    TokenError::Transient {
        reason: "the token endpoint answered 503".to_owned(),
    }
}

#[test]
fn a_use_refreshes_within_the_margin_only() {
    let settings = RefreshSettings::default();
    assert!(!needs_refresh(
        &expiring_in(TimeDelta::minutes(6)),
        None,
        now(),
        &settings
    ));
    assert!(needs_refresh(
        &expiring_in(TimeDelta::minutes(4)),
        None,
        now(),
        &settings
    ));
    assert!(needs_refresh(
        &expiring_in(TimeDelta::minutes(-4)),
        None,
        now(),
        &settings
    ));
}

#[test]
fn a_missing_access_token_is_refreshed_and_an_unknown_expiry_is_not() {
    let settings = RefreshSettings::default();
    let mut credential = stored_oauth_credential();
    assert!(!needs_refresh(&credential, None, now(), &settings));
    credential.secret_fields.remove(ACCESS_TOKEN);
    assert!(needs_refresh(&credential, None, now(), &settings));
}

#[test]
fn nothing_is_refreshed_without_a_refresh_token_or_outside_the_oauth_kinds() {
    let settings = RefreshSettings::default();
    let mut credential = expiring_in(TimeDelta::minutes(-1));
    credential.secret_fields.remove(REFRESH_TOKEN);
    assert!(!needs_refresh(&credential, None, now(), &settings));
    assert_eq!(next_look(&credential, None, now(), &settings), None);
    let (postgres, _) = crate::testing::stored_postgres_credential();
    assert!(!can_refresh(&postgres));
}

#[test]
fn a_token_refreshed_moments_ago_is_not_refreshed_again_until_it_expires() {
    let settings = RefreshSettings::default();
    let credential = expiring_in(TimeDelta::minutes(2));
    let moments_ago = Some(now() - TimeDelta::seconds(5));
    assert!(!needs_refresh(&credential, moments_ago, now(), &settings));
    let expired = expiring_in(TimeDelta::seconds(-1));
    assert!(needs_refresh(&expired, moments_ago, now(), &settings));
}

#[test]
fn the_worker_looks_at_the_margin_before_expiry_or_after_the_idle_interval() {
    let settings = RefreshSettings::default();
    let credential = expiring_in(TimeDelta::hours(1));
    assert_eq!(
        next_look(&credential, Some(now()), now(), &settings),
        Some(now() + TimeDelta::minutes(55))
    );
    let long_lived = expiring_in(TimeDelta::days(30));
    assert_eq!(
        next_look(&long_lived, Some(now()), now(), &settings),
        Some(now() + TimeDelta::hours(24))
    );
    assert!(!due_now(&long_lived, Some(now()), now(), &settings));
    let idle_since = Some(now() - TimeDelta::hours(25));
    assert!(due_now(&long_lived, idle_since, now(), &settings));
}

#[test]
fn success_connects_and_clears_the_notes() {
    let settings = RefreshSettings::default();
    let mut credential = expiring_in(TimeDelta::minutes(1));
    credential.status = CredentialStatus::Expired;
    credential.health.notes = vec!["old".to_owned()];
    let after = after_success(
        &credential,
        Some(now() + TimeDelta::hours(1)),
        now(),
        &settings,
    );
    assert_eq!(after.status, CredentialStatus::Connected);
    assert_eq!(after.health.status, HealthStatus::Healthy);
    assert!(after.health.notes.is_empty());
    assert_eq!(after.failures, 0);
    assert_eq!(after.due_at, Some(now() + TimeDelta::minutes(55)));
    assert_eq!(after.action, AuditAction::Refreshed);
}

#[test]
fn success_keeps_a_pending_page_selection() {
    let mut credential = stored_oauth_credential();
    credential.status = CredentialStatus::NeedsPageSelection;
    let after = after_success(&credential, None, now(), &RefreshSettings::default());
    assert_eq!(after.status, CredentialStatus::NeedsPageSelection);
}

#[test]
fn invalid_grant_expires_the_credential_with_words_and_no_retry() {
    let error = TokenError::InvalidGrant {
        description: Some("Token has been expired or revoked.".to_owned()),
    };
    let after = after_failure(
        &stored_oauth_credential(),
        0,
        &error,
        now(),
        &RefreshSettings::default(),
    );
    assert_eq!(after.status, CredentialStatus::Expired);
    assert_eq!(after.health.status, HealthStatus::Error);
    assert_eq!(after.due_at, None, "no retry storm");
    assert_eq!(after.action, AuditAction::RefreshFailed);
    let note = &after.health.notes[0];
    assert!(
        note.starts_with("Google refused the refresh token"),
        "{note}"
    );
    assert!(
        note.contains("Token has been expired or revoked."),
        "{note}"
    );
    assert!(note.contains("Reconnect"), "{note}");
}

#[test]
fn a_refused_client_revokes_the_credential() {
    let error = TokenError::InvalidClient {
        code: "invalid_client".to_owned(),
        description: None,
    };
    let after = after_failure(
        &stored_oauth_credential(),
        0,
        &error,
        now(),
        &RefreshSettings::default(),
    );
    assert_eq!(after.status, CredentialStatus::Revoked);
    assert_eq!(after.due_at, None);
    assert!(after.health.notes[0].contains("invalid_client"));
}

#[test]
fn transient_failures_degrade_then_error_after_repeated_failures() {
    let settings = RefreshSettings::default();
    let credential = stored_oauth_credential();
    let first = after_failure(&credential, 0, &transient(), now(), &settings);
    assert_eq!(
        first.status,
        CredentialStatus::Connected,
        "status unchanged"
    );
    assert_eq!(first.health.status, HealthStatus::Degraded);
    assert_eq!(first.failures, 1);
    assert_eq!(first.due_at, Some(now() + TimeDelta::seconds(30)));
    assert!(first.health.notes[0].contains("503"));
    let second = after_failure(&credential, 1, &transient(), now(), &settings);
    assert_eq!(second.health.status, HealthStatus::Degraded);
    assert_eq!(second.due_at, Some(now() + TimeDelta::seconds(60)));
    let third = after_failure(&credential, 2, &transient(), now(), &settings);
    assert_eq!(third.status, CredentialStatus::Error);
    assert_eq!(third.health.status, HealthStatus::Error);
    assert!(third.health.notes[0].contains("3 times in a row"));
    assert_eq!(third.due_at, Some(now() + TimeDelta::seconds(120)));
}

#[test]
fn a_policy_refusal_is_an_error_retried_after_the_longest_backoff() {
    let settings = RefreshSettings::default();
    let error = TokenError::Refused {
        reason: "192.0.2.1 is in 192.0.2.0/24 (documentation)".to_owned(),
    };
    let after = after_failure(&stored_oauth_credential(), 0, &error, now(), &settings);
    assert_eq!(after.status, CredentialStatus::Error);
    assert_eq!(after.due_at, Some(now() + settings.backoff_max));
}

proptest! {
    #[test]
    fn backoff_grows_and_stays_within_its_bounds(failures in 0u32..10_000) {
        let settings = RefreshSettings::default();
        let wait = backoff(failures, &settings);
        prop_assert!(wait >= settings.backoff_base.min(settings.backoff_max));
        prop_assert!(wait <= settings.backoff_max);
        prop_assert!(backoff(failures.saturating_add(1), &settings) >= wait);
    }

    #[test]
    fn the_next_look_is_never_in_the_past_nor_beyond_the_idle_interval(
        minutes in -10_000i64..100_000,
        refreshed_hours_ago in proptest::option::of(0i64..1000),
    ) {
        let settings = RefreshSettings::default();
        let credential = expiring_in(TimeDelta::minutes(minutes));
        let last = refreshed_hours_ago.map(|hours| now() - TimeDelta::hours(hours));
        let at = next_look(&credential, last, now(), &settings);
        prop_assert!(at.is_some());
        let at = at.unwrap_or_default();
        prop_assert!(at >= now() + settings.min_interval);
        prop_assert!(at <= now() + settings.idle_interval);
    }
}
