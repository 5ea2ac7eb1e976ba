//! Request fingerprints: keyed, framed, stable across a key rotation while the old key is kept.
#![expect(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with the error in the message"
)]

use ring::digest::{SHA256, digest};

use crate::{CryptoError, Fingerprint, KeyId, KeyRing};

const REQUEST: [&[u8]; 4] = [
    b"POST",
    b"/api/v1/teams/acme/integrations",
    b"",
    b"{\"name\":\"x\"}",
];

fn key_id(id: &str) -> KeyId {
    id.parse().unwrap()
}

fn ring_of(keys: &[(&str, u8)]) -> KeyRing {
    let raw_keys = keys
        .iter()
        .map(|(id, fill)| (key_id(id), [*fill; 32]))
        .collect();
    KeyRing::new(key_id(keys[0].0), raw_keys).unwrap()
}

#[test]
fn fingerprint_is_hmac_sha256_under_the_hkdf_derived_key() {
    // Computed independently (Python's hmac and hashlib) from RFC 5869 with an empty salt,
    // info "credvault idempotency v1", and each part framed by its u64 big-endian length.
    let fingerprint = KeyRing::for_testing().fingerprint(&REQUEST);
    assert_eq!(fingerprint.key_id().as_str(), "test");
    assert_eq!(
        fingerprint.to_hex(),
        "39fd296de8ad5ab25df8921c495fbcf28cc97198731744e0cf9207b2eee5f3fe"
    );
}

#[test]
fn fingerprint_is_not_a_plain_hash_of_the_request() {
    let fingerprint = KeyRing::for_testing().fingerprint(&REQUEST).to_hex();
    let concatenated: Vec<u8> = REQUEST.concat();
    let newline_joined = REQUEST.join(&b'\n');
    for preimage in [REQUEST[3], &concatenated[..], &newline_joined[..]] {
        let plain: String = digest(&SHA256, preimage)
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_ne!(fingerprint, plain);
    }
}

#[test]
fn the_same_request_matches_and_any_change_does_not() {
    let key_ring = KeyRing::for_testing();
    let fingerprint = key_ring.fingerprint(&REQUEST);
    assert_eq!(key_ring.fingerprint(&REQUEST), fingerprint);
    assert!(key_ring.matches_fingerprint(&fingerprint, &REQUEST));

    let other_body: [&[u8]; 4] = [REQUEST[0], REQUEST[1], REQUEST[2], b"{\"name\":\"y\"}"];
    assert!(!key_ring.matches_fingerprint(&fingerprint, &other_body));
    // Bytes moved across a part boundary make another request.
    let shifted: [&[u8]; 4] = [
        b"POST/",
        b"api/v1/teams/acme/integrations",
        REQUEST[2],
        REQUEST[3],
    ];
    assert!(!key_ring.matches_fingerprint(&fingerprint, &shifted));
    assert_ne!(key_ring.fingerprint(&shifted), fingerprint);
}

#[test]
fn another_master_key_gives_another_fingerprint() {
    let first = ring_of(&[("k1", 1)]).fingerprint(&REQUEST);
    let second = ring_of(&[("k1", 2)]).fingerprint(&REQUEST);
    assert_ne!(first.to_hex(), second.to_hex());
    assert!(!ring_of(&[("k1", 2)]).matches_fingerprint(&first, &REQUEST));
}

#[test]
fn a_fingerprint_still_matches_after_rotation_while_its_key_is_kept() {
    let before = ring_of(&[("k1", 1)]);
    let fingerprint = before.fingerprint(&REQUEST);
    let stored = Fingerprint::from_stored("k1", &fingerprint.to_hex()).unwrap();

    let rotated = ring_of(&[("k2", 2), ("k1", 1)]);
    assert!(rotated.matches_fingerprint(&stored, &REQUEST));
    // New requests are fingerprinted under the new active key.
    assert_eq!(rotated.fingerprint(&REQUEST).key_id().as_str(), "k2");

    // Once the old key has left the ring, the request can no longer be recognised.
    let without_old_key = ring_of(&[("k2", 2)]);
    assert!(!without_old_key.matches_fingerprint(&stored, &REQUEST));
}

#[test]
fn stored_fingerprints_round_trip_and_malformed_ones_are_refused() {
    let fingerprint = KeyRing::for_testing().fingerprint(&REQUEST);
    let hex = fingerprint.to_hex();
    assert_eq!(Fingerprint::from_stored("test", &hex).unwrap(), fingerprint);
    assert_eq!(
        Fingerprint::from_stored("test", &hex.to_uppercase()).unwrap(),
        fingerprint
    );
    assert!(matches!(
        Fingerprint::from_stored("test", &hex[1..]),
        Err(CryptoError::MalformedCiphertext(_))
    ));
    assert!(matches!(
        Fingerprint::from_stored("test", &format!("g{}", &hex[1..])),
        Err(CryptoError::MalformedCiphertext(_))
    ));
    assert!(matches!(
        Fingerprint::from_stored("no spaces", &hex),
        Err(CryptoError::BadKeyId(_))
    ));
}
