//! Unit and property tests for key rings, sealed values and tokens.
#![expect(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with the error in the message"
)]

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use ring::aead::AES_256_GCM;

use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};
use credvault_domain::secret::{SecretMap, SecretValue};

use crate::sealed::TAG_LEN;
use crate::token::TOKEN_ENCODED_LEN;
use crate::{
    Aad, CryptoError, KeyId, KeyRing, Sealed, TokenHash, generate_master_key, generate_token,
};

// Helpers

fn key_id(id: &str) -> KeyId {
    id.parse().unwrap()
}

fn aad() -> Aad {
    Aad::new(TeamId::new(), CredentialId::new())
}

fn sample_secrets() -> SecretMap {
    let mut secrets = SecretMap::new();
    secrets.insert("password".to_owned(), "correct horse battery staple".into());
    secrets.insert("api_key".to_owned(), "sk_live_0123456789".into());
    secrets
}

fn as_plain_map(secrets: &SecretMap) -> BTreeMap<String, String> {
    secrets
        .iter()
        .map(|(name, value)| (name.to_owned(), value.expose().to_owned()))
        .collect()
}

/// A spec entry for a key whose 32 bytes are all `byte`.
fn spec_entry(id: &str, byte: u8) -> String {
    format!("{id}:{}", STANDARD.encode([byte; 32]))
}

/// Whether the bytes fail to parse or, once parsed, fail to open.
fn rejected(key_ring: &KeyRing, bytes: &[u8], aad: &Aad) -> bool {
    match Sealed::from_bytes(bytes) {
        Err(_) => true,
        Ok(sealed) => key_ring.open(&sealed, aad).is_err(),
    }
}

// KeyId

#[test]
fn key_id_accepts_letters_digits_dash_and_underscore() {
    let id = key_id("Key_2025-06");
    assert_eq!(id.as_str(), "Key_2025-06");
    assert_eq!(id.to_string(), "Key_2025-06");
    assert_eq!(key_id(&"a".repeat(32)).as_str().len(), 32);
}

#[test]
fn key_id_rejects_empty_long_and_odd_characters() {
    for candidate in [
        "",
        &"a".repeat(33),
        "with space",
        "colon:",
        "slash/",
        "é",
        "k1,k2",
    ] {
        let err = candidate.parse::<KeyId>().unwrap_err();
        assert!(
            matches!(err, CryptoError::BadKeyId(_)),
            "{candidate:?}: {err:?}"
        );
    }
}

#[test]
fn key_id_error_does_not_repeat_the_input() {
    let candidate = "q0zB+/lookslikekeymaterial==";
    let err = candidate.parse::<KeyId>().unwrap_err();
    assert!(!err.to_string().contains(candidate));
    assert_eq!(
        err.to_string(),
        "invalid key id: character 5 of the key id is not one of A-Z, a-z, 0-9, '_' or '-'"
    );
}

// KeyRing::parse and KeyRing::new

#[test]
fn parse_makes_the_first_key_active() {
    let spec = format!("{},{}", spec_entry("new", 1), spec_entry("old", 2));
    let key_ring = KeyRing::parse(&spec).unwrap();
    assert_eq!(key_ring.active_key_id(), &key_id("new"));
    assert_eq!(key_ring.key_ids(), vec![key_id("new"), key_id("old")]);
    assert!(key_ring.contains(&key_id("old")));
    assert!(!key_ring.contains(&key_id("other")));
}

#[test]
fn parse_accepts_unpadded_base64_and_surrounding_whitespace() {
    let unpadded = format!("k1:{}", STANDARD_NO_PAD.encode([7u8; 32]));
    let padded = format!(" {} ,\n {}\n", spec_entry("k2", 7), unpadded);
    let key_ring = KeyRing::parse(&padded).unwrap();
    assert_eq!(key_ring.active_key_id(), &key_id("k2"));

    // Same key bytes under both ids: a value sealed with one opens under the other's ring.
    let aad = aad();
    let sealed = KeyRing::parse(&unpadded)
        .unwrap()
        .seal(&sample_secrets(), &aad)
        .unwrap();
    let opened = key_ring.open(&sealed, &aad).unwrap();
    assert_eq!(as_plain_map(&opened), as_plain_map(&sample_secrets()));
}

#[test]
fn parse_rejects_a_key_of_the_wrong_length_naming_the_key() {
    let short_key = STANDARD.encode([9u8; 16]);
    let err = KeyRing::parse(&format!("k1:{short_key}")).unwrap_err();
    assert_eq!(
        err,
        CryptoError::BadKeyMaterial("key 'k1' must be 32 bytes, got 16".to_owned())
    );
    assert_eq!(
        err.to_string(),
        "invalid master keys: key 'k1' must be 32 bytes, got 16"
    );
    assert!(!err.to_string().contains(&short_key));
    assert!(!format!("{err:?}").contains(&short_key));

    let long_key = STANDARD.encode([9u8; 48]);
    let err = KeyRing::parse(&format!("k1:{long_key}")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid master keys: key 'k1' must be 32 bytes, got 48"
    );
}

#[test]
fn parse_rejects_bad_base64_without_echoing_it() {
    let not_base64 = "AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let err = KeyRing::parse(&format!("{},k2:{not_base64}", spec_entry("k1", 1))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid master keys: key 'k2' is not valid standard base64"
    );
    assert!(!format!("{err:?}").contains(not_base64));

    // base64url is a different alphabet and must not slip through.
    let url_safe = URL_SAFE_NO_PAD.encode([0xfb_u8; 32]);
    assert!(url_safe.contains('-') || url_safe.contains('_'));
    let err = KeyRing::parse(&format!("k1:{url_safe}")).unwrap_err();
    assert!(matches!(err, CryptoError::BadKeyMaterial(_)));
}

#[test]
fn parse_rejects_duplicate_ids() {
    let spec = format!("{},{}", spec_entry("k1", 1), spec_entry("k1", 2));
    let err = KeyRing::parse(&spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid master keys: key id 'k1' appears more than once"
    );
}

#[test]
fn parse_rejects_empty_specs_and_entries() {
    for spec in ["", "   ", "\n"] {
        let err = KeyRing::parse(spec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid master keys: the key spec is empty, expected id:base64key[,id:base64key...]"
        );
    }
    let err = KeyRing::parse(&format!("{},", spec_entry("k1", 1))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid master keys: entry 2 of the key spec is empty"
    );
}

#[test]
fn parse_rejects_an_entry_without_colon_and_does_not_echo_it() {
    // A bare key, as if the id had been forgotten.
    let bare_key = STANDARD.encode([3u8; 32]);
    let err = KeyRing::parse(&format!("{},{bare_key}", spec_entry("k1", 1))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid master keys: entry 2 of the key spec has no ':' between key id and key"
    );
    assert!(!format!("{err} {err:?}").contains(&bare_key));
}

#[test]
fn parse_rejects_a_bad_key_id_by_position() {
    let err = KeyRing::parse(&spec_entry("k 1", 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key id: entry 1 of the key spec: character 2 of the key id is not one of \
         A-Z, a-z, 0-9, '_' or '-'"
    );
    let err = KeyRing::parse(&spec_entry("", 1)).unwrap_err();
    assert!(matches!(err, CryptoError::BadKeyId(_)));
}

#[test]
fn parse_errors_never_contain_key_material() {
    let good_key = STANDARD.encode([0x5a_u8; 32]);
    let short_key = STANDARD.encode([0xa5_u8; 31]);
    let specs = [
        format!("k1:{good_key},k1:{good_key}"),
        format!("k1:{good_key},k2:{short_key}"),
        format!("k1:{good_key},k2:{short_key}!"),
        format!("k1:{good_key},{good_key}"),
        format!("k1:{good_key},:{good_key}"),
    ];
    for spec in specs {
        let err = KeyRing::parse(&spec).unwrap_err();
        let printed = format!("{err} {err:?}");
        assert!(!printed.contains(&good_key), "{printed}");
        assert!(!printed.contains(&short_key), "{printed}");
    }
}

#[test]
fn new_requires_the_active_key_among_the_keys() {
    let err = KeyRing::new(key_id("k2"), vec![(key_id("k1"), [1; 32])]).unwrap_err();
    assert_eq!(err, CryptoError::UnknownKeyId(key_id("k2")));
    let err = KeyRing::new(key_id("k1"), Vec::new()).unwrap_err();
    assert_eq!(err, CryptoError::UnknownKeyId(key_id("k1")));
    let err = KeyRing::new(
        key_id("k1"),
        vec![(key_id("k1"), [1; 32]), (key_id("k1"), [2; 32])],
    )
    .unwrap_err();
    assert!(matches!(err, CryptoError::BadKeyMaterial(_)));
}

#[test]
fn new_and_parse_build_the_same_ring() {
    let from_new = KeyRing::new(
        key_id("k2"),
        vec![(key_id("k1"), [1; 32]), (key_id("k2"), [2; 32])],
    )
    .unwrap();
    let from_spec =
        KeyRing::parse(&format!("{},{}", spec_entry("k2", 2), spec_entry("k1", 1))).unwrap();
    assert_eq!(from_new.active_key_id(), from_spec.active_key_id());
    assert_eq!(from_new.key_ids(), from_spec.key_ids());

    let aad = aad();
    let sealed = from_new.seal(&sample_secrets(), &aad).unwrap();
    assert!(from_spec.open(&sealed, &aad).is_ok());
}

#[test]
fn for_testing_is_deterministic() {
    let aad = aad();
    let sealed = KeyRing::for_testing()
        .seal(&sample_secrets(), &aad)
        .unwrap();
    assert_eq!(sealed.key_id(), &key_id("test"));
    // A separately built test ring opens it: the key is a constant, not random per call.
    let opened = KeyRing::for_testing().open(&sealed, &aad).unwrap();
    assert_eq!(as_plain_map(&opened), as_plain_map(&sample_secrets()));
}

#[test]
fn generated_master_keys_parse_and_differ() {
    let first = generate_master_key();
    let second = generate_master_key();
    assert_eq!(first.len(), 44);
    assert_ne!(first, second);
    assert_eq!(STANDARD.decode(&first).unwrap().len(), 32);
    let key_ring = KeyRing::parse(&format!("fresh:{first}")).unwrap();
    assert_eq!(key_ring.active_key_id(), &key_id("fresh"));
}

#[test]
fn key_ring_debug_shows_ids_only() {
    let key = STANDARD.encode([0x42_u8; 32]);
    let key_ring =
        KeyRing::parse(&format!("k1:{key},k0:{}", STANDARD.encode([0x43_u8; 32]))).unwrap();
    let printed = format!("{key_ring:?}");
    assert_eq!(
        printed,
        r#"KeyRing { active: "k1", key_ids: ["k0", "k1"] }"#
    );
    assert!(!format!("{key_ring:#?}").contains(&key));
}

#[test]
fn clones_share_the_same_keys() {
    let key_ring = KeyRing::parse(&spec_entry("k1", 1)).unwrap();
    let aad = aad();
    let sealed = key_ring.clone().seal(&sample_secrets(), &aad).unwrap();
    assert!(key_ring.open(&sealed, &aad).is_ok());
}

// Seal and open

#[test]
fn seal_then_open_returns_the_same_secrets() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let sealed = key_ring.seal(&sample_secrets(), &aad).unwrap();
    let opened = key_ring.open(&sealed, &aad).unwrap();
    assert_eq!(as_plain_map(&opened), as_plain_map(&sample_secrets()));
}

#[test]
fn an_empty_map_round_trips() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let sealed =
        Sealed::from_bytes(&key_ring.seal(&SecretMap::new(), &aad).unwrap().to_bytes()).unwrap();
    assert!(key_ring.open(&sealed, &aad).unwrap().is_empty());
}

#[test]
fn bytes_round_trip_through_storage() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let sealed = key_ring.seal(&sample_secrets(), &aad).unwrap();
    let bytes = sealed.to_bytes();
    let parsed = Sealed::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, sealed);
    assert_eq!(parsed.to_bytes(), bytes);
    let opened = key_ring.open(&parsed, &aad).unwrap();
    assert_eq!(as_plain_map(&opened), as_plain_map(&sample_secrets()));
}

#[test]
fn stored_layout_is_version_key_id_nonce_ciphertext() {
    let key_ring = KeyRing::parse(&spec_entry("k-07", 1)).unwrap();
    let secrets = sample_secrets();
    let bytes = key_ring.seal(&secrets, &aad()).unwrap().to_bytes();
    assert_eq!(bytes[0], 1, "format version");
    assert_eq!(bytes[1], 4, "key id length");
    assert_eq!(&bytes[2..6], b"k-07");
    let plaintext_len = secrets.to_json_bytes().len();
    assert_eq!(bytes.len(), 2 + 4 + 12 + plaintext_len + TAG_LEN);
    assert_eq!(TAG_LEN, AES_256_GCM.tag_len());
}

#[test]
fn ciphertext_does_not_contain_the_plaintext() {
    let key_ring = KeyRing::for_testing();
    let bytes = key_ring.seal(&sample_secrets(), &aad()).unwrap().to_bytes();
    let needle = b"correct horse";
    assert!(!bytes.windows(needle.len()).any(|window| window == needle));
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let secrets = sample_secrets();
    let first = key_ring.seal(&secrets, &aad).unwrap();
    let second = key_ring.seal(&secrets, &aad).unwrap();
    assert_ne!(first.to_bytes(), second.to_bytes());
    // The 12 nonce bytes follow the 2-byte header and the 4-byte key id "test".
    assert_ne!(first.to_bytes()[6..18], second.to_bytes()[6..18]);

    let nonces: HashSet<Vec<u8>> = (0..200)
        .map(|_| key_ring.seal(&secrets, &aad).unwrap().to_bytes()[6..18].to_vec())
        .collect();
    assert_eq!(nonces.len(), 200);
}

#[test]
fn another_key_with_the_same_id_does_not_open() {
    let aad = aad();
    let sealed = KeyRing::parse(&spec_entry("k1", 1))
        .unwrap()
        .seal(&sample_secrets(), &aad)
        .unwrap();
    let impostor = KeyRing::parse(&spec_entry("k1", 2)).unwrap();
    assert_eq!(impostor.open(&sealed, &aad).unwrap_err(), CryptoError::Open);
}

#[test]
fn another_team_or_credential_does_not_open() {
    let key_ring = KeyRing::for_testing();
    let team_id = TeamId::new();
    let credential_id = CredentialId::new();
    let sealed = key_ring
        .seal(&sample_secrets(), &Aad::new(team_id, credential_id))
        .unwrap();

    let other_team = Aad::new(TeamId::new(), credential_id);
    let other_credential = Aad::new(team_id, CredentialId::new());
    // The same UUIDs in swapped roles must not open either.
    let swapped = Aad::new(
        TeamId::from_uuid(*credential_id.as_uuid()),
        CredentialId::from_uuid(*team_id.as_uuid()),
    );
    for wrong in [other_team, other_credential, swapped] {
        assert_eq!(
            key_ring.open(&sealed, &wrong).unwrap_err(),
            CryptoError::Open
        );
    }
    assert!(
        key_ring
            .open(&sealed, &Aad::new(team_id, credential_id))
            .is_ok()
    );
}

#[test]
fn an_oauth_app_secret_opens_only_as_that_app_of_that_team() {
    let key_ring = KeyRing::for_testing();
    let team_id = TeamId::new();
    let app_id = OAuthAppId::new();
    let sealed = key_ring
        .seal(&sample_secrets(), &Aad::for_oauth_app(team_id, app_id))
        .unwrap();
    // A credential with the app's very UUID, another app, another team: none opens it.
    let as_credential = Aad::new(team_id, CredentialId::from_uuid(*app_id.as_uuid()));
    let other_app = Aad::for_oauth_app(team_id, OAuthAppId::new());
    let other_team = Aad::for_oauth_app(TeamId::new(), app_id);
    for wrong in [as_credential, other_app, other_team] {
        assert_eq!(
            key_ring.open(&sealed, &wrong).unwrap_err(),
            CryptoError::Open
        );
    }
    assert!(
        key_ring
            .open(&sealed, &Aad::for_oauth_app(team_id, app_id))
            .is_ok()
    );
    // And a credential's ciphertext does not open as the app of the same UUID.
    let credential_id = CredentialId::from_uuid(*app_id.as_uuid());
    let credential_sealed = key_ring
        .seal(&sample_secrets(), &Aad::new(team_id, credential_id))
        .unwrap();
    assert_eq!(
        key_ring
            .open(&credential_sealed, &Aad::for_oauth_app(team_id, app_id))
            .unwrap_err(),
        CryptoError::Open
    );
}

#[test]
fn an_unknown_key_id_is_reported_by_name() {
    let aad = aad();
    let sealed = KeyRing::parse(&spec_entry("gone", 1))
        .unwrap()
        .seal(&sample_secrets(), &aad)
        .unwrap();
    let err = KeyRing::for_testing().open(&sealed, &aad).unwrap_err();
    assert_eq!(err, CryptoError::UnknownKeyId(key_id("gone")));
    assert_eq!(
        err.to_string(),
        "no master key with id 'gone' in the key ring"
    );
}

#[test]
fn every_flipped_byte_is_rejected() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let bytes = key_ring.seal(&sample_secrets(), &aad).unwrap().to_bytes();
    assert!(!rejected(&key_ring, &bytes, &aad));
    for position in 0..bytes.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut tampered = bytes.clone();
            tampered[position] ^= mask;
            assert!(
                rejected(&key_ring, &tampered, &aad),
                "flipping byte {position} with {mask:#04x} was not detected"
            );
        }
    }
}

#[test]
fn a_relabelled_key_id_does_not_open_even_with_the_same_key() {
    // Two ids for the same key bytes: rewriting the stored id must still be detected, because
    // the header is part of the associated data.
    let key_ring =
        KeyRing::parse(&format!("{},{}", spec_entry("aa", 1), spec_entry("bb", 1))).unwrap();
    let aad = aad();
    let mut bytes = key_ring.seal(&sample_secrets(), &aad).unwrap().to_bytes();
    assert_eq!(&bytes[2..4], b"aa");
    bytes[2..4].copy_from_slice(b"bb");
    let relabelled = Sealed::from_bytes(&bytes).unwrap();
    assert_eq!(relabelled.key_id(), &key_id("bb"));
    assert_eq!(
        key_ring.open(&relabelled, &aad).unwrap_err(),
        CryptoError::Open
    );
}

#[test]
fn every_truncation_is_rejected() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let bytes = key_ring.seal(&sample_secrets(), &aad).unwrap().to_bytes();
    for len in 0..bytes.len() {
        assert!(
            rejected(&key_ring, &bytes[..len], &aad),
            "truncated to {len} bytes"
        );
    }
}

#[test]
fn from_bytes_names_what_is_malformed() {
    let cases: [(&[u8], CryptoError); 7] = [
        (
            b"",
            CryptoError::MalformedCiphertext("sealed secrets are empty"),
        ),
        (b"\x02", CryptoError::UnsupportedFormatVersion(2)),
        (b"\x00rest", CryptoError::UnsupportedFormatVersion(0)),
        (
            b"\x01",
            CryptoError::MalformedCiphertext("sealed secrets end before the key id length"),
        ),
        (
            b"\x01\x04tes",
            CryptoError::MalformedCiphertext("sealed secrets end inside the key id"),
        ),
        (
            b"\x01\x00",
            CryptoError::MalformedCiphertext("sealed secrets hold an invalid key id"),
        ),
        (
            b"\x01\x04test0123456789a",
            CryptoError::MalformedCiphertext("sealed secrets end inside the nonce"),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            Sealed::from_bytes(bytes).unwrap_err(),
            expected,
            "{bytes:?}"
        );
    }
    let mut short_tag = b"\x01\x04test".to_vec();
    short_tag.extend_from_slice(&[0; 12 + TAG_LEN - 1]);
    assert_eq!(
        Sealed::from_bytes(&short_tag).unwrap_err(),
        CryptoError::MalformedCiphertext("sealed secrets are shorter than the authentication tag")
    );
    let mut bad_id = b"\x01\x04te t".to_vec();
    bad_id.extend_from_slice(&[0; 12 + TAG_LEN]);
    assert_eq!(
        Sealed::from_bytes(&bad_id).unwrap_err(),
        CryptoError::MalformedCiphertext("sealed secrets hold an invalid key id")
    );
    let mut long_id = vec![1, 33];
    long_id.extend_from_slice(&[b'a'; 33 + 12 + TAG_LEN]);
    assert!(Sealed::from_bytes(&long_id).is_err());
}

#[test]
fn sealed_debug_shows_key_id_and_length_only() {
    let key_ring = KeyRing::for_testing();
    let sealed = key_ring.seal(&sample_secrets(), &aad()).unwrap();
    let printed = format!("{sealed:?}");
    assert_eq!(
        printed,
        format!(
            r#"Sealed {{ key_id: "test", len: {} }}"#,
            sealed.to_bytes().len()
        )
    );
    assert!(!printed.contains("correct horse"));
    assert!(!printed.contains("password"));
}

#[test]
fn errors_print_no_secrets() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let sealed = key_ring.seal(&sample_secrets(), &aad).unwrap();
    let err = KeyRing::parse(&spec_entry("test", 9))
        .unwrap()
        .open(&sealed, &aad)
        .unwrap_err();
    let printed = format!("{err} {err:?}");
    assert_eq!(
        err.to_string(),
        "cannot open sealed secrets: wrong key, wrong associated data or tampered bytes"
    );
    assert!(!printed.contains("correct horse"));
}

// Reseal

#[test]
fn reseal_moves_a_value_to_the_active_key_and_keeps_the_secrets() {
    let old_ring = KeyRing::parse(&spec_entry("old", 1)).unwrap();
    let rotated = KeyRing::parse(&format!(
        "{},{}",
        spec_entry("new", 2),
        spec_entry("old", 1)
    ))
    .unwrap();
    let aad = aad();
    let sealed = old_ring.seal(&sample_secrets(), &aad).unwrap();

    // Before the reseal, the rotated ring still opens the old value.
    assert!(rotated.open(&sealed, &aad).is_ok());

    let resealed = rotated.reseal(&sealed, &aad).unwrap().unwrap();
    assert_eq!(resealed.key_id(), &key_id("new"));
    let opened = rotated.open(&resealed, &aad).unwrap();
    assert_eq!(as_plain_map(&opened), as_plain_map(&sample_secrets()));
    // The old key alone can no longer open it.
    assert_eq!(
        old_ring.open(&resealed, &aad).unwrap_err(),
        CryptoError::UnknownKeyId(key_id("new"))
    );
    // And once on the active key there is nothing left to do.
    assert!(rotated.reseal(&resealed, &aad).unwrap().is_none());
}

#[test]
fn reseal_returns_none_when_already_on_the_active_key() {
    let key_ring = KeyRing::for_testing();
    let aad = aad();
    let sealed = key_ring.seal(&sample_secrets(), &aad).unwrap();
    assert!(key_ring.reseal(&sealed, &aad).unwrap().is_none());
}

#[test]
fn reseal_fails_for_unknown_keys_and_wrong_aad() {
    let old_ring = KeyRing::parse(&spec_entry("old", 1)).unwrap();
    let aad = aad();
    let sealed = old_ring.seal(&sample_secrets(), &aad).unwrap();

    let err = KeyRing::for_testing().reseal(&sealed, &aad).unwrap_err();
    assert_eq!(err, CryptoError::UnknownKeyId(key_id("old")));

    let rotated = KeyRing::parse(&format!(
        "{},{}",
        spec_entry("new", 2),
        spec_entry("old", 1)
    ))
    .unwrap();
    let other_row = Aad::new(aad.team_id(), CredentialId::new());
    assert_eq!(
        rotated.reseal(&sealed, &other_row).unwrap_err(),
        CryptoError::Open
    );
}

// Tokens

#[test]
fn generated_tokens_have_the_prefix_and_256_bits() {
    let token = generate_token("cvt");
    let text = token.expose();
    let random_part = text.strip_prefix("cvt_").unwrap();
    assert_eq!(random_part.len(), TOKEN_ENCODED_LEN);
    assert_eq!(URL_SAFE_NO_PAD.decode(random_part).unwrap().len(), 32);
    assert_eq!(format!("{token:?}"), "SecretValue(••••)");

    let client_secret = generate_token("cvs");
    assert!(client_secret.expose().starts_with("cvs_"));
}

#[test]
fn generated_tokens_are_unique() {
    let tokens: HashSet<String> = (0..1000)
        .map(|_| generate_token("cvt").expose().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1000);
}

#[test]
fn token_hash_verifies_only_its_token() {
    let token = generate_token("cvt");
    let hash = TokenHash::of(token.expose());
    assert!(hash.verify(token.expose()));
    assert!(!hash.verify(generate_token("cvt").expose()));
    assert!(!hash.verify(""));
    let mut almost = token.expose().to_owned();
    almost.pop();
    assert!(!hash.verify(&almost));
}

#[test]
fn token_hash_is_sha256() {
    // SHA-256("abc") from FIPS 180-2.
    assert_eq!(
        TokenHash::of("abc").to_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn token_hash_hex_round_trips() {
    let hash = TokenHash::of(generate_token("cvt").expose());
    let hex = hash.to_hex();
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|digit| digit.is_ascii_hexdigit() && !digit.is_ascii_uppercase())
    );
    assert_eq!(TokenHash::from_hex(&hex).unwrap(), hash);
    assert_eq!(TokenHash::from_hex(&hex.to_uppercase()).unwrap(), hash);
    assert_eq!(format!("{hash:?}"), format!("TokenHash({hex})"));
}

#[test]
fn token_hash_rejects_malformed_hex() {
    let valid = TokenHash::of("abc").to_hex();
    let candidates = [
        String::new(),
        valid[..63].to_owned(),
        format!("{valid}0"),
        format!("{}g", &valid[..63]),
        format!("{}é", &valid[..62]),
        format!(" {}", &valid[..63]),
    ];
    for candidate in candidates {
        let err = TokenHash::from_hex(&candidate).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a token hash must be 64 hexadecimal digits",
            "{candidate:?}"
        );
    }
}

// Properties

fn secret_maps() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(any::<String>(), any::<String>(), 0..8)
}

fn to_secret_map(plain: &BTreeMap<String, String>) -> SecretMap {
    plain
        .iter()
        .map(|(name, value)| (name.clone(), SecretValue::new(value.clone())))
        .collect()
}

proptest! {
    #[test]
    fn any_secret_map_round_trips(plain in secret_maps(), team in any::<u128>(), credential in any::<u128>()) {
        let key_ring = KeyRing::for_testing();
        let aad = Aad::new(
            format!("{team:032x}").parse().unwrap(),
            format!("{credential:032x}").parse().unwrap(),
        );
        let sealed = key_ring.seal(&to_secret_map(&plain), &aad).unwrap();
        let parsed = Sealed::from_bytes(&sealed.to_bytes()).unwrap();
        let opened = key_ring.open(&parsed, &aad).unwrap();
        prop_assert_eq!(as_plain_map(&opened), plain);
    }

    #[test]
    fn from_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = Sealed::from_bytes(&bytes);
    }

    #[test]
    fn from_bytes_never_panics_on_plausible_headers(
        key_id_len in any::<u8>(),
        tail in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let mut bytes = vec![1, key_id_len];
        bytes.extend_from_slice(&tail);
        if let Ok(sealed) = Sealed::from_bytes(&bytes) {
            prop_assert_eq!(sealed.to_bytes(), bytes);
        }
    }

    #[test]
    fn any_single_byte_change_is_detected(
        plain in secret_maps(),
        position in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let key_ring = KeyRing::for_testing();
        let aad = aad();
        let mut bytes = key_ring.seal(&to_secret_map(&plain), &aad).unwrap().to_bytes();
        let position = position.index(bytes.len());
        bytes[position] ^= mask;
        prop_assert!(rejected(&key_ring, &bytes, &aad), "byte {} ^ {:#04x} not detected", position, mask);
    }
}
