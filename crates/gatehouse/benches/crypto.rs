//! Micro-benchmarks of the crypto on Gatehouse's hot paths, each next to its raw
//! primitive so the overhead of our layer shows as a ratio:
//!
//! - `rs256/raw_sign` vs `rs256/sign_compact`: an aws-lc-rs RSA-2048 PKCS#1 signature
//!   over a token-sized input vs `SigningKey::sign_compact` of realistic session claims
//!   (JSON encoding, base64 and the signature);
//! - `eddsa/raw_sign` vs `eddsa/sign_compact`: the same with Ed25519;
//! - `argon2id/hash_password` and `argon2id/verify_password` (m=19456, t=2, p=1).
//!
//! ```text
//! cargo bench -p gatehouse --bench crypto
//! ```

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse::crypto::{hash_password, verify_password, Algorithm, DigestKind, SigningKey};
use serde::Serialize;

/// The shape of the claims `domain::tokens::mint` signs (same fields, same order).
#[derive(Serialize)]
struct SessionClaims<'a> {
    azp: Option<&'a str>,
    exp: i64,
    fva: [i64; 2],
    iat: i64,
    iss: &'a str,
    jti: String,
    nbf: i64,
    sid: &'a str,
    sts: &'static str,
    sub: &'a str,
    v: u8,
}

fn claims() -> SessionClaims<'static> {
    let iat = 1_730_000_000;
    SessionClaims {
        azp: Some("https://app.example.com"),
        exp: iat + 60,
        fva: [0, -1],
        iat,
        iss: "https://auth.example.com",
        jti: gatehouse::crypto::random_base62(20),
        nbf: iat - 5,
        sid: "sess_2rW7qJK4aBVzd0SfLGpMNThXyZ9",
        sts: "active",
        sub: "user_2rW7qJK4aBVzd0SfLGpMNThXyZ9",
        v: 2,
    }
}

/// `header.payload` of a real-looking token: what the raw signature is computed over.
fn signing_input(key: &SigningKey) -> Vec<u8> {
    let token = key.sign_compact(&claims()).expect("sign");
    let end = token.rfind('.').expect("compact JWS");
    token.as_bytes()[..end].to_vec()
}

fn rs256(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::RS256, "bench".into()).expect("RSA key");
    let raw = RsaKeyPair::from_pkcs8(&key.pkcs8_der()).expect("RSA PKCS#8");
    let input = signing_input(&key);
    let rng = SystemRandom::new();
    let mut signature = vec![0u8; raw.public_modulus_len()];
    let claims = claims();
    let mut group = c.benchmark_group("rs256");
    group.bench_function("raw_sign", |b| {
        b.iter(|| {
            raw.sign(&RSA_PKCS1_SHA256, &rng, black_box(&input), &mut signature)
                .expect("sign");
            black_box(&signature);
        })
    });
    group.bench_function("sign_compact", |b| {
        b.iter(|| black_box(key.sign_compact(black_box(&claims)).expect("sign")))
    });
    group.finish();
}

fn eddsa(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::EdDSA, "bench".into()).expect("Ed25519 key");
    let raw = Ed25519KeyPair::from_pkcs8(&key.pkcs8_der()).expect("Ed25519 PKCS#8");
    let input = signing_input(&key);
    let claims = claims();
    let mut group = c.benchmark_group("eddsa");
    group.bench_function("raw_sign", |b| {
        b.iter(|| black_box(raw.sign(black_box(&input))))
    });
    group.bench_function("sign_compact", |b| {
        b.iter(|| black_box(key.sign_compact(black_box(&claims)).expect("sign")))
    });
    group.finish();
}

fn argon2id(c: &mut Criterion) {
    let password = "correct horse battery staple";
    let digest = hash_password(password);
    let mut group = c.benchmark_group("argon2id");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("hash_password", |b| {
        b.iter(|| black_box(hash_password(black_box(password))))
    });
    group.bench_function("verify_password", |b| {
        b.iter(|| {
            assert!(verify_password(
                black_box(password),
                DigestKind::Argon2id,
                &digest
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, rs256, eddsa, argon2id);
criterion_main!(benches);
