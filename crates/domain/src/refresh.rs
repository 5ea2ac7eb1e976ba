//! The upkeep of a stored OAuth token: when to redeem the refresh token, and what the credential's
//! `status` and `health` become after a refresh, as pure functions over the clock and the
//! outcome (docs/API-DESIGN.md, "Health and status of OAuth credentials").
//!
//! - **When.** A use refreshes first when the access token is missing or expires within
//!   [`RefreshSettings::margin`] ([`needs_refresh`]). The upkeep worker also refreshes tokens
//!   that have not been refreshed for [`RefreshSettings::idle_interval`], so a refresh token
//!   that the provider expires when unused stays alive ([`next_look`]).
//! - **After a success** ([`after_success`]): `connected` (or still `needs_page_selection`),
//!   health `healthy` with no notes, no failure counted.
//! - **After a failure** ([`after_failure`]): a refusal that retrying cannot fix parks the
//!   credential (`expired` for `invalid_grant`, `revoked` when the provider refuses the app,
//!   `error` otherwise), health `error` with a note that says what happened and what to do; it is
//!   not retried until a client writes the credential again. A failure worth retrying (network,
//!   timeout, 5xx) makes health `degraded` with the reason and the time of the next attempt,
//!   after an exponential backoff; only [`RefreshSettings::failures_before_error`] failures in a
//!   row change the status to `error`.
//!
//! Neither changes the credential's `version`: status and health after a refresh are
//! server-owned state, like the outcome of a connection test.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::audit::AuditAction;
use crate::credential::{Credential, CredentialStatus, Health, HealthStatus};
use crate::oauth_token::TokenError;
use crate::release::is_oauth;
use crate::schema::Provider;
use crate::schema::fields::{ACCESS_TOKEN, EXPIRES_AT, REFRESH_TOKEN};

/// When and how often tokens are refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshSettings {
    /// A use refreshes first when the access token expires within this margin (default 5 min).
    pub margin: TimeDelta,
    /// Tokens not refreshed for this long are refreshed by the worker (default 24 h).
    pub idle_interval: TimeDelta,
    /// The first wait after a failure worth retrying (default 30 s); each further failure in a
    /// row doubles it.
    pub backoff_base: TimeDelta,
    /// The longest wait between attempts (default 1 h); also the wait after a refusal by the
    /// outbound policy, which the operator may lift.
    pub backoff_max: TimeDelta,
    /// Failures in a row, worth retrying, after which the status becomes `error` (default 3).
    pub failures_before_error: u32,
    /// The shortest time between two refreshes of one credential (default 30 s), so that a
    /// provider issuing tokens that live less than the margin is not asked on every use.
    pub min_interval: TimeDelta,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            margin: TimeDelta::minutes(5),
            idle_interval: TimeDelta::hours(24),
            backoff_base: TimeDelta::seconds(30),
            backoff_max: TimeDelta::hours(1),
            failures_before_error: 3,
            min_interval: TimeDelta::seconds(30),
        }
    }
}

/// When the stored access token expires: `extra_data.expires_at` (RFC 3339), if it parses.
pub fn expires_at(credential: &Credential) -> Option<DateTime<Utc>> {
    match credential.extra_data.get(EXPIRES_AT) {
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc)),
        _ => None,
    }
}

/// The text stored as `extra_data.expires_at` for an instant.
pub fn expires_at_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// When a token issued at `now` that lives `expires_in` seconds expires.
pub fn expiry_of(now: DateTime<Utc>, expires_in: Option<u64>) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(expires_in?).ok()?;
    now.checked_add_signed(TimeDelta::try_seconds(seconds)?)
}

/// Whether credvault can refresh the credential: an OAuth kind with a stored refresh token.
pub fn can_refresh(credential: &Credential) -> bool {
    is_oauth(credential.kind) && credential.secret_fields.contains(REFRESH_TOKEN)
}

/// Whether a use of the credential at `now` refreshes first: it can be refreshed, and its access
/// token is missing or expires within the margin; but not again within
/// [`RefreshSettings::min_interval`] of the last refresh while the token has not expired.
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use credvault_domain::refresh::{RefreshSettings, expires_at_text, needs_refresh};
/// use credvault_domain::testing::stored_oauth_credential;
///
/// let now = Utc::now();
/// let settings = RefreshSettings::default();
/// let mut credential = stored_oauth_credential();
/// credential.extra_data.insert("expires_at".into(), expires_at_text(now + TimeDelta::hours(1)).into());
/// assert!(!needs_refresh(&credential, None, now, &settings));
/// credential.extra_data.insert("expires_at".into(), expires_at_text(now + TimeDelta::minutes(2)).into());
/// assert!(needs_refresh(&credential, None, now, &settings));
/// ```
pub fn needs_refresh(
    credential: &Credential,
    last_refreshed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &RefreshSettings,
) -> bool {
    if !can_refresh(credential) {
        return false;
    }
    if !credential.secret_fields.contains(ACCESS_TOKEN) {
        return true;
    }
    let Some(expires) = expires_at(credential) else {
        return false;
    };
    if expires > now + settings.margin {
        return false;
    }
    let just_refreshed = last_refreshed.is_some_and(|at| now - at < settings.min_interval);
    !(just_refreshed && expires > now)
}

/// When the upkeep worker should next look at a credential whose last refresh was
/// `last_refreshed` (or, never refreshed, that was last written at `updated_at`): the margin
/// before expiry or the idle interval after the last refresh, whichever comes first, and not
/// before `now` + [`RefreshSettings::min_interval`]. `None` when it cannot be refreshed.
pub fn next_look(
    credential: &Credential,
    last_refreshed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &RefreshSettings,
) -> Option<DateTime<Utc>> {
    if !can_refresh(credential) {
        return None;
    }
    let baseline = last_refreshed.unwrap_or(credential.updated_at);
    let mut at = baseline + settings.idle_interval;
    if let Some(expires) = expires_at(credential) {
        at = at.min(expires - settings.margin);
    }
    if !credential.secret_fields.contains(ACCESS_TOKEN) {
        at = now;
    }
    Some(
        at.max(now + settings.min_interval)
            .min(now + settings.idle_interval),
    )
}

/// Whether the worker should refresh the credential now (rather than only schedule it):
/// [`needs_refresh`], or not refreshed for the idle interval.
pub fn due_now(
    credential: &Credential,
    last_refreshed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &RefreshSettings,
) -> bool {
    if needs_refresh(credential, last_refreshed, now, settings) {
        return true;
    }
    can_refresh(credential)
        && now - last_refreshed.unwrap_or(credential.updated_at) >= settings.idle_interval
}

/// The server-owned state of a credential after a refresh attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterRefresh {
    /// The credential's next status.
    pub status: CredentialStatus,
    /// Its next health.
    pub health: Health,
    /// Failed attempts in a row, this one included (0 after a success).
    pub failures: u32,
    /// When the worker looks again; `None` parks the credential until a client writes it.
    pub due_at: Option<DateTime<Utc>>,
    /// The event to append: [`AuditAction::Refreshed`] or [`AuditAction::RefreshFailed`].
    pub action: AuditAction,
}

/// The state after a successful refresh at `now` that yields a token expiring at `expires`.
pub fn after_success(
    credential: &Credential,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &RefreshSettings,
) -> AfterRefresh {
    let status = match credential.status {
        CredentialStatus::NeedsPageSelection => CredentialStatus::NeedsPageSelection,
        _ => CredentialStatus::Connected,
    };
    let mut at = now + settings.idle_interval;
    if let Some(expires) = expires {
        at = at.min(expires - settings.margin);
    }
    AfterRefresh {
        status,
        health: Health {
            status: HealthStatus::Healthy,
            notes: Vec::new(),
            checked_at: Some(now),
        },
        failures: 0,
        due_at: Some(at.max(now + settings.min_interval)),
        action: AuditAction::Refreshed,
    }
}

/// The wait before the next attempt after `failures` failures in a row worth retrying.
pub fn backoff(failures: u32, settings: &RefreshSettings) -> TimeDelta {
    let doublings = failures.saturating_sub(1).min(20);
    let factor = 1_i32 << doublings;
    settings
        .backoff_base
        .checked_mul(factor)
        .unwrap_or(settings.backoff_max)
        .min(settings.backoff_max)
}

/// The state after a refresh at `now` that failed with `error`, the credential having failed
/// `failures_before` times in a row before.
pub fn after_failure(
    credential: &Credential,
    failures_before: u32,
    error: &TokenError,
    now: DateTime<Utc>,
    settings: &RefreshSettings,
) -> AfterRefresh {
    let failures = failures_before.saturating_add(1);
    let provider = provider_name(credential.provider);
    let (status, health_status, due_at, note) = match error {
        TokenError::InvalidGrant { description } => (
            CredentialStatus::Expired,
            HealthStatus::Error,
            None,
            format!(
                "{provider} refused the refresh token{}: the authorization has expired or was \
                 revoked. Reconnect the credential (or PATCH a new refresh_token) to restore \
                 access.",
                said(description)
            ),
        ),
        TokenError::InvalidClient { code, description } => (
            CredentialStatus::Revoked,
            HealthStatus::Error,
            None,
            format!(
                "{provider} refused the OAuth client ({code}{}): its client secret may have \
                 been rotated, or the app disabled or revoked. Correct the client id and secret, \
                 then reconnect the credential.",
                described(description)
            ),
        ),
        TokenError::Rejected { code, description } => (
            CredentialStatus::Error,
            HealthStatus::Error,
            None,
            format!(
                "{provider} rejected the refresh request ({code}{}). Check the credential's \
                 token URL and scopes, then reconnect it.",
                described(description)
            ),
        ),
        TokenError::Refused { reason } => (
            CredentialStatus::Error,
            HealthStatus::Error,
            Some(now + settings.backoff_max),
            format!(
                "credvault may not send the refresh request: {reason}. Correct the token URL, \
                 or ask the operator to allow its host; credvault tries again at {}.",
                expires_at_text(now + settings.backoff_max)
            ),
        ),
        TokenError::Transient { reason } => {
            let next = now + backoff(failures, settings);
            let repeated = failures >= settings.failures_before_error;
            let note = if repeated {
                format!(
                    "Refreshing the access token at {provider} failed {failures} times in a \
                     row, most recently: {reason}. credvault tries again at {}.",
                    expires_at_text(next)
                )
            } else {
                format!(
                    "Refreshing the access token at {provider} failed: {reason}. credvault \
                     tries again at {}.",
                    expires_at_text(next)
                )
            };
            if repeated {
                (
                    CredentialStatus::Error,
                    HealthStatus::Error,
                    Some(next),
                    note,
                )
            } else {
                (credential.status, HealthStatus::Degraded, Some(next), note)
            }
        }
    };
    AfterRefresh {
        status,
        health: Health {
            status: health_status,
            notes: vec![note],
            checked_at: Some(now),
        },
        failures,
        due_at,
        action: AuditAction::RefreshFailed,
    }
}

/// ` (invalid_grant: <description>)`, or ` (invalid_grant)`.
fn said(description: &Option<String>) -> String {
    format!(" (invalid_grant{})", described(description))
}

/// `: <description>`, or nothing.
fn described(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|text| format!(": {text}"))
        .unwrap_or_default()
}

/// The provider's name in a sentence.
fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Microsoft => "Microsoft",
        Provider::Sharepoint => "SharePoint (Microsoft)",
        Provider::Google => "Google",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests;
