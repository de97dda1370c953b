//! End-to-end JWS tests: RFC vectors, round trips and hostile input.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::*;

// RFC 7515 appendix A.2 (RS256): the RFC's public key and JWS.
const RFC7515_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4Ql",
    "L-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs",
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud",
    "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
);
const RFC7515_SIGNING_INPUT: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
);
const RFC7515_SIGNATURE: &str = concat!(
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw",
);
/// The RFC 7515 A.2 private key (n, e, d, p, q, dp, dq, qi from the RFC) as
/// PKCS#8 DER, standard base64; encoded with Python's `cryptography`.
const RFC7515_PKCS8: &str = concat!(
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCh+BYK4uPJtGXOjS1lYmM2K5J9vinh8CR3/BYl",
    "zJChNuOL2TSXxbbqY913EeZ8dCn5VrD7io8ImtxLaYk8wTM/U+3QGbh3hCUv7JFP5IV3aVlL6kKA0ywPVb9ilE8T",
    "A5a8bpvfbr3SvaNnjuygxmj3AbONv/s4yDQs4v5tJ/reSlpIdJed1LnPmt7Ex1sFhSwsD174pcF1A5L5ROjtZMEQ",
    "xrZHYJqkeDrrnGya11UxMFBji4NmXG9veoKjlnAqH2QbgtPr8jkiGUkftoaHLFcW9Qr4NY2ai50Xw0Byj3+H2JoY",
    "2PyrZ62EWQwuz3WTOTY8BwNNb2BvniHgVFbK5emhAgMBAAECggEAEq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZ",
    "D50LpXyWPEAeP88vLNO97IjlA7/GQ5sLKMgvfTeXZx9SE+7YwVol2NXOoAJe46sui395IW/GO+pWJ1O0BkTGoVEn",
    "2bKVRUCgu+GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M/V51gfpRLI9JYanrC4D4qAdGcopV/0ZH",
    "HzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl/x/jTj3ccPDVZFD9pIuhLhBOneufuBiB",
    "4cS98l2SR/RQyGWSeWjnczT0QU91p1DhOVRuOopznQKBgQDgHMQQ60imZV1URk0KpLttoLhyt3SmqdEf/kgHePDd",
    "tzEafpAu+cS191R2JiuoF2yzWXnwFDcqGigp5BNr0AHQfD8/Lk8l1Mk09jxxCfui5nYooNyac8YFjm3vItzVCVDn",
    "Ed3BbVWG8qf6deqElMGAg+C2V0L4oNXnP7LZcPAZRwKBgQC5A8R+CZW2MvRTLLHzwZkUXV866cff7tx6kqa0finG",
    "G0KgeqlaZPxgCZnFp7AeAcCMtiynVlJ7vMVgePsLq6XtON4tB5kP9jAPrq3rbAOal78eUH5OcED6eNuCV8ixEu1e",
    "WcPNCS/l1OW1EnXUEoEHKl54Xrrz2uNwkgMTP1FZ1wKBgAcCn1dwJKufzBWQxWQp1vsM5fggqPN1qGb5y0MAk3g7",
    "/Ls5bkUp5u9SN0Ai3Ya6hNnvWJMb7sXQX6U/zyO2M/hTip7tUeh7CXgwo59dkpN75gJLVds29+DAncu3KXU4f2Fa",
    "+7bLNrur53k8KwPOq2bbuTG69QtV7Jr5MR0AHWKNAoGBAIf/evpitUf+4JYbLpvNXWcY052Mpz22aR84mY3nh3F2",
    "LF2mjMJDpTg7FmuyPcVw6EcGyoAe9fa65iNqCq+jdw6PVNGo2hxfjSiZ8IIzHdsPXI89//pMjZcQK9r+CCoRjaZj",
    "OYiIDktVWZzmevJuv6WywUqd57LE3Zar3dLSIkx1AoGAIYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd+DlcxyVu",
    "uM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd/QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9Sb",
    "sxYawBgfp/gh6A5603k2+ZQwVK0JKSHuLFkuQ3U=",
);

// RFC 8037 appendix A.4 (Ed25519).
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const RFC8037_SIGNATURE: &str = concat!(
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B",
    "hVsPt9g7sVvpAr_MuM0KAg",
);

const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

fn b64u(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// PKCS#8 v1 wrapping of a raw Ed25519 seed (RFC 8410).
fn ed25519_pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn key(alg: Algorithm, kid: &str) -> SigningKey {
    SigningKey::generate(alg, kid.to_owned()).unwrap()
}

/// Re-encodes one part of a token.
fn with_part(token: &str, index: usize, json: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = URL_SAFE_NO_PAD.encode(json.to_string());
    parts.join(".")
}

#[test]
fn rfc7515_a2_rs256_vector_verifies() {
    let jwk = json!({"kty": "RSA", "n": RFC7515_N, "e": "AQAB"});
    let keys = [VerifyingKey::from_jwk(&jwk).unwrap()];
    let token = format!("{RFC7515_SIGNING_INPUT}.{RFC7515_SIGNATURE}");
    let claims = verify_compact(&token, &keys).unwrap();
    assert_eq!(
        claims,
        json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true})
    );
    let (header, _) = decode_unverified(&token).unwrap();
    assert_eq!(header.alg, "RS256");
    assert_eq!(header.kid, None);
}

#[test]
fn rfc7515_a2_private_key_reproduces_the_signature() {
    // RSASSA-PKCS1-v1_5 is deterministic, so our signer must match the RFC.
    let der = STANDARD.decode(RFC7515_PKCS8).unwrap();
    let signer = SigningKey::from_pkcs8(Algorithm::RS256, "rfc".into(), &der).unwrap();
    let signature = signer.sign_raw(RFC7515_SIGNING_INPUT.as_bytes()).unwrap();
    assert_eq!(signature, b64u(RFC7515_SIGNATURE));
    assert_eq!(signer.public_jwk()["n"], RFC7515_N);
    assert_eq!(signer.public_jwk()["e"], "AQAB");
}

#[test]
fn rfc8037_a4_ed25519_vector() {
    let der = ed25519_pkcs8(&b64u(RFC8037_D));
    let signer = SigningKey::from_pkcs8(Algorithm::EdDSA, "rfc".into(), &der).unwrap();
    assert_eq!(signer.public_jwk()["x"], RFC8037_X);
    let signature = signer.sign_raw(RFC8037_SIGNING_INPUT.as_bytes()).unwrap();
    assert_eq!(signature, b64u(RFC8037_SIGNATURE));

    let public = json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X});
    let verifier = VerifyingKey::from_jwk(&public).unwrap();
    verifier
        .verify_signature(RFC8037_SIGNING_INPUT.as_bytes(), &b64u(RFC8037_SIGNATURE))
        .unwrap();
    // The RFC payload is plain text, so the JWT-level check gets past the
    // signature and only then refuses the non-JSON payload.
    let token = format!("{RFC8037_SIGNING_INPUT}.{RFC8037_SIGNATURE}");
    assert!(matches!(
        verify_compact(&token, &[verifier]),
        Err(JwsError::Malformed("payload is not JSON"))
    ));
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    exp: u64,
    scope: Vec<&'a str>,
}

#[test]
fn round_trips_for_every_algorithm() {
    for alg in ALL {
        let signer = key(alg, "kid-1");
        let claims = Claims {
            sub: "usr_1",
            exp: 2_000_000_000,
            scope: vec!["openid", "ünïcode"],
        };
        let token = signer.sign_compact(&claims).unwrap();
        let keys = [signer.verifying_key().unwrap()];
        let verified = verify_compact(&token, &keys).unwrap();
        assert_eq!(verified, serde_json::to_value(&claims).unwrap());

        let (header, payload) = decode_unverified(&token).unwrap();
        assert_eq!(header.alg, alg.as_str());
        assert_eq!(header.kid.as_deref(), Some("kid-1"));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(payload, verified);

        // A second token reuses the capacity hint and still verifies.
        let token = signer.sign_compact(&json!({"n": 1})).unwrap();
        assert_eq!(verify_compact(&token, &keys).unwrap(), json!({"n": 1}));
    }
}

#[test]
fn pkcs8_reload_keeps_the_key() {
    for alg in ALL {
        let signer = key(alg, "k");
        let reloaded = SigningKey::from_pkcs8(alg, "k".into(), &signer.pkcs8_der()).unwrap();
        assert_eq!(reloaded.public_jwk(), signer.public_jwk());
        let token = reloaded.sign_compact(&json!({"a": 1})).unwrap();
        verify_compact(&token, &[signer.verifying_key().unwrap()]).unwrap();
        // DER of one algorithm is refused for another.
        let other = ALL.into_iter().find(|&a| a != alg).unwrap();
        assert!(SigningKey::from_pkcs8(other, "k".into(), &signer.pkcs8_der()).is_err());
    }
    assert!(SigningKey::from_pkcs8(Algorithm::EdDSA, "k".into(), b"junk").is_err());
}

#[test]
fn public_jwks_have_rfc_members() {
    let rsa = key(Algorithm::RS256, "r").public_jwk();
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(b64u(rsa["n"].as_str().unwrap()).len(), 256);
    let ec = key(Algorithm::ES256, "e").public_jwk();
    assert_eq!(
        (ec["kty"].as_str(), ec["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(b64u(ec["x"].as_str().unwrap()).len(), 32);
    assert_eq!(b64u(ec["y"].as_str().unwrap()).len(), 32);
    let ed = key(Algorithm::EdDSA, "d").public_jwk();
    assert_eq!(
        (ed["kty"].as_str(), ed["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    for (jwk, alg, kid) in [
        (&rsa, "RS256", "r"),
        (&ec, "ES256", "e"),
        (&ed, "EdDSA", "d"),
    ] {
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["kid"], kid);
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none());
    }
}

#[test]
fn debug_hides_key_material() {
    let signer = key(Algorithm::EdDSA, "visible-kid");
    let shown = format!("{signer:?}");
    assert!(shown.contains("visible-kid"));
    assert!(!shown.contains(&STANDARD.encode(signer.pkcs8_der())));
}

#[test]
fn tampering_is_refused() {
    for alg in ALL {
        let signer = key(alg, "k");
        let keys = [signer.verifying_key().unwrap()];
        let token = signer.sign_compact(&json!({"sub": "alice"})).unwrap();

        let payload = with_part(&token, 1, &json!({"sub": "mallory"}));
        assert!(matches!(
            verify_compact(&payload, &keys),
            Err(JwsError::BadSignature)
        ));

        let header = with_part(
            &token,
            0,
            &json!({"alg": alg.as_str(), "kid": "k", "typ": "at+jwt"}),
        );
        assert!(matches!(
            verify_compact(&header, &keys),
            Err(JwsError::BadSignature)
        ));

        let (head, sig) = token.rsplit_once('.').unwrap();
        let mut sig_bytes = b64u(sig);
        sig_bytes[5] ^= 1;
        let flipped = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&sig_bytes));
        assert!(matches!(
            verify_compact(&flipped, &keys),
            Err(JwsError::BadSignature)
        ));
        let truncated = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&sig_bytes[1..]));
        assert!(verify_compact(&truncated, &keys).is_err());
        assert!(verify_compact(&format!("{head}."), &keys).is_err());
        assert!(verify_compact(&format!("{token}x"), &keys).is_err());
    }
}

#[test]
fn kid_selection() {
    let a = key(Algorithm::EdDSA, "a");
    let b = key(Algorithm::EdDSA, "b");
    let token = a.sign_compact(&json!({})).unwrap();
    let only_b = [b.verifying_key().unwrap()];
    assert!(matches!(
        verify_compact(&token, &only_b),
        Err(JwsError::UnknownKey)
    ));
    let both = [b.verifying_key().unwrap(), a.verifying_key().unwrap()];
    verify_compact(&token, &both).unwrap();
    assert!(matches!(
        verify_compact(&token, &[]),
        Err(JwsError::UnknownKey)
    ));

    // A kid-less token is accepted only with exactly one key.
    let no_kid = with_part(&token, 0, &json!({"alg": "EdDSA"}));
    assert!(matches!(
        verify_compact(&no_kid, &both),
        Err(JwsError::UnknownKey)
    ));
    // (with one key the signature no longer matches the rewritten header)
    assert!(matches!(
        verify_compact(&no_kid, &[a.verifying_key().unwrap()]),
        Err(JwsError::BadSignature)
    ));
}

#[test]
fn forbidden_and_mismatched_algorithms() {
    let signer = key(Algorithm::ES256, "k");
    let keys = [signer.verifying_key().unwrap()];
    let token = signer.sign_compact(&json!({"sub": "x"})).unwrap();

    for alg in ["none", "None", "HS256", "HS512", "PS256", ""] {
        let forged = with_part(&token, 0, &json!({"alg": alg, "kid": "k"}));
        assert!(
            matches!(
                verify_compact(&forged, &keys),
                Err(JwsError::UnsupportedAlgorithm(_))
            ),
            "{alg}"
        );
    }
    let (head, _) = token.rsplit_once('.').unwrap();
    let unsigned = with_part(&format!("{head}."), 0, &json!({"alg": "none", "kid": "k"}));
    assert!(verify_compact(&unsigned, &keys).is_err());

    let confused = with_part(&token, 0, &json!({"alg": "RS256", "kid": "k"}));
    assert!(matches!(
        verify_compact(&confused, &keys),
        Err(JwsError::AlgorithmMismatch {
            token: Algorithm::RS256,
            key: Algorithm::ES256
        })
    ));
    let crit = with_part(
        &token,
        0,
        &json!({"alg": "ES256", "kid": "k", "crit": ["exp"]}),
    );
    assert!(matches!(
        verify_compact(&crit, &keys),
        Err(JwsError::Malformed(_))
    ));
}

#[test]
fn malformed_tokens_are_errors() {
    let keys = [key(Algorithm::EdDSA, "k").verifying_key().unwrap()];
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"k"}"#);
    let array = URL_SAFE_NO_PAD.encode(r#"["EdDSA","k"]"#);
    let dup = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","alg":"none","kid":"k"}"#);
    let body = URL_SAFE_NO_PAD.encode("{}");
    let huge = "a".repeat(70_000);
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "a.b".into(),
        "a.b.c.d.e".into(),
        format!("{header}.{body}"),
        format!("{header}=.{body}.AAAA"),
        format!("{header}.{body}.AA+/"),
        format!("{array}.{body}.AAAA"),
        format!("{dup}.{body}.AAAA"),
        format!("{header}.{huge}.AAAA"),
        format!("{header}.!!.AAAA"),
    ];
    for token in &cases {
        assert!(verify_compact(token, &keys).is_err(), "{token:.60}");
        assert!(decode_unverified(token).is_err(), "{token:.60}");
    }
}

fn token_like() -> impl Strategy<Value = String> {
    let part = "[A-Za-z0-9_=+/-]{0,60}";
    prop_oneof![
        any::<String>(),
        (part, part, part).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (any::<Vec<u8>>(), any::<Vec<u8>>(), any::<Vec<u8>>()).prop_map(|(a, b, c)| {
            let e = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
            format!("{}.{}.{}", e(a), e(b), e(c))
        }),
        (any::<String>(), any::<String>()).prop_map(|(header, payload)| {
            let e = |text: String| URL_SAFE_NO_PAD.encode(text);
            format!("{}.{}.AAAA", e(header), e(payload))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn garbage_never_panics(token in token_like()) {
        let keys = [VerifyingKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})).unwrap()];
        let _ = decode_unverified(&token);
        prop_assert!(verify_compact(&token, &keys).is_err());
    }

    #[test]
    fn garbage_jwks_never_panic(kty in "RSA|EC|OKP|oct", crv in "P-256|Ed25519|X", x in "[A-Za-z0-9_-]{0,400}") {
        let jwk = json!({"kty": kty, "crv": crv, "x": &x, "y": &x, "n": &x, "e": &x});
        let _ = VerifyingKey::from_jwk(&jwk);
    }
}

/// Claims whose serialization itself mints a token (re-enters the buffer).
struct Nested<'a>(&'a SigningKey);

impl Serialize for Nested<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let inner = self
            .0
            .sign_compact(&json!({"inner": true}))
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&inner)
    }
}

#[test]
fn reentrant_serialization_is_safe() {
    let signer = key(Algorithm::EdDSA, "k");
    let keys = [signer.verifying_key().unwrap()];
    let outer = signer.sign_compact(&[Nested(&signer)]).unwrap();
    // The payload is an array, which the JWT-level check refuses; decode it instead.
    assert!(matches!(
        verify_compact(&outer, &keys),
        Err(JwsError::Malformed(_))
    ));
    let (_, payload) = decode_unverified(&outer).unwrap();
    let inner = payload[0].as_str().unwrap();
    assert_eq!(
        verify_compact(inner, &keys).unwrap(),
        json!({"inner": true})
    );
}

#[test]
fn large_claims_round_trip() {
    let signer = key(Algorithm::ES256, "k");
    let big = json!({"blob": "x".repeat(100_000)});
    let token = signer.sign_compact(&big).unwrap();
    // Over MAX_TOKEN_LEN: refused by the verifier, but signing still works.
    assert!(verify_compact(&token, &[signer.verifying_key().unwrap()]).is_err());
    let small = signer.sign_compact(&json!({"a": 1})).unwrap();
    assert!(small.len() < 200);
    verify_compact(&small, &[signer.verifying_key().unwrap()]).unwrap();
}

// ---------------------------------------------------------------- custom keys (JWT templates)

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

#[test]
fn hs256_rfc7515_a1() {
    // RFC 7515 appendix A.1: the RFC's key, signing input and signature.
    let k = URL_SAFE_NO_PAD
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let input = concat!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    );
    let key = HmacKey::new(&k).unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(key.sign_raw(input.as_bytes())),
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
}

#[test]
fn hs256_tokens_and_secrets() {
    let secret = "a-string-secret-at-least-256-bits-long";
    let key = HmacKey::new(secret.as_bytes()).unwrap();
    let token = key.sign_compact(&json!({"sub": "alice"})).unwrap();
    let (header, claims) = decode_unverified(&token).unwrap();
    assert_eq!(
        (header.alg.as_str(), header.kid, header.typ.as_deref()),
        ("HS256", None, Some("JWT"))
    );
    assert_eq!(claims, json!({"sub": "alice"}));
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(sig).unwrap(),
        key.sign_raw(input.as_bytes())
    );
    // Gatehouse's own verifier never accepts HMAC.
    let rsa = key_from_rfc();
    assert!(matches!(
        verify_compact(&token, &[rsa.verifying_key().unwrap()]),
        Err(JwsError::UnsupportedAlgorithm(_))
    ));
    for short in ["", "x", &"s".repeat(MIN_HMAC_SECRET_BYTES - 1)] {
        assert!(
            matches!(HmacKey::new(short.as_bytes()), Err(JwsError::InvalidKey(_))),
            "{short:?}"
        );
    }
    assert!(!format!("{key:?}").contains(secret));
}

fn key_from_rfc() -> SigningKey {
    SigningKey::from_pkcs8(
        Algorithm::RS256,
        "r".into(),
        &STANDARD.decode(RFC7515_PKCS8).unwrap(),
    )
    .unwrap()
}

#[test]
fn pem_keys_sign_without_kid_and_verify() {
    for (file, alg) in [
        ("rsa2048.pkcs8.pem", "RS256"),
        ("rsa2048.pkcs1.pem", "RS256"),
        ("p256.sec1.pem", "ES256"),
        ("p256.pkcs8.pem", "ES256"),
        ("ed25519.pkcs8.pem", "EdDSA"),
    ] {
        let pem = fixture(file);
        for given in [None, Some(alg)] {
            let key =
                CustomKey::parse(given, &pem).unwrap_or_else(|e| panic!("{file} {given:?}: {e}"));
            assert_eq!(key.alg(), alg, "{file}");
            let token = key.sign_compact(&json!({"sub": "alice"})).unwrap();
            let (header, _) = decode_unverified(&token).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.kid, None, "custom keys carry no instance kid");
            let CustomKey::Pem(signer) = &key else {
                panic!("{file}: not a PEM key")
            };
            let jwk = signer.public_jwk();
            assert!(jwk.get("kid").is_none());
            let verified =
                verify_compact(&token, &[VerifyingKey::from_jwk(&jwk).unwrap()]).unwrap();
            assert_eq!(verified, json!({"sub": "alice"}));
        }
    }
    // The same key read as PKCS#1 and as PKCS#8 is the same key.
    let a = CustomKey::parse(None, &fixture("rsa2048.pkcs1.pem")).unwrap();
    let b = CustomKey::parse(None, &fixture("rsa2048.pkcs8.pem")).unwrap();
    match (a, b) {
        (CustomKey::Pem(a), CustomKey::Pem(b)) => assert_eq!(a.public_jwk(), b.public_jwk()),
        _ => panic!("PEM keys"),
    }
}

#[test]
fn wrong_or_bad_custom_keys_are_refused() {
    let cases: &[(Option<&str>, String, &str)] = &[
        (Some("ES256"), fixture("rsa2048.pkcs8.pem"), "P-256"),
        (Some("EdDSA"), fixture("rsa2048.pkcs1.pem"), "Ed25519"),
        (Some("RS256"), fixture("p256.sec1.pem"), "RSA"),
        (Some("RS256"), fixture("p256.pkcs8.pem"), "RSA"),
        (Some("RS256"), fixture("ed25519.pkcs8.pem"), "RSA"),
        (Some("ES256"), fixture("p384.sec1.pem"), "P-256"),
        (None, fixture("p384.sec1.pem"), "P-256"),
        (None, fixture("rsa1024.pkcs8.pem"), "2048"),
        (Some("RS256"), fixture("rsa1024.pkcs8.pem"), "2048"),
        (None, fixture("rsa2048.pub.pem"), "not a PEM private key"),
        (
            Some("RS256"),
            fixture("p256.pub.pem"),
            "not a PEM private key",
        ),
        (
            None,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            "private key",
        ),
        (None, "-----BEGIN garbage".into(), "not a PEM private key"),
        (Some("HS256"), fixture("rsa2048.pkcs8.pem"), "not a PEM key"),
        (
            Some("RS256"),
            "a-shared-secret-that-is-long-enough-0123".into(),
            "need a PEM",
        ),
        (Some("HS256"), String::new(), "empty"),
        (None, String::new(), "empty"),
        (Some("HS256"), "short".into(), "32 bytes"),
    ];
    for (alg, material, words) in cases {
        let e = CustomKey::parse(*alg, material).expect_err(&format!("{alg:?} {words}"));
        assert!(matches!(e, JwsError::InvalidKey(_)), "{alg:?}: {e}");
        assert!(e.to_string().contains(words), "{alg:?} {words}: {e}");
        assert!(
            !e.to_string().contains("BEGIN"),
            "errors never echo the key"
        );
    }
    for alg in ["none", "HS512", "PS256", "rs256", ""] {
        assert!(
            matches!(
                CustomKey::parse(Some(alg), &fixture("rsa2048.pkcs8.pem")),
                Err(JwsError::UnsupportedAlgorithm(_))
            ),
            "{alg}"
        );
    }
}
