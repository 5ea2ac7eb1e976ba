//! The issue body rules of user tokens.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::principal::Role;
use crate::token::{MAX_LIFETIME_SECONDS, NewUserTokenInput};

fn now() -> DateTime<Utc> {
    "2026-12-02T10:00:00Z".parse().unwrap()
}

fn failing_fields(body: Value) -> Vec<String> {
    match NewUserTokenInput::from_json(body, now()) {
        Ok(input) => panic!("accepted: {input:?}"),
        Err(errors) => errors
            .errors()
            .iter()
            .map(|error| error.field.clone())
            .collect(),
    }
}

#[test]
fn a_name_alone_is_a_member_token_that_never_expires() {
    let input = NewUserTokenInput::from_json(json!({"name": " ci "}), now());
    assert_eq!(
        input.ok(),
        Some(NewUserTokenInput {
            name: "ci".to_owned(),
            role: Role::Member,
            expires_at: None,
        })
    );
}

#[test]
fn expires_in_counts_from_now_and_expires_at_is_taken_as_given() {
    let by_seconds = NewUserTokenInput::from_json(
        json!({"name": "ci", "role": "owner", "expires_in": 3600}),
        now(),
    );
    let by_seconds = by_seconds.ok().map(|input| (input.role, input.expires_at));
    assert_eq!(
        by_seconds,
        Some((Role::Owner, Some(now() + TimeDelta::seconds(3600))))
    );
    let by_time = NewUserTokenInput::from_json(
        json!({"name": "ci", "expires_at": "2026-12-03T10:00:00+02:00"}),
        now(),
    );
    let expected: DateTime<Utc> = "2026-12-03T08:00:00Z".parse().unwrap();
    assert_eq!(
        by_time.ok().and_then(|input| input.expires_at),
        Some(expected)
    );
}

#[test]
fn every_bad_field_is_reported_at_once() {
    assert_eq!(
        failing_fields(json!({"role": "admin", "expires_in": 0, "scope": "all"})),
        ["scope", "name", "role", "expires_in"]
    );
    assert_eq!(
        failing_fields(json!({"name": 7, "role": 1})),
        ["name", "role"]
    );
    assert_eq!(failing_fields(json!([])), ["body"]);
}

#[test]
fn an_expiry_must_lie_in_the_next_ten_years() {
    for expires_in in [
        json!(-1),
        json!(1.5),
        json!("60"),
        json!(MAX_LIFETIME_SECONDS + 1),
    ] {
        assert_eq!(
            failing_fields(json!({"name": "ci", "expires_in": expires_in})),
            ["expires_in"]
        );
    }
    for expires_at in [
        json!("2026-12-02T10:00:00Z"),
        json!("2026-12-01T10:00:00Z"),
        json!("2036-12-03T10:00:00Z"),
        json!("tomorrow"),
        json!(1_800_000_000),
    ] {
        assert_eq!(
            failing_fields(json!({"name": "ci", "expires_at": expires_at})),
            ["expires_at"]
        );
    }
    let longest = NewUserTokenInput::from_json(
        json!({"name": "ci", "expires_in": MAX_LIFETIME_SECONDS}),
        now(),
    );
    assert!(longest.is_ok());
}

#[test]
fn expires_in_and_expires_at_are_alternatives() {
    assert_eq!(
        failing_fields(json!({
            "name": "ci", "expires_in": 60, "expires_at": "2026-12-03T10:00:00Z"
        })),
        ["expires_at"]
    );
}
