//! OpenID Connect id_token validation (OpenID Connect Core §3.1.3.7): the signature
//! with a key of the provider's JWKS and an allowed algorithm (RS256, ES256, EdDSA —
//! never `none` or HMAC), then `iss`, `aud` (and `azp`), `exp`, `iat` and `nonce`.

use serde_json::Value;

use super::OAuthError;
use crate::config::ProviderKind;
use crate::crypto::digest::{ct_eq, token_hash};
use crate::crypto::jws::{self, VerifyingKey};

/// Clock difference tolerated between us and the provider.
const SKEW_MS: i64 = 60 * 1000;
/// An id_token issued longer ago than this is not fresh from this sign-in.
const MAX_AGE_MS: i64 = 10 * 60 * 1000;

/// What this sign-in expects of its id_token.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenCheck<'a> {
    /// The hash of the nonce sent in the authorization request.
    pub nonce_hash: Option<&'a str>,
    /// Now, epoch milliseconds.
    pub now: i64,
}

fn invalid(detail: impl std::fmt::Display) -> OAuthError {
    OAuthError::new("id_token", detail)
}

/// The `kid` of a token's header (to pick or fetch keys), read before verification.
pub fn kid(token: &str) -> Result<Option<String>, OAuthError> {
    let (header, _) = jws::decode_unverified(token).map_err(invalid)?;
    Ok(header.kid)
}

/// Verifies the token and its claims; returns the claims.
pub fn validate(
    token: &str,
    keys: &[VerifyingKey],
    issuer: &str,
    client_id: &str,
    kind: ProviderKind,
    check: &IdTokenCheck<'_>,
) -> Result<Value, OAuthError> {
    let claims = jws::verify_compact(token, keys).map_err(invalid)?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let number = |k: &str| claims.get(k).and_then(Value::as_i64);

    let iss = text("iss").ok_or_else(|| invalid("no iss"))?;
    let expected = match text("tid") {
        Some(tid) if issuer.contains("{tenantid}") => issuer.replace("{tenantid}", tid),
        _ => issuer.to_string(),
    };
    // Google's tokens may name their issuer without the scheme.
    let google_alias = kind == ProviderKind::Google && iss == "accounts.google.com";
    if iss != expected && !google_alias {
        return Err(invalid("iss is not the provider's issuer"));
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&client_id) {
        return Err(invalid("aud does not name this client"));
    }
    if audiences.len() > 1 && text("azp") != Some(client_id) {
        return Err(invalid("several audiences and azp is not this client"));
    }
    if let Some(azp) = text("azp") {
        if azp != client_id {
            return Err(invalid("azp is another client"));
        }
    }

    let exp = number("exp").ok_or_else(|| invalid("no exp"))?;
    if exp.saturating_mul(1000) + SKEW_MS <= check.now {
        return Err(invalid("expired"));
    }
    let iat = number("iat").ok_or_else(|| invalid("no iat"))?;
    let iat_ms = iat.saturating_mul(1000);
    if iat_ms > check.now + SKEW_MS || iat_ms + MAX_AGE_MS + SKEW_MS < check.now {
        return Err(invalid("iat is not within the last ten minutes"));
    }

    if let Some(expected) = check.nonce_hash {
        let nonce = text("nonce").ok_or_else(|| invalid("no nonce"))?;
        if !ct_eq(token_hash(nonce).as_bytes(), expected.as_bytes()) {
            return Err(invalid("nonce is not this sign-in's"));
        }
    }
    if text("sub").is_none_or(str::is_empty) {
        return Err(invalid("no sub"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jws::{Algorithm, SigningKey};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;
    const ISS: &str = "https://id.example.com";

    fn claims() -> Value {
        json!({
            "iss": ISS, "aud": "client", "sub": "u1", "nonce": "n-1",
            "iat": NOW / 1000 - 5, "exp": NOW / 1000 + 300,
        })
    }

    fn check(key: &SigningKey, claims: &Value, nonce: &str) -> Result<Value, OAuthError> {
        let token = key.sign_compact(claims).unwrap();
        let hash = token_hash(nonce);
        let c = IdTokenCheck {
            nonce_hash: Some(&hash),
            now: NOW,
        };
        validate(
            &token,
            &[key.verifying_key().unwrap()],
            ISS,
            "client",
            ProviderKind::Oidc,
            &c,
        )
    }

    #[test]
    fn accepts_a_good_token_and_refuses_each_bad_claim() {
        let key = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
        assert_eq!(check(&key, &claims(), "n-1").unwrap()["sub"], "u1");
        assert!(
            check(&key, &claims(), "n-2").is_err(),
            "another sign-in's nonce"
        );
        let bad: Vec<(&str, Value)> = vec![
            ("iss", json!("https://evil.example.com")),
            ("aud", json!("other-client")),
            ("aud", json!(["client", "other"])),
            ("azp", json!("other")),
            ("exp", json!(NOW / 1000 - 120)),
            ("iat", json!(NOW / 1000 + 600)),
            ("iat", json!(NOW / 1000 - 3600)),
            ("nonce", json!(null)),
            ("sub", json!("")),
            ("exp", json!("soon")),
        ];
        for (claim, value) in bad {
            let mut c = claims();
            c[claim] = value.clone();
            assert!(check(&key, &c, "n-1").is_err(), "{claim} = {value}");
        }
        let mut several = claims();
        several["aud"] = json!(["client", "other"]);
        several["azp"] = json!("client");
        assert!(check(&key, &several, "n-1").is_ok());
    }

    #[test]
    fn refuses_other_keys_and_algorithms() {
        let key = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
        let other = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
        let token = other.sign_compact(&claims()).unwrap();
        let hash = token_hash("n-1");
        let c = IdTokenCheck {
            nonce_hash: Some(&hash),
            now: NOW,
        };
        let keys = [key.verifying_key().unwrap()];
        assert!(validate(&token, &keys, ISS, "client", ProviderKind::Oidc, &c).is_err());
        // alg none, and HS256 made with the public key as the secret.
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        for alg in ["none", "HS256"] {
            let forged = format!(
                "{}.{}.",
                b64(&json!({"alg": alg, "kid": "k"})),
                b64(&claims())
            );
            assert!(
                validate(&forged, &keys, ISS, "client", ProviderKind::Oidc, &c).is_err(),
                "{alg}"
            );
        }
    }

    #[test]
    fn microsoft_issuer_names_the_tenant() {
        let key = SigningKey::generate(Algorithm::RS256, "k".into()).unwrap();
        let mut c = claims();
        c["iss"] = json!("https://login.microsoftonline.com/t-1/v2.0");
        c["tid"] = json!("t-1");
        let token = key.sign_compact(&c).unwrap();
        let hash = token_hash("n-1");
        let check = IdTokenCheck {
            nonce_hash: Some(&hash),
            now: NOW,
        };
        let keys = [key.verifying_key().unwrap()];
        let issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(validate(
            &token,
            &keys,
            issuer,
            "client",
            ProviderKind::Microsoft,
            &check
        )
        .is_ok());
        c["tid"] = json!("t-2");
        let token = key.sign_compact(&c).unwrap();
        assert!(validate(
            &token,
            &keys,
            issuer,
            "client",
            ProviderKind::Microsoft,
            &check
        )
        .is_err());
    }
}
