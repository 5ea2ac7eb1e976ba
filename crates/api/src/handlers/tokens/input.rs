//! The issue body of a user token, parsed and validated: every unknown key and bad value is
//! reported at once in one `422`.

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::patch::check_name;
use credvault_domain::principal::Role;
use credvault_domain::validate::ValidationErrors;
use serde_json::Value;

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
        let Value::Object(mut body) = body else {
            errors.push("body", "must be a JSON object");
            return Err(errors);
        };
        for key in body.keys() {
            if !Self::FIELDS.contains(&key.as_str()) {
                errors.push(
                    key.clone(),
                    format!(
                        "is not a known field; known fields are: {}",
                        Self::FIELDS.join(", ")
                    ),
                );
            }
        }
        let name = match body.remove("name") {
            None | Some(Value::Null) => {
                errors.push("name", "is required");
                String::new()
            }
            Some(Value::String(name)) => check_name(&name).unwrap_or_else(|message| {
                errors.push("name", message);
                String::new()
            }),
            Some(_) => {
                errors.push("name", "must be a string");
                String::new()
            }
        };
        let role = match body.remove("role") {
            None | Some(Value::Null) => Role::Member,
            Some(Value::String(role)) => role.parse().unwrap_or_else(|_| {
                errors.push("role", "must be `owner` or `member`");
                Role::Member
            }),
            Some(_) => {
                errors.push("role", "must be a string");
                Role::Member
            }
        };
        let latest = now + TimeDelta::seconds(MAX_LIFETIME_SECONDS);
        let expires_in = match body.remove("expires_in") {
            None | Some(Value::Null) => None,
            Some(Value::Number(seconds)) => match seconds.as_i64() {
                Some(seconds @ 1..=MAX_LIFETIME_SECONDS) => Some(now + TimeDelta::seconds(seconds)),
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

#[cfg(test)]
mod tests;
