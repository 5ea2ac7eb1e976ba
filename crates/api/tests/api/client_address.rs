//! Who a request is charged to: the client address behind trusted proxies, and the per-`client_id`
//! limit of the token endpoint.

use std::time::Duration;

use credvault_api::Settings;
use credvault_api::throttle::RateLimit;
use credvault_persistence::testing::TestDb;

use crate::helpers::{TestApp, TestResponse};
use crate::service_accounts::{create_account, create_client_credential, exchange_basic, text};

/// A limit that refills so slowly that no test run sees a refill.
fn hourly(burst: u32) -> Option<RateLimit> {
    Some(RateLimit {
        burst: burst.try_into().unwrap(),
        replenish_interval: Duration::from_secs(3600),
    })
}

fn anonymous_via(app: &TestApp, forwarded_for: &str) -> TestResponse {
    app.anonymous.send(
        "GET",
        &app.integrations(),
        &[("x-forwarded-for", forwarded_for)],
        None,
    )
}

credvault_persistence::backend_tests! {
    fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(db: &TestDb) {
        let settings = Settings {
            rate_limit: hourly(2),
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        for _ in 0..2 {
            assert_eq!(anonymous_via(&app, "198.51.100.7").status, 401);
        }
        assert_eq!(anonymous_via(&app, "198.51.100.7").problem(429)["status"], 429);
        // Another client behind the same proxy is not limited.
        assert_eq!(anonymous_via(&app, "198.51.100.8").status, 401);
        // The rightmost untrusted hop counts: a further trusted proxy is skipped, and what the
        // client wrote left of its own address changes nothing.
        anonymous_via(&app, "198.51.100.7, 127.0.0.2").problem(429);
        anonymous_via(&app, "203.0.113.9, 198.51.100.7").problem(429);
    }

    fn without_trusted_proxies_x_forwarded_for_is_ignored(db: &TestDb) {
        let settings = Settings {
            rate_limit: hourly(2),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        assert_eq!(anonymous_via(&app, "198.51.100.7").status, 401);
        assert_eq!(anonymous_via(&app, "198.51.100.8").status, 401);
        anonymous_via(&app, "198.51.100.9").problem(429);
    }

    fn token_requests_are_limited_per_client_id_before_the_lookup(db: &TestDb) {
        let settings = Settings {
            rate_limit: None,
            token_rate_limit: hourly(3),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let account = create_account(&app, "etl", "member");
        let credential = create_client_credential(&app, &text(&account, "id"), "etl key");
        let client_id = text(&credential, "client_id");
        let client_secret = text(&credential, "client_secret");

        // Someone guesses the secret of this client_id.
        for _ in 0..3 {
            assert_eq!(exchange_basic(&app, &client_id, "cvs_guess").status, 401);
        }
        let refused = exchange_basic(&app, &client_id, "cvs_guess");
        refused.problem(429);
        assert!(refused.header("retry-after").is_some());
        // Now even the right secret waits: the limit is on the client_id, checked before the
        // store is asked.
        exchange_basic(&app, &client_id, &client_secret).problem(429);
        // Other client_ids, known or not, have their own budget.
        let other = create_client_credential(&app, &text(&account, "id"), "other key");
        let other_response =
            exchange_basic(&app, &text(&other, "client_id"), &text(&other, "client_secret"));
        assert_eq!(other_response.status, 200, "{}", other_response.body);
        assert_eq!(exchange_basic(&app, "cvc_unknown", "cvs_guess").status, 401);
    }
}
