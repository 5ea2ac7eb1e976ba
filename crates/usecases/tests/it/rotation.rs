//! Key rotation through the secret bridge.

use credvault_crypto::CryptoError;
use credvault_persistence::testing::TestDb;
use credvault_usecases::rotation::{self, RotationError};

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
}
