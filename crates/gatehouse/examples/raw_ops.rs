//! The physical limits the load benchmarks are compared against: how many raw crypto
//! operations one thread of this machine does per second.
//!
//! ```text
//! taskset -c 1 cargo run --release --example raw_ops -- [SECONDS_PER_OP [OP...]]
//! ```
//!
//! Prints one `name ops_per_wall_second ops_per_cpu_second` line per operation (all of
//! them, or only the OPs named); `bench/run.sh` reads them. The second rate counts only
//! the time this process was on the CPU, so it does not drop when something else shares
//! the core. The operations:
//! - `rsa2048_sign`: RSASSA-PKCS1-v1_5 SHA-256 with a parsed aws-lc-rs RSA-2048 key pair
//!   over a token-sized signing input (what RS256 token minting needs);
//! - `ed25519_sign`: the same with Ed25519 (EdDSA);
//! - `argon2id_verify`: `verify_password` of an m=19456, t=2, p=1 digest (what a
//!   password sign-in does);
//! - `argon2id_hash`: `hash_password` (what sign-up and password changes do).

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use gatehouse::crypto::{hash_password, verify_password, DigestKind};

/// A signing input as long as a real session token's `header.payload` (~430 bytes).
const SIGNING_INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiIsImtpZCI6Imluc19rZXlfMnJXN3FKSzRhQlZ6ZDBTZkxHcE1OVGhYeVo5IiwidHlwIjoiSldUIn0.\
eyJhenAiOiJodHRwOi8vMTI3LjAuMC4xOjMwMDAiLCJleHAiOjE3MzAwMDAwNjAsImZ2YSI6WzAsLTFdLCJpYXQiOjE3MzAwMDAwMDAsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6MzAwMCIsImp0aSI6IjRCbW5hN1BxUnN0VXZXeFl6MDEyIiwibmJmIjoxNzI5OTk5OTk1LCJzaWQiOiJzZXNzXzJyVzdxSks0YUJWemQwU2ZMR3BNTlRoWHlaOSIsInN0cyI6ImFjdGl2ZSIsInN1YiI6InVzZXJfMnJXN3FKSzRhQlZ6ZDBTZkxHcE1OVGhYeVo5IiwidiI6Mn0";

/// CPU time of this process so far (user + system), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is the 1st, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// Runs `op` repeatedly for about `budget` (after a short warm-up); returns ops per
/// wall-clock second and per CPU second.
fn rate(budget: Duration, mut op: impl FnMut()) -> (f64, f64) {
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        op();
    }
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let mut n: u64 = 0;
    while started.elapsed() < budget {
        op();
        n += 1;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;
    (n as f64 / wall, n as f64 / cpu)
}

fn report(name: &str, (wall, cpu): (f64, f64)) {
    println!("{name} {wall:.2} {cpu:.2}");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let only: Vec<String> = args.collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let budget = Duration::from_secs_f64(seconds);
    let rng = SystemRandom::new();

    if wanted("rsa2048_sign") {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let mut signature = vec![0u8; rsa.public_modulus_len()];
        let r = rate(budget, || {
            rsa.sign(
                &RSA_PKCS1_SHA256,
                &rng,
                black_box(SIGNING_INPUT),
                &mut signature,
            )
            .expect("RSA signing");
            black_box(&signature);
        });
        report("rsa2048_sign", r);
    }

    if wanted("ed25519_sign") {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key generation");
        let ed = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key");
        let r = rate(budget, || {
            black_box(ed.sign(black_box(SIGNING_INPUT)));
        });
        report("ed25519_sign", r);
    }

    let password = "correct horse battery staple";
    if wanted("argon2id_verify") {
        let digest = hash_password(password);
        let r = rate(budget, || {
            assert!(verify_password(
                black_box(password),
                DigestKind::Argon2id,
                &digest
            ));
        });
        report("argon2id_verify", r);
    }

    if wanted("argon2id_hash") {
        let r = rate(budget, || {
            black_box(hash_password(black_box(password)));
        });
        report("argon2id_hash", r);
    }
}
