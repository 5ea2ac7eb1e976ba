//! Concurrent PATCHes of one service account or one client credential: each changes a different
//! field, and both changes survive (SPEC §3's rule for PATCH, applied to these resources too).

use std::sync::Barrier;

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::TestApp;
use crate::service_accounts::{
    account_path, create_account, create_client_credential, credential_path, text,
};

/// How many rounds of two concurrent PATCHes each test runs.
const ROUNDS: usize = 60;

/// Runs `ROUNDS` rounds of a `name` PATCH and a `description` PATCH of `path` sent at once, and
/// returns the rounds in which the resource did not end up with both.
fn lost_updates(app: &TestApp, path: &str) -> Vec<usize> {
    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        let name = format!("name-{round}");
        let description = format!("description-{round}");
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            let renames = scope.spawn(|| {
                barrier.wait();
                app.owner.patch_json(path, &json!({"name": name}))
            });
            let describes = scope.spawn(|| {
                barrier.wait();
                app.owner
                    .patch_json(path, &json!({"description": description}))
            });
            for response in [renames.join().unwrap(), describes.join().unwrap()] {
                assert_eq!(response.status, 200, "{}", response.body);
            }
        });
        let stored = app.owner.get(path).json();
        if stored["name"] != name.as_str() || stored["description"] != description.as_str() {
            lost.push(round);
        }
    }
    lost
}

backend_tests! {
    fn concurrent_patches_of_one_service_account_keep_both_changes(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let lost = lost_updates(&app, &account_path(&app, &account_id));
        assert!(lost.is_empty(), "an update was lost in rounds {lost:?} of {ROUNDS}");
    }

    fn concurrent_patches_of_one_client_credential_keep_both_changes(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential_id = text(&create_client_credential(&app, &account_id, "main"), "id");
        let lost = lost_updates(&app, &credential_path(&app, &account_id, &credential_id));
        assert!(lost.is_empty(), "an update was lost in rounds {lost:?} of {ROUNDS}");
    }
}
