//! Seal and open of a secret map of about 1 KiB: a password, a PEM private key and a token.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use credvault_crypto::{Aad, KeyRing, Sealed};
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_domain::secret::SecretMap;

/// An SSH-style private key of about 900 bytes. Not a real key: only its size and shape matter.
fn pem_private_key() -> String {
    let body_line = "MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAq7BFUpkGp3+XQ";
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for _ in 0..13 {
        pem.push_str(body_line);
        pem.push_str("==\n");
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

fn secret_map() -> SecretMap {
    let mut secrets = SecretMap::new();
    secrets.insert("password".to_owned(), "correct horse battery staple".into());
    secrets.insert("private_key".to_owned(), pem_private_key().as_str().into());
    secrets.insert(
        "api_token".to_owned(),
        "cvt_3q2-7wXkTz0rQm9bV1sLpA8nYhG4fJcEuK6dRi5oW_M".into(),
    );
    secrets
}

fn seal_and_open(c: &mut Criterion) {
    let key_ring = KeyRing::for_testing();
    let aad = Aad::new(TeamId::new(), CredentialId::new());
    let secrets = secret_map();
    let plaintext_len = secrets.to_json_bytes().len();

    let mut group = c.benchmark_group("secret_map_1k");
    group.throughput(Throughput::Bytes(plaintext_len as u64));

    group.bench_function("seal", |b| {
        b.iter(|| key_ring.seal(black_box(&secrets), black_box(&aad)))
    });

    let Ok(sealed) = key_ring.seal(&secrets, &aad) else {
        panic!("sealing the bench map failed");
    };
    group.bench_function("open", |b| {
        b.iter(|| key_ring.open(black_box(&sealed), black_box(&aad)))
    });

    // What a read path does with a stored row: parse the bytes, then open.
    let stored = sealed.to_bytes();
    group.bench_function("from_bytes_and_open", |b| {
        b.iter(|| {
            Sealed::from_bytes(black_box(&stored)).and_then(|sealed| key_ring.open(&sealed, &aad))
        })
    });
    group.finish();
}

criterion_group!(benches, seal_and_open);
criterion_main!(benches);
