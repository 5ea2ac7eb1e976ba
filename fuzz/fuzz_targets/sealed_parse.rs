//! Fuzzes ciphertext parsing and opening: arbitrary bytes must yield an error, never a panic,
//! and never open under the wrong associated data.

#![no_main]

use credvault_crypto::{Aad, KeyRing, Sealed};
use credvault_domain::ids::{CredentialId, TeamId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sealed) = Sealed::from_bytes(data) else {
        return;
    };
    let ring = KeyRing::for_testing();
    let aad = Aad::new(TeamId::new(), CredentialId::new());
    // Random bytes cannot carry a valid tag for fresh ids.
    assert!(ring.open(&sealed, &aad).is_err());
    assert_eq!(Sealed::from_bytes(&sealed.to_bytes()).ok(), Some(sealed));
});
