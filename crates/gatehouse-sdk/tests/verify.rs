//! Every way a token is refused, each with its own typed error, and how keys are fetched:
//! once, refetched once for an unknown `kid`, kept while the JWKS is down.

mod support;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_sdk::{Algorithm, Error, Verifier, MAX_TOKEN_LEN};
use serde_json::json;
use support::{now, JwksServer, Signer, ISSUER};

fn pem_verifier(signer: &Signer) -> Verifier {
    Verifier::builder(ISSUER)
        .public_key_pem(signer.pem(), Algorithm::RS256)
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap()
}

/// Replaces one dot-separated part of a token.
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

#[tokio::test]
async fn a_valid_token_verifies_with_a_pem_key() {
    let signer = Signer::generate("k1");
    let verifier = pem_verifier(&signer);
    let claims = verifier
        .verify_token(&signer.token(now(), json!({"role": "admin"})))
        .await
        .unwrap();
    assert_eq!(claims.sub, "user_1");
    assert_eq!(claims.sid.as_deref(), Some("sess_1"));
    assert_eq!(claims.get("role"), Some(&json!("admin")));
}

#[tokio::test]
async fn each_refusal_has_its_own_error() {
    let signer = Signer::generate("k1");
    let verifier = pem_verifier(&signer);
    let now = now();
    let good = signer.token(now, json!({}));
    let parts: Vec<&str> = good.split('.').collect();

    // Tampered payload: another user, same signature.
    let forged_payload = URL_SAFE_NO_PAD.encode(
        String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap())
            .unwrap()
            .replace("user_1", "user_2"),
    );
    // Tampered header: a different kid text, same signature.
    let forged_header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": "k1", "typ": "JWS"}).to_string());
    // `alg: none` with an empty signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string()),
        parts[1]
    );
    // HS256 keyed with the public key's bytes: the classic algorithm confusion.
    let hs256 = {
        use aws_lc_rs::hmac;
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "k1"}).to_string());
        let input = format!("{header}.{}", parts[1]);
        let key = hmac::Key::new(hmac::HMAC_SHA256, signer.pem().as_bytes());
        let tag = hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let cases: Vec<(&str, String, Error)> = vec![
        (
            "tampered payload",
            with_part(&good, 1, &forged_payload),
            Error::InvalidSignature,
        ),
        (
            "tampered header",
            with_part(&good, 0, &forged_header),
            Error::InvalidSignature,
        ),
        (
            "tampered signature",
            with_part(&good, 2, &URL_SAFE_NO_PAD.encode([7u8; 256])),
            Error::InvalidSignature,
        ),
        (
            "truncated",
            format!("{}.{}", parts[0], parts[1]),
            Error::Malformed("expected three dot-separated parts"),
        ),
        (
            "oversized",
            format!("{}.{}.{}", parts[0], "A".repeat(MAX_TOKEN_LEN), parts[2]),
            Error::TooLarge,
        ),
        ("alg none", none, Error::AlgorithmNotAllowed("none".into())),
        (
            "HS256 with the public key",
            hs256,
            Error::AlgorithmNotAllowed("HS256".into()),
        ),
        (
            "expired",
            signer.token(now - 3600, json!({})),
            Error::Expired,
        ),
        (
            "nbf in the future",
            signer.token(now, json!({"nbf": now + 60})),
            Error::NotYetValid,
        ),
        (
            "wrong iss",
            signer.token(now, json!({"iss": "https://evil.example.com"})),
            Error::InvalidIssuer,
        ),
        (
            "azp not authorized",
            signer.token(now, json!({"azp": "https://evil.example.com"})),
            Error::UnauthorizedParty,
        ),
        (
            "header not base64",
            with_part(&good, 0, "!!!"),
            Error::Malformed("header is not base64url"),
        ),
        (
            "signature not base64",
            with_part(&good, 2, "!!!"),
            Error::Malformed("signature is not base64url"),
        ),
        // The payload is decoded only once the signature holds.
        (
            "payload not base64",
            with_part(&good, 1, "!!!"),
            Error::InvalidSignature,
        ),
        (
            "header not JSON",
            with_part(&good, 0, &URL_SAFE_NO_PAD.encode("nope")),
            Error::Malformed("header is not a JSON object"),
        ),
        (
            "no sub",
            signer.token(now, json!({"sub": null})),
            Error::InvalidClaims("sub, iss or exp is missing or mistyped"),
        ),
    ];
    for (what, token, expected) in cases {
        let got = verifier.verify_token(&token).await;
        assert_eq!(got.err(), Some(expected), "{what}");
    }
    // The good one still verifies after all that.
    assert!(verifier.verify_token(&good).await.is_ok());
}

#[tokio::test]
async fn clock_skew_is_honoured_both_ways() {
    let signer = Signer::generate("k1");
    let verifier = pem_verifier(&signer);
    let now = now();
    // Expired 3 s ago, nbf 3 s ahead: within the default 5 s.
    let token = signer.token(now, json!({"exp": now - 3, "nbf": now + 3}));
    assert!(verifier.verify_token(&token).await.is_ok());
    let strict = Verifier::builder(ISSUER)
        .public_key_pem(signer.pem(), Algorithm::RS256)
        .clock_skew(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        strict.verify_token(&token).await.err(),
        Some(Error::Expired)
    );
}

#[tokio::test]
async fn an_algorithm_off_the_allow_list_is_refused() {
    let signer = Signer::generate("k1");
    let verifier = Verifier::builder(ISSUER)
        .public_key_pem(signer.pem(), Algorithm::RS256)
        .algorithms([Algorithm::EdDSA])
        .build();
    // A PEM key for an algorithm that is not allowed is useless, but not a build error.
    let verifier = verifier.unwrap();
    assert_eq!(
        verifier
            .verify_token(&signer.token(now(), json!({})))
            .await
            .err(),
        Some(Error::AlgorithmNotAllowed("RS256".into()))
    );
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_fails_without_hammering() {
    let known = Signer::generate("k1");
    let stranger = Signer::generate("k2");
    let jwks = JwksServer::start(vec![known.jwk()]).await;
    let verifier = Verifier::builder(ISSUER)
        .jwks_url(&jwks.url)
        .jwks_refetch_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    verifier
        .verify_token(&known.token(now(), json!({})))
        .await
        .unwrap();
    assert_eq!(jwks.fetches(), 1, "fetched once, then cached");
    for _ in 0..20 {
        let token = stranger.token(now(), json!({}));
        assert_eq!(
            verifier.verify_token(&token).await.err(),
            Some(Error::UnknownKey)
        );
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "one refetch for the unknown kid, not twenty"
    );
    // Concurrent unknown kids after the interval share one fetch as well.
    let quick = Verifier::builder(ISSUER)
        .jwks_url(&jwks.url)
        .jwks_refetch_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    quick
        .verify_token(&known.token(now(), json!({})))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let before = jwks.fetches();
    let attempts = (0..10).map(|_| {
        let (quick, token) = (quick.clone(), stranger.token(now(), json!({})));
        tokio::spawn(async move { quick.verify_token(&token).await })
    });
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap().err(), Some(Error::UnknownKey));
    }
    assert_eq!(jwks.fetches(), before + 1);
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_jwks_is_down_and_new_keys_are_picked_up() {
    let first = Signer::generate("k1");
    let jwks = JwksServer::start(vec![first.jwk()]).await;
    let verifier = Verifier::builder(ISSUER)
        .jwks_url(&jwks.url)
        .jwks_refetch_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    verifier
        .verify_token(&first.token(now(), json!({})))
        .await
        .unwrap();

    jwks.down.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        assert!(verifier
            .verify_token(&first.token(now(), json!({})))
            .await
            .is_ok());
    }
    // A rotation while the JWKS is down: the new kid is unknown, the old one still works.
    let second = Signer::generate("k2");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        verifier
            .verify_token(&second.token(now(), json!({})))
            .await
            .err(),
        Some(Error::UnknownKey)
    );
    assert!(verifier
        .verify_token(&first.token(now(), json!({})))
        .await
        .is_ok());

    // The JWKS is back with the new key: picked up without a restart.
    jwks.set_keys(vec![second.jwk(), first.jwk()]);
    jwks.down.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(verifier
        .verify_token(&second.token(now(), json!({})))
        .await
        .is_ok());
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_typed_error_and_is_not_hammered() {
    let jwks = JwksServer::start(vec![]).await;
    jwks.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let verifier = Verifier::builder(ISSUER)
        .jwks_url(&jwks.url)
        .build()
        .unwrap();
    let token = Signer::generate("k1").token(now(), json!({}));
    for _ in 0..10 {
        assert!(matches!(
            verifier.verify_token(&token).await,
            Err(Error::KeysUnavailable(_))
        ));
    }
    assert_eq!(jwks.fetches(), 1);
    assert!(verifier.prefetch().await.is_err());
}

#[tokio::test]
async fn the_background_refresh_picks_up_new_keys() {
    let first = Signer::generate("k1");
    let second = Signer::generate("k2");
    let jwks = JwksServer::start(vec![first.jwk()]).await;
    let verifier = Verifier::builder(ISSUER)
        .jwks_url(&jwks.url)
        .jwks_refetch_interval(Duration::from_secs(3600))
        .jwks_refresh_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    verifier.prefetch().await.unwrap();
    verifier
        .verify_token(&first.token(now(), json!({})))
        .await
        .unwrap();
    jwks.set_keys(vec![second.jwk()]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(jwks.fetches() >= 3, "{}", jwks.fetches());
    assert!(verifier
        .verify_token(&second.token(now(), json!({})))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let signer = Signer::generate("k1");
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(now()));
    let c = clock.clone();
    let verifier = Verifier::builder(ISSUER)
        .public_key_pem(signer.pem(), Algorithm::RS256)
        .clock(move || c.load(std::sync::atomic::Ordering::SeqCst))
        .build()
        .unwrap();
    let token = signer.token(clock.load(std::sync::atomic::Ordering::SeqCst), json!({}));
    let first = verifier.verify_token(&token).await.unwrap();
    let again = verifier.verify_token(&token).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the second call is a cache hit"
    );
    clock.fetch_add(66, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        verifier.verify_token(&token).await.err(),
        Some(Error::Expired)
    );
}

#[test]
fn bad_configurations_are_refused() {
    assert!(Verifier::builder("auth.example.com").build().is_err());
    assert!(Verifier::builder(ISSUER).algorithms([]).build().is_err());
    assert!(Verifier::builder(ISSUER)
        .clock_skew(Duration::from_secs(301))
        .build()
        .is_err());
    assert!(Verifier::builder(ISSUER)
        .public_key_pem("nope", Algorithm::RS256)
        .build()
        .is_err());
    let ed_pem_for_rsa = {
        let signer = Signer::generate("k");
        Verifier::builder(ISSUER)
            .public_key_pem(signer.pem(), Algorithm::EdDSA)
            .build()
    };
    assert!(ed_pem_for_rsa.is_err());
}
