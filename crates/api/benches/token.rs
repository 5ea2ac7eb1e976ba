//! Bearer token verification on the hot path: hash the presented token (SHA-256, hex) and find
//! its principal in the token cache, as `auth::Authenticated` does for every request.

use std::hint::black_box;
use std::time::Duration;

use credvault_api::auth::TokenCache;
use credvault_crypto::{TokenHash, generate_token};
use credvault_domain::ids::PrincipalId;
use credvault_domain::principal::{Principal, PrincipalKind};
use criterion::{Criterion, criterion_group, criterion_main};

fn token_verification(c: &mut Criterion) {
    let cache = TokenCache::new(Duration::from_secs(3600));
    // A cache holding a realistic number of other tokens beside the one presented.
    for _ in 0..1_000 {
        let other = generate_token("cvu");
        let principal = Principal {
            id: PrincipalId::new(),
            kind: PrincipalKind::User,
            service_account: None,
        };
        cache.put(
            TokenHash::of(other.expose()).to_hex(),
            principal,
            None,
            cache.generation(),
        );
    }
    let token = generate_token("cvu");
    let principal = Principal {
        id: PrincipalId::new(),
        kind: PrincipalKind::User,
        service_account: None,
    };
    cache.put(
        TokenHash::of(token.expose()).to_hex(),
        principal,
        None,
        cache.generation(),
    );

    let mut group = c.benchmark_group("token");
    group.bench_function("hash", |b| {
        b.iter(|| TokenHash::of(black_box(token.expose())).to_hex())
    });
    group.bench_function("hash_and_cache_hit", |b| {
        b.iter(|| cache.get(&TokenHash::of(black_box(token.expose())).to_hex()))
    });
    group.finish();
}

criterion_group!(benches, token_verification);
criterion_main!(benches);
