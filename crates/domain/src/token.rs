//! The issue body of a user token, parsed and validated: every unknown key and bad value is
//! reported at once (the API answers one `422`).
//!
//! The name rule is the shared one of [`validate`](crate::validate); the lifetime's bounds are
//! declared for `validator` on [`LifetimeRule`]; the window of `expires_at` depends on the time
//! of the request, which `validator`'s ranges cannot take, so it is checked by hand.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use validator::Validate;

use crate::principal::Role;
use crate::service_account::input::{object, required_name, role};
use crate::validate::ValidationErrors;

/// The longest lifetime a user token may be given: ten years, in seconds.
pub const MAX_LIFETIME_SECONDS: i64 = 315_360_000;

/// A validated issue body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUserTokenInput {
    /// Trimmed, 1–200 characters.
    pub name: String,
    /// `member` unless the body said otherwise.
    pub role: Role,
    /// When the token stops authenticating; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewUserTokenInput {
    /// The keys the body may hold.
    pub const FIELDS: [&'static str; 4] = ["name", "role", "expires_in", "expires_at"];

    /// Parses and validates an issue body; an expiry is reckoned from `now`.
    pub fn from_json(body: Value, now: DateTime<Utc>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut body = object(body, &Self::FIELDS, &mut errors)?;
        let name = required_name(&mut body, &mut errors);
        let role = role(&mut body, &mut errors);
        let latest = now + TimeDelta::seconds(MAX_LIFETIME_SECONDS);
        let expires_in = match body.remove("expires_in") {
            None | Some(Value::Null) => None,
            Some(Value::Number(seconds)) => match seconds.as_i64() {
                Some(seconds) if LifetimeRule::allows(seconds) => {
                    Some(now + TimeDelta::seconds(seconds))
                }
                _ => {
                    errors.push(
                        "expires_in",
                        format!(
                            "must be a whole number of seconds from 1 to {MAX_LIFETIME_SECONDS}"
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                errors.push("expires_in", "must be a number of seconds");
                None
            }
        };
        let expires_at = match body.remove("expires_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => match DateTime::parse_from_rfc3339(&text) {
                Ok(at) if at.to_utc() > now && at.to_utc() <= latest => Some(at.to_utc()),
                Ok(_) => {
                    errors.push(
                        "expires_at",
                        "must be in the future and at most ten years from now",
                    );
                    None
                }
                Err(_) => {
                    errors.push("expires_at", "must be an RFC 3339 date and time");
                    None
                }
            },
            Some(_) => {
                errors.push("expires_at", "must be an RFC 3339 date and time");
                None
            }
        };
        if expires_in.is_some() && expires_at.is_some() {
            errors.push(
                "expires_at",
                "give either expires_in or expires_at, not both",
            );
        }
        errors.into_result(Self {
            name,
            role,
            expires_at: expires_in.or(expires_at),
        })
    }
}

/// The bounds of a lifetime given in seconds (`expires_in`).
#[derive(Validate)]
pub struct LifetimeRule {
    /// Seconds from now: at least one, at most [`MAX_LIFETIME_SECONDS`].
    #[validate(range(min = 1, max = MAX_LIFETIME_SECONDS))]
    pub expires_in: i64,
}

impl LifetimeRule {
    /// Whether `seconds` is an accepted `expires_in`.
    pub fn allows(seconds: i64) -> bool {
        Self {
            expires_in: seconds,
        }
        .validate()
        .is_ok()
    }
}

#[cfg(test)]
mod tests;
