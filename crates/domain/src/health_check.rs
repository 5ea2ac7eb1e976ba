//! Scheduled health checks: a connectable credential may carry an interval
//! ([`HEALTH_CHECK_INTERVAL_SECONDS`]) at which the upkeep worker runs its stored connection test
//! and records the outcome as its `health` and `status`, as a test through the API would.
//!
//! Only the provider/kind pairs a connection test can reach are connectable
//! ([`is_connectable`]): PostgreSQL `user_password` (`postgresql`, `internal_postgresql`) and
//! SFTP `user_password` and `key_file`. The interval is whole seconds in
//! [`MIN_INTERVAL_SECONDS`]`..=`[`MAX_INTERVAL_SECONDS`]; none (`null`) turns the checks off.
//! Setting or changing it is descriptive: it changes neither where nor how a test connects, so
//! it keeps the credential's status and health.
//!
//! ```
//! use credvault_domain::health_check::{check_interval, is_connectable};
//! use credvault_domain::schema::{Kind, Provider};
//!
//! assert!(is_connectable(Provider::Sftp, Kind::KeyFile));
//! assert!(!is_connectable(Provider::Google, Kind::GoogleOauth));
//! assert_eq!(check_interval(Provider::Postgresql, Kind::UserPassword, 300), Ok(300));
//! assert!(check_interval(Provider::Postgresql, Kind::UserPassword, 59).is_err());
//! assert!(check_interval(Provider::Stripe, Kind::ApiKey, 300).is_err());
//! ```

use crate::schema::{Kind, Provider};

/// The name of a credential's health-check interval: in its create and PATCH bodies, its
/// responses and the `changed_fields` of its audit events.
pub const HEALTH_CHECK_INTERVAL_SECONDS: &str = "health_check_interval_seconds";

/// The shortest interval: one minute.
pub const MIN_INTERVAL_SECONDS: u32 = 60;

/// The longest interval: one week.
pub const MAX_INTERVAL_SECONDS: u32 = 604_800;

/// Whether credentials of `provider`/`kind` can be tested by connecting to what they point at,
/// and so may have scheduled health checks.
pub const fn is_connectable(provider: Provider, kind: Kind) -> bool {
    matches!(
        (provider, kind),
        (
            Provider::Postgresql | Provider::InternalPostgresql,
            Kind::UserPassword
        ) | (Provider::Sftp, Kind::UserPassword | Kind::KeyFile)
    )
}

/// Checks an interval of `seconds` for a credential of `provider`/`kind`: the interval, or the
/// message for the field [`HEALTH_CHECK_INTERVAL_SECONDS`].
pub fn check_interval(provider: Provider, kind: Kind, seconds: u64) -> Result<u32, String> {
    if !is_connectable(provider, kind) {
        return Err(format!(
            "is only accepted for credentials a connection test can reach (postgresql and \
             internal_postgresql user_password, sftp user_password and key_file); a \
             {provider}/{kind} credential cannot be checked by connecting"
        ));
    }
    u32::try_from(seconds)
        .ok()
        .filter(|seconds| (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(seconds))
        .ok_or_else(|| {
            format!(
                "must be a whole number of seconds from {MIN_INTERVAL_SECONDS} to \
                 {MAX_INTERVAL_SECONDS}, or null for no scheduled checks"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_pairs_a_connection_test_reaches_are_connectable() {
        let mut connectable = Vec::new();
        for provider in Provider::ALL {
            for kind in provider.kinds() {
                if is_connectable(provider, *kind) {
                    connectable.push(format!("{provider}/{kind}"));
                }
            }
        }
        assert_eq!(
            connectable,
            [
                "sftp/user_password",
                "sftp/key_file",
                "postgresql/user_password",
                "internal_postgresql/user_password",
            ]
        );
    }

    #[test]
    fn the_interval_is_bounded_at_both_ends() {
        let check = |seconds| check_interval(Provider::Sftp, Kind::UserPassword, seconds);
        assert_eq!(check(60), Ok(60));
        assert_eq!(check(604_800), Ok(604_800));
        for out_of_range in [0, 1, 59, 604_801, u64::from(u32::MAX) + 1, u64::MAX] {
            assert!(check(out_of_range).is_err(), "{out_of_range}");
        }
    }
}
