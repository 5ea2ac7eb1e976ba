//! Unit tests of the limiters, the in-flight bound and the peer keys.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use credvault_domain::ids::PrincipalId;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use super::{RateLimit, Throttle, client_address, peer_key, retry_after_seconds};
use crate::error::ApiError;
use crate::state::Settings;

fn settings(rate_limit: Option<RateLimit>, max_in_flight: usize) -> Settings {
    Settings {
        rate_limit,
        max_in_flight,
        ..Settings::default()
    }
}

/// A limit that refills so slowly that no test run sees a refill.
fn hourly(burst: u32) -> Option<RateLimit> {
    Some(RateLimit {
        burst: burst.try_into().unwrap(),
        replenish_interval: Duration::from_secs(3600),
    })
}

#[test]
fn zero_per_second_disables_the_limit_and_zero_burst_means_the_rate() {
    assert_eq!(RateLimit::per_second(0, 10), None);
    let limit = RateLimit::per_second(4, 0).unwrap();
    assert_eq!(limit.burst.get(), 4);
    assert_eq!(limit.replenish_interval, Duration::from_millis(250));
}

#[test]
fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
    assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    assert_eq!(retry_after_seconds(Duration::from_millis(10)), 1);
    assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
    assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
}

#[test]
fn a_principal_gets_its_burst_then_429_while_others_are_unaffected() {
    let throttle = Throttle::new(&settings(hourly(3), 0));
    let (busy, quiet) = (PrincipalId::new(), PrincipalId::new());
    for _ in 0..3 {
        throttle.check_principal(busy).unwrap();
    }
    match throttle.check_principal(busy) {
        Err(ApiError::TooManyRequests {
            retry_after_seconds,
        }) => assert!((3000..=3600).contains(&retry_after_seconds)),
        other => panic!("expected 429, got {other:?}"),
    }
    throttle.check_principal(quiet).unwrap();
}

#[test]
fn each_principal_gets_its_burst_of_connection_tests_then_429() {
    let throttle = Throttle::new(&Settings {
        probe_rate_limit: RateLimit::per_second(1, 2),
        ..Settings::default()
    });
    let principal = PrincipalId::new();
    throttle.check_probe_principal(principal).unwrap();
    throttle.check_probe_principal(principal).unwrap();
    assert!(matches!(
        throttle.check_probe_principal(principal),
        Err(ApiError::TooManyRequests { .. })
    ));
    // Another principal is not affected.
    throttle.check_probe_principal(PrincipalId::new()).unwrap();
}

#[test]
fn a_refused_connection_test_is_503_for_a_busy_server_and_429_for_a_busy_team() {
    use credvault_probe::executor::Refused;
    assert!(matches!(
        ApiError::from(Refused::ServerBusy),
        ApiError::Overloaded
    ));
    assert!(matches!(
        ApiError::from(Refused::TeamBusy {
            retry_after: Duration::from_secs(10)
        }),
        ApiError::TooManyRequests {
            retry_after_seconds: 10
        }
    ));
}

#[test]
fn no_rate_limit_never_refuses() {
    let throttle = Throttle::new(&settings(None, 0));
    for _ in 0..10_000 {
        throttle.check_principal(PrincipalId::new()).unwrap();
        throttle.check_peer(None).unwrap();
    }
}

#[test]
fn peers_are_keyed_by_ipv4_address_and_ipv6_network() {
    let address = |text: &str| Some(text.parse::<SocketAddr>().unwrap().ip());
    assert_eq!(
        peer_key(address("192.0.2.7:1234")),
        "192.0.2.7".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        peer_key(address("[::ffff:192.0.2.7]:1")),
        "192.0.2.7".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        peer_key(address("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1")),
        peer_key(address("[2001:db8:1:2::1]:2"))
    );
    assert_ne!(
        peer_key(address("[2001:db8:1:2::1]:1")),
        peer_key(address("[2001:db8:1:3::1]:1"))
    );

    let throttle = Throttle::new(&settings(hourly(1), 0));
    throttle.check_peer(address("192.0.2.7:1")).unwrap();
    assert!(throttle.check_peer(address("192.0.2.7:2")).is_err());
    throttle.check_peer(address("192.0.2.8:1")).unwrap();
}

#[test]
fn the_in_flight_bound_refuses_beyond_the_maximum_until_one_finishes() {
    let throttle = Arc::new(Throttle::new(&settings(None, 2)));
    let first = throttle.enter().unwrap();
    let _second = throttle.enter().unwrap();
    assert!(throttle.enter().is_none());
    assert!(throttle.enter().is_none(), "a refusal does not leak a slot");
    drop(first);
    let _third = throttle.enter().unwrap();
    assert!(throttle.enter().is_none());
}

#[test]
fn zero_max_in_flight_means_no_bound() {
    let throttle = Arc::new(Throttle::new(&settings(None, 0)));
    let guards: Vec<_> = (0..1000).map(|_| throttle.enter().unwrap()).collect();
    assert_eq!(guards.len(), 1000);
}

fn forwarded(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

#[test]
fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
    let trusted = [
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ];
    let headers = forwarded(&["198.51.100.7"]);
    assert_eq!(
        client_address(ip("192.0.2.1"), &headers, &trusted),
        ip("192.0.2.1")
    );
    assert_eq!(
        client_address(ip("10.1.2.3"), &headers, &trusted),
        ip("198.51.100.7")
    );
    assert_eq!(
        client_address(ip("::ffff:10.1.2.3"), &headers, &trusted),
        ip("198.51.100.7")
    );
    assert_eq!(
        client_address(ip("10.1.2.3"), &headers, &[]),
        ip("10.1.2.3")
    );
}

#[test]
fn the_rightmost_untrusted_forwarded_address_is_the_client() {
    let trusted = ["10.0.0.0/8".parse().unwrap()];
    let peer = ip("10.0.0.1");
    let cases = [
        (vec!["203.0.113.9, 198.51.100.7"], "198.51.100.7"),
        (vec!["198.51.100.7, 10.0.0.2"], "198.51.100.7"),
        (
            vec!["203.0.113.9", "198.51.100.7, 10.0.0.2"],
            "198.51.100.7",
        ),
        (vec![" 2001:db8::1 ,10.9.9.9"], "2001:db8::1"),
        // Only proxies: the leftmost of them.
        (vec!["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
        // No header: the peer.
        (vec![], "10.0.0.1"),
        // A header that does not parse: the peer.
        (vec!["198.51.100.7, not-an-address"], "10.0.0.1"),
        (vec!["198.51.100.7:4711"], "10.0.0.1"),
    ];
    for (values, expected) in cases {
        assert_eq!(
            client_address(peer, &forwarded(&values), &trusted),
            ip(expected),
            "{values:?}"
        );
    }
}

#[test]
fn a_token_client_gets_its_burst_then_429_while_others_are_unaffected() {
    let throttle = Throttle::new(&Settings {
        token_rate_limit: hourly(2),
        ..Settings::default()
    });
    throttle.check_token_client("cvc_a").unwrap();
    throttle.check_token_client("cvc_a").unwrap();
    assert!(matches!(
        throttle.check_token_client("cvc_a"),
        Err(ApiError::TooManyRequests { .. })
    ));
    throttle.check_token_client("cvc_b").unwrap();
}

#[test]
fn per_minute_spreads_the_budget_over_a_minute() {
    assert_eq!(RateLimit::per_minute(0), None);
    let limit = RateLimit::per_minute(60).unwrap();
    assert_eq!(limit.burst.get(), 60);
    assert_eq!(limit.replenish_interval, Duration::from_secs(1));
}
