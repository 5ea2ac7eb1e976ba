//! The secret bridge: sealed bytes are bound to their credential and move between keys.

use credvault_crypto::CryptoError;
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::secret::{SecretMap, SecretValue};
use credvault_persistence::StoredCredential;
use credvault_usecases::secrets;

use crate::support::key_ring;

fn stored(
    team_id: TeamId,
    id: CredentialId,
    sealed: Option<credvault_persistence::Ciphertext>,
) -> StoredCredential {
    let (template, _) = credvault_domain::testing::stored_postgres_credential();
    StoredCredential {
        credential: credvault_domain::credential::Credential {
            id,
            team_id,
            ..template
        },
        ciphertext: sealed,
        oauth_app: None,
    }
}

#[test]
fn seal_open_and_reseal_round_trip_bound_to_the_credential() {
    let old = key_ring("k1", &["k1"]);
    let (team_id, id) = (TeamId::new(), CredentialId::new());
    let mut secrets_map = SecretMap::new();
    secrets_map.insert("password".to_owned(), SecretValue::new("s3cret".to_owned()));

    assert!(
        secrets::seal(&old, team_id, id, &SecretMap::new())
            .unwrap()
            .is_none()
    );
    let sealed = secrets::seal(&old, team_id, id, &secrets_map)
        .unwrap()
        .unwrap();
    assert_eq!(sealed.key_id, "k1");
    let opened = secrets::open(&old, &stored(team_id, id, Some(sealed.clone()))).unwrap();
    assert_eq!(opened.get("password").unwrap().expose(), "s3cret");
    assert!(
        secrets::open(&old, &stored(team_id, id, None))
            .unwrap()
            .is_empty()
    );
    // Bound to its credential: another id does not open it.
    let elsewhere = stored(team_id, CredentialId::new(), Some(sealed.clone()));
    assert!(secrets::open(&old, &elsewhere).is_err());

    let rotated = key_ring("k2", &["k2", "k1"]);
    let resealed = secrets::reseal(&rotated, team_id, id, &sealed).unwrap();
    assert_eq!(resealed.key_id, "k2");
    let opened = secrets::open(&rotated, &stored(team_id, id, Some(resealed.clone()))).unwrap();
    assert_eq!(opened.get("password").unwrap().expose(), "s3cret");
    // Already under the active key: the same bytes.
    assert_eq!(
        secrets::reseal(&rotated, team_id, id, &resealed).unwrap(),
        resealed
    );
    // A key that is not configured.
    let unknown = secrets::reseal(&key_ring("k3", &["k3"]), team_id, id, &sealed);
    assert!(
        matches!(unknown, Err(CryptoError::UnknownKeyId(_))),
        "{unknown:?}"
    );
}
