//! OAuth apps: the client secret sealed to the app, kept or replaced by a PATCH, and the
//! version rules of a PATCH.

use credvault_domain::oauth_app::{NewOAuthApp, OAuthAppPatch};
use credvault_persistence::StoreError;
use credvault_persistence::testing::TestDb;
use credvault_usecases::{Error, oauth_apps};
use serde_json::{Value, json};

use crate::support::{key_ring, team};

fn body() -> Value {
    json!({
        "name": "Graph",
        "provider": "microsoft",
        "client_id": "client-1",
        "client_secret": "first-client-secret",
    })
}

fn patch(body: Value) -> OAuthAppPatch {
    OAuthAppPatch::from_json(body).unwrap()
}

credvault_persistence::backend_tests! {
    fn the_client_secret_is_sealed_and_kept_or_replaced(db: &TestDb) {
        let team = team(db);
        let keys = key_ring("k1", &["k1"]);
        let app = oauth_apps::create(
            db.store(), &keys, team.id, NewOAuthApp::from_json(body()).unwrap(),
        )
        .unwrap();
        let stored = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        let needle = b"first-client-secret";
        assert!(!stored.ciphertext.bytes.windows(needle.len()).any(|w| w == needle));
        assert_eq!(
            oauth_apps::client_secret(&keys, &stored).unwrap().expose(),
            "first-client-secret"
        );

        for keep in [json!(""), json!(null), json!("••••")] {
            let updated = oauth_apps::update(
                db.store(), &keys, team.id, app.id,
                &patch(json!({"client_secret": keep, "name": format!("Graph {keep}")})), None,
            )
            .unwrap();
            assert_eq!(updated.changed_fields, ["name"]);
            let stored = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
            assert_eq!(
                oauth_apps::client_secret(&keys, &stored).unwrap().expose(),
                "first-client-secret"
            );
        }

        let updated = oauth_apps::update(
            db.store(), &keys, team.id, app.id,
            &patch(json!({"client_secret": "second-client-secret"})), None,
        )
        .unwrap();
        assert_eq!(updated.changed_fields, ["client_secret"]);
        assert_eq!(updated.app.version, 5);
        let stored = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        assert_eq!(
            oauth_apps::client_secret(&keys, &stored).unwrap().expose(),
            "second-client-secret"
        );
    }

    fn a_patch_that_changes_nothing_writes_nothing(db: &TestDb) {
        let team = team(db);
        let keys = key_ring("k1", &["k1"]);
        let app = oauth_apps::create(
            db.store(), &keys, team.id, NewOAuthApp::from_json(body()).unwrap(),
        )
        .unwrap();
        let same = oauth_apps::update(
            db.store(), &keys, team.id, app.id,
            &patch(json!({"name": "Graph", "client_secret": ""})), None,
        )
        .unwrap();
        assert!(same.changed_fields.is_empty());
        assert_eq!(same.app, app);
    }

    fn an_expected_version_that_moved_writes_nothing(db: &TestDb) {
        let team = team(db);
        let keys = key_ring("k1", &["k1"]);
        let app = oauth_apps::create(
            db.store(), &keys, team.id, NewOAuthApp::from_json(body()).unwrap(),
        )
        .unwrap();
        let refused = oauth_apps::update(
            db.store(), &keys, team.id, app.id, &patch(json!({"name": "Other"})), Some(&|version| version == 7),
        )
        .unwrap_err();
        assert!(
            matches!(refused, Error::Store(StoreError::VersionMismatch { current: 1 })),
            "{refused:?}"
        );
        let done = oauth_apps::update(
            db.store(), &keys, team.id, app.id, &patch(json!({"name": "Other"})), Some(&|version| version == 1),
        )
        .unwrap();
        assert_eq!(done.app.version, 2);
        assert_eq!(
            db.store().find_oauth_app(team.id, app.id).unwrap().unwrap().app.name,
            "Other"
        );
    }
}
