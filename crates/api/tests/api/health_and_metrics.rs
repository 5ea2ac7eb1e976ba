//! What anyone can reach without a token: metrics labels stay bounded (M6) and `/readyz` does
//! not turn a flood into database work (M7).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use credvault_api::Settings;
use credvault_persistence::testing::TestDb;

use crate::helpers::{Client, RawConnection, TestApp};

/// The `credvault_http_requests_total` lines of `/metrics`.
fn request_series(app: &TestApp) -> Vec<String> {
    app.anonymous
        .get("/metrics")
        .body
        .lines()
        .filter(|line| line.starts_with("credvault_http_requests_total{"))
        .map(|line| line.rsplit_once(' ').unwrap().0.to_owned())
        .collect()
}

/// One request with a method no client library would send.
fn send_method(app: &TestApp, method: &str, path: &str) -> u16 {
    let mut connection = RawConnection::open(app.address);
    connection.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            app.address
        )
        .as_bytes(),
    );
    connection.read_response().status
}

/// The value of an unlabelled counter in `/metrics`.
fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.anonymous.get("/metrics").body;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
        .parse()
        .unwrap()
}

credvault_persistence::backend_tests! {
    fn made_up_methods_add_no_metrics_series(db: &TestDb) {
        let app = TestApp::spawn(db);
        assert_eq!(send_method(&app, "ZZQQMETHOD", "/healthz"), 405);
        // The first `/metrics` request is recorded only after it rendered its answer.
        request_series(&app);
        let before = request_series(&app);
        assert!(
            before.iter().any(|series| series.contains("method=\"OTHER\",route=\"/healthz\"")),
            "{before:?}"
        );
        for method in ["ZZQQMETHOD", "ZZQQOTHER", "Get", "M".repeat(4000).as_str()] {
            assert_eq!(send_method(&app, method, "/healthz"), 405);
        }
        let after = request_series(&app);
        assert_eq!(before, after);
        assert!(!after.iter().any(|series| series.contains("ZZQQ")));
    }

    fn concurrent_readiness_checks_share_one_database_ping(db: &TestDb) {
        // The cached answer lives longer than the test, so the count does not depend on speed.
        let settings = Settings {
            readiness_ttl: Duration::from_secs(3600),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        assert_eq!(counter(&app, "credvault_readiness_pings_total"), 0);
        let callers = 16;
        let barrier = Arc::new(Barrier::new(callers));
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let barrier = barrier.clone();
                let client = Client::new(app.anonymous.base_url(), None);
                std::thread::spawn(move || {
                    barrier.wait();
                    client.get("/readyz").status
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), 200);
        }
        assert_eq!(counter(&app, "credvault_readiness_pings_total"), 1);
    }

    fn readiness_is_asked_again_once_its_answer_is_old(db: &TestDb) {
        let settings = Settings {
            readiness_ttl: Duration::ZERO,
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        for _ in 0..3 {
            assert_eq!(app.anonymous.get("/readyz").status, 200);
        }
        assert_eq!(counter(&app, "credvault_readiness_pings_total"), 3);
    }
}
