//! Session-token verification rates, as ratios measured in one run on one core:
//!
//! - fresh tokens (distinct, never seen, the cache on) through the whole `verify_token` path vs the raw RSA-2048 verify of the
//!   same crypto library (aws-lc-rs), Node `jose` and Python `PyJWT` on the same token;
//! - repeated tokens (the cache) vs Node `jose`;
//! - allocations per verification in steady state (a counting allocator).
//!
//! Run with `bench/sdk.sh` (pins everything to one core and installs the peers), or
//! `cargo bench -p gatehouse-sdk --bench verify`. `BENCH_SECONDS` sets each round's length.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use gatehouse_sdk::{Algorithm, Verifier};
use serde_json::json;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ISSUER: &str = "https://auth.example.com";

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.05 } else { 2.0 });
    let rounds = if quick { 1 } else { 3 };

    let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let (token, jwk, pem) = gatehouse_shaped_token(&key);
    println!("token: RS256, {} bytes", token.len());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Fresh tokens: a verifier with its cache on (as deployed) but smaller than the set
    // of distinct tokens it cycles through, so every call misses, hashes, verifies and
    // inserts (evicting).
    let fresh = Verifier::builder(ISSUER)
        .public_key_pem(&pem, Algorithm::RS256)
        .authorized_parties(["https://app.example.com"])
        .cache_capacity(64)
        .build()
        .unwrap();
    let distinct: Vec<String> = (0..512).map(|i| sign_variant(&key, &token, i)).collect();
    let cached = Verifier::builder(ISSUER)
        .public_key_pem(&pem, Algorithm::RS256)
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    let raw_key = ParsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA256,
        key.public_key().as_der().unwrap().as_ref(),
    )
    .unwrap();
    let (signing_input, signature_b64) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();

    let mut best = [0f64; 5];
    for _ in 0..rounds {
        let raw = rate(seconds, || {
            raw_key
                .verify_sig(signing_input.as_bytes(), &signature)
                .unwrap()
        });
        let mut next = 0;
        let fresh_rate = runtime.block_on(async {
            rate_async(seconds, || {
                next = (next + 1) % distinct.len();
                let token = &distinct[next];
                let fresh = &fresh;
                async move { fresh.verify_token(token).await.unwrap() }
            })
            .await
        });
        let cached_rate = runtime.block_on(async {
            rate_async(seconds, || async {
                cached.verify_token(&token).await.unwrap()
            })
            .await
        });
        let jose = peer("node", "jose_verify.mjs", &jwk, &token, seconds);
        let pyjwt = peer(python(), "pyjwt_verify.py", &jwk, &token, seconds);
        for (slot, value) in best
            .iter_mut()
            .zip([raw, fresh_rate, cached_rate, jose, pyjwt])
        {
            *slot = slot.max(value);
        }
    }
    let [raw, fresh_rate, cached_rate, jose, pyjwt] = best;

    println!("\nverifications per second on one core (best of {rounds} rounds of {seconds} s):");
    println!("  raw aws-lc-rs RSA-2048 verify   {raw:>12.0}");
    println!("  verify_token, fresh token       {fresh_rate:>12.0}");
    println!("  verify_token, repeated token    {cached_rate:>12.0}");
    println!("  Node jose jwtVerify             {jose:>12.0}");
    println!("  Python PyJWT jwt.decode         {pyjwt:>12.0}");
    println!("\nratios (target):");
    check("fresh / raw RSA verify", fresh_rate / raw, 0.85);
    check("fresh / Node jose", fresh_rate / jose, 3.0);
    check("fresh / PyJWT", fresh_rate / pyjwt, 3.0);
    check("cached / Node jose", cached_rate / jose, 30.0);

    // Steady state: verify many times, then count what another batch allocates and
    // how many bytes stay allocated afterwards.
    let batch = if quick { 100 } else { 100_000 };
    for (name, verifier) in [("fresh", &fresh), ("repeated", &cached)] {
        let tokens: &[String] = if name == "fresh" {
            &distinct
        } else {
            std::slice::from_ref(&token)
        };
        let (allocations, growth) = runtime.block_on(async {
            for i in 0..batch {
                verifier
                    .verify_token(&tokens[i % tokens.len()])
                    .await
                    .unwrap();
            }
            let (count0, live0) = (
                ALLOCATIONS.load(Ordering::Relaxed),
                LIVE_BYTES.load(Ordering::Relaxed),
            );
            for i in 0..batch {
                verifier
                    .verify_token(&tokens[i % tokens.len()])
                    .await
                    .unwrap();
            }
            (
                ALLOCATIONS.load(Ordering::Relaxed) - count0,
                LIVE_BYTES.load(Ordering::Relaxed) as i64 - live0 as i64,
            )
        });
        println!(
            "  allocations per {name} verification: {:.1}; live bytes after {batch} more: {growth:+}",
            allocations as f64 / batch as f64
        );
        if name == "repeated" {
            assert_eq!(allocations, 0, "a cache hit allocates nothing");
        }
        assert!(
            growth <= 4096,
            "memory grows in steady state: {growth} bytes"
        );
    }
}

fn check(name: &str, ratio: f64, target: f64) {
    let verdict = if ratio.is_nan() {
        "not measured"
    } else if ratio >= target {
        "PASS"
    } else {
        "FAIL"
    };
    println!("  {name:<26} {ratio:>7.2}×  (≥ {target}×)  {verdict}");
}

fn rate(seconds: f64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut count = 0u64;
    while Instant::now() < end {
        for _ in 0..100 {
            f();
        }
        count += 100;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

async fn rate_async<F, Fut>(seconds: f64, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future,
{
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut count = 0u64;
    while Instant::now() < end {
        for _ in 0..100 {
            f().await;
        }
        count += 100;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// A peer library's rate from its script in `benches/peers`, or NaN when it cannot run.
fn peer(program: &str, script: &str, jwk: &str, token: &str, seconds: f64) -> f64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers");
    let output = Command::new(program)
        .arg(dir.join(script))
        .args([jwk, ISSUER, token, &seconds.to_string()])
        .output();
    match output {
        Ok(out) if out.status.success() => serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["rate"].as_f64())
            .unwrap_or(f64::NAN),
        Ok(out) => {
            eprintln!("{script}: {}", String::from_utf8_lossy(&out.stderr).trim());
            f64::NAN
        }
        Err(e) => {
            eprintln!("{script}: cannot run {program}: {e}");
            f64::NAN
        }
    }
}

/// Debian's python3, where `python3-jwt` lives, ahead of any other on the PATH.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// The same token with another `jti` (every session token has its own), re-signed.
fn sign_variant(key: &RsaKeyPair, token: &str, i: usize) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap())
        .unwrap()
        .replace("0f3c2a9e6b1d4c7a8e5f", &format!("{i:020}"));
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    sign(key, input)
}

/// `input` with its RS256 signature appended.
fn sign(key: &RsaKeyPair, input: String) -> String {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(&signature))
}

/// A token shaped like a Gatehouse session token (same header and claims), its JWK and
/// its PEM public key.
fn gatehouse_shaped_token(key: &RsaKeyPair) -> (String, String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header =
        json!({"alg": "RS256", "kid": "ins_key_2Jp3bDkQm1tTq8yV4XcW0zN5aRf", "typ": "JWT"});
    let claims = json!({
        "azp": "https://app.example.com", "exp": now + 3600, "fva": [0, -1],
        "iat": now, "iss": ISSUER, "jti": "0f3c2a9e6b1d4c7a8e5f",
        "nbf": now - 5, "sid": "sess_2Jp3bF8Wc1xQm7tTq8yV4XcW0zN", "sts": "active",
        "sub": "user_2Jp3bDkQm1tTq8yV4XcW0zN5aRf", "v": 2, "role": "admin",
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let token = sign(key, input);
    let public = key.public_key();
    let jwk = json!({
        "kty": "RSA", "alg": "RS256", "kid": "ins_key_2Jp3bDkQm1tTq8yV4XcW0zN5aRf",
        "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    })
    .to_string();
    let der = public.as_der().unwrap();
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    (token, jwk, pem)
}
