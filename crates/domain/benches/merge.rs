//! Merge + validate of a typical PATCH.

use std::hint::black_box;

use credvault_domain::patch::{CredentialPatch, apply_patch};
use credvault_domain::testing::stored_postgres_credential;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn typical_patch(c: &mut Criterion) {
    let (credential, secrets) = stored_postgres_credential();
    let body = json!({
        "name": "Warehouse (EU)",
        "metadata": {"owner": "data-platform", "tier": 1},
        "extra_data": {"host": "db2.internal", "port": 6432, "password": "••••", "application_name": "etl"}
    });
    c.bench_function("parse + merge + validate (non-secret patch)", |bencher| {
        bencher.iter(|| {
            let patch = CredentialPatch::from_json(black_box(body.clone())).ok();
            patch.and_then(|patch| apply_patch(&credential, None, &patch).ok())
        });
    });
    let rotation =
        CredentialPatch::from_json(json!({"extra_data": {"password": "rotated-password"}}));
    c.bench_function("merge + validate (secret rotation)", |bencher| {
        bencher.iter(|| {
            rotation
                .as_ref()
                .ok()
                .and_then(|patch| apply_patch(black_box(&credential), Some(&secrets), patch).ok())
        });
    });
}

criterion_group!(benches, typical_patch);
criterion_main!(benches);
