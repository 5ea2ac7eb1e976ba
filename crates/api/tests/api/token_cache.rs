//! The token cache never keeps a token working past its `expires_at`.

use std::time::{Duration, Instant};

use credvault_api::Settings;
use credvault_persistence::testing::TestDb;

use crate::helpers::{Client, TestApp};
use crate::service_accounts::{create_account, create_client_credential, exchange_basic, text};

credvault_persistence::backend_tests! {
    fn an_access_token_cached_just_before_its_expiry_stops_working_at_its_expiry(db: &TestDb) {
        let lifetime = Duration::from_secs(3);
        let settings = Settings {
            access_token_ttl: lifetime,
            token_cache_ttl: Duration::from_secs(30),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let account = create_account(&app, "etl", "member");
        let credential = create_client_credential(&app, &text(&account, "id"), "etl key");
        let issued_before = Instant::now();
        let issued = exchange_basic(
            &app,
            &text(&credential, "client_id"),
            &text(&credential, "client_secret"),
        );
        assert_eq!(issued.status, 200, "{}", issued.body);
        let access_token = text(&issued.json(), "access_token");
        let service = Client::new(app.owner.base_url(), Some(access_token));

        // Used (and so cached) well within its lifetime...
        assert_eq!(service.get(&app.integrations()).status, 200);
        // ...and refused once the lifetime is over, although the cache's own time to live is not.
        let expired_at = issued_before + lifetime + Duration::from_millis(500);
        std::thread::sleep(expired_at.saturating_duration_since(Instant::now()));
        let refused = service.get(&app.integrations());
        refused.problem(401);
        assert_eq!(
            refused.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
    }
}
