//! Test keys that sign like Gatehouse does, and a JWKS server on 127.0.0.1 that counts
//! its fetches and can be taken down or given new keys.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

pub const ISSUER: &str = "https://auth.example.com";

/// An RSA-2048 signing key with a `kid`.
pub struct Signer {
    pub kid: String,
    key: RsaKeyPair,
}

impl Signer {
    pub fn generate(kid: &str) -> Signer {
        Signer {
            kid: kid.to_string(),
            key: RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
        }
    }

    pub fn jwk(&self) -> Value {
        let public = self.key.public_key();
        json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    pub fn pem(&self) -> String {
        let der = self.key.public_key().as_der().unwrap();
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// Signs `header` (as given) and `claims` with RS256.
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A Gatehouse-shaped session token, valid around `now`, with `extra` claims merged in.
    pub fn token(&self, now: i64, extra: Value) -> String {
        let mut claims = json!({
            "iss": ISSUER, "v": 2, "sub": "user_1", "sid": "sess_1",
            "azp": "https://app.example.com", "iat": now, "nbf": now - 5, "exp": now + 60,
            "jti": format!("{now}-{}", rand_suffix()), "sts": "active", "fva": [0, -1],
        });
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        self.sign_raw(
            &json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}),
            &claims,
        )
    }
}

fn rand_suffix() -> u64 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) as u64
}

/// A JWKS endpoint on 127.0.0.1.
#[derive(Clone)]
pub struct JwksServer {
    pub url: String,
    pub fetches: Arc<AtomicUsize>,
    pub down: Arc<AtomicBool>,
    keys: Arc<Mutex<Vec<Value>>>,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> JwksServer {
        let fetches = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let keys = Arc::new(Mutex::new(keys));
        let (f, d, k) = (fetches.clone(), down.clone(), keys.clone());
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let (f, d, k) = (f.clone(), d.clone(), k.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    if d.load(Ordering::SeqCst) {
                        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                    }
                    let keys = k.lock().unwrap().clone();
                    (StatusCode::OK, json!({ "keys": keys }).to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        JwksServer {
            url,
            fetches,
            down,
            keys,
        }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
