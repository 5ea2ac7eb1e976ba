//! Key rotation through the secret bridge.

use credvault_crypto::CryptoError;
use credvault_domain::oauth_app::NewOAuthApp;
use credvault_persistence::testing::TestDb;
use credvault_usecases::oauth_apps;
use credvault_usecases::rotation::{self, RotationError};
use serde_json::json;

use crate::support::{key_ring, team, warehouse};

credvault_persistence::backend_tests! {
    fn a_batch_moves_ciphertexts_to_the_active_key_and_names_one_it_cannot(db: &TestDb) {
        let team = team(db);
        let created = warehouse(db, &team, &key_ring("k1", &["k1"]));

        let unconfigured = rotation::reencrypt_batch(db.store(), &key_ring("k2", &["k2"]), None, 10);
        match unconfigured {
            Err(RotationError::Reseal { credential_id, source: CryptoError::UnknownKeyId(_), .. }) => {
                assert_eq!(credential_id, created.id);
            }
            other => panic!("expected the unconfigured key to be named, got {other:?}"),
        }

        let rotated = key_ring("k2", &["k2", "k1"]);
        let batch = rotation::reencrypt_batch(db.store(), &rotated, None, 10).unwrap();
        assert_eq!(batch.reencrypted, 1);
        let stored = db.store().find_credential(team.id, created.id).unwrap().unwrap();
        assert_eq!(stored.ciphertext.as_ref().unwrap().key_id, "k2");
        let opened = credvault_usecases::secrets::open(&rotated, &stored).unwrap();
        assert_eq!(opened.get("password").unwrap().expose(), "first");
        assert_eq!(stored.credential.version, created.version, "the version stays");
    }

    fn an_app_secret_opens_after_rotation_without_its_old_key(db: &TestDb) {
        let team = team(db);
        let old = key_ring("k1", &["k1"]);
        let input = NewOAuthApp::from_json(json!({
            "name": "Graph", "provider": "microsoft", "client_id": "client-1",
            "client_secret": "app-client-secret",
        }))
        .unwrap();
        let app = oauth_apps::create(db.store(), &old, team.id, input).unwrap();

        // Its key is not in the ring: the batch names the app (never its secret) and writes
        // nothing.
        let error =
            rotation::reencrypt_oauth_app_batch(db.store(), &key_ring("k2", &["k2"]), None, 10)
                .unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&app.id.to_string()), "{message}");
        assert!(!message.contains("app-client-secret"), "{message}");
        match error {
            RotationError::ResealOAuthApp { app_id, source: CryptoError::UnknownKeyId(_), .. } => {
                assert_eq!(app_id, app.id);
            }
            other => panic!("expected the unconfigured key to be named, got {other:?}"),
        }
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k1".to_owned(), 1)]);

        let rotated = key_ring("k2", &["k2", "k1"]);
        let batch = rotation::reencrypt_oauth_app_batch(db.store(), &rotated, None, 10).unwrap();
        assert_eq!((batch.reencrypted, batch.next_after), (1, None));
        assert_eq!(db.store().ciphertext_counts().unwrap(), [("k2".to_owned(), 1)]);

        // k1 protects nothing now: a ring without it opens the secret.
        let without_old = key_ring("k2", &["k2"]);
        let stored = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        assert_eq!(stored.ciphertext.key_id, "k2");
        assert_eq!(
            oauth_apps::client_secret(&without_old, &stored).unwrap().expose(),
            "app-client-secret"
        );
        assert_eq!(stored.app.version, app.version, "the version stays");
    }
}
