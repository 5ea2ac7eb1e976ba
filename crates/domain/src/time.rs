//! The product's clock: every stored instant has microsecond precision.
//!
//! PostgreSQL's `TIMESTAMP` keeps microseconds, so an instant taken at nanosecond precision would
//! read back different from the value written. Stamping with [`now`] (or cutting a caller's
//! value with [`to_micros`]) makes what a caller holds equal to what is stored, on both backends.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds.
pub fn now() -> DateTime<Utc> {
    to_micros(Utc::now())
}

/// `at` truncated to microseconds, the precision the product stores.
pub fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use chrono::{SubsecRound, Timelike};

    use super::*;

    #[test]
    fn now_has_no_nanoseconds_below_a_microsecond() {
        let at = now();
        assert_eq!(at.nanosecond() % 1_000, 0);
        assert_eq!(at, at.trunc_subsecs(6));
    }

    #[test]
    fn to_micros_cuts_and_keeps_the_rest() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default();
        assert_eq!(to_micros(at).nanosecond(), 123_456_000);
        assert_eq!(to_micros(to_micros(at)), to_micros(at));
    }
}
