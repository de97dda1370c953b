//! Public keys parsed from JWKs, for checking signatures.

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::{Algorithm, JwsError};

/// A public key that verifies one algorithm, optionally tagged with a `kid`.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Parses an RSA, P-256 or Ed25519 public JWK.
    ///
    /// The algorithm follows from `kty`/`crv`; an `alg` member must agree with
    /// it, and a `use` member must be `sig`. Private members are ignored.
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwsError> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &'static str| -> Result<Vec<u8>, JwsError> {
            let text = member(name).ok_or(JwsError::InvalidJwk("missing key member"))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| JwsError::InvalidJwk("key member is not base64url"))
        };
        if !jwk.is_object() {
            return Err(JwsError::InvalidJwk("not a JSON object"));
        }
        let (alg, key) = match (member("kty"), member("crv")) {
            (Some("RSA"), _) => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                let components = RsaPublicKeyComponents {
                    n: strip_leading_zeros(&n),
                    e: strip_leading_zeros(&e),
                };
                // aws-lc-rs only checks the size when verifying; refuse early.
                if !(2048..=8192).contains(&(components.n.len() * 8)) {
                    return Err(JwsError::InvalidJwk(
                        "RSA modulus must be 2048 to 8192 bits",
                    ));
                }
                let key = components
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| JwsError::InvalidJwk("invalid RSA public key"))?;
                (Algorithm::RS256, key)
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JwsError::InvalidJwk("P-256 coordinates must be 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|_| JwsError::InvalidJwk("point is not on P-256"))?;
                (Algorithm::ES256, key)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JwsError::InvalidJwk("Ed25519 keys must be 32 bytes"));
                }
                let key = ParsedPublicKey::new(&ED25519, x)
                    .map_err(|_| JwsError::InvalidJwk("invalid Ed25519 public key"))?;
                (Algorithm::EdDSA, key)
            }
            _ => return Err(JwsError::InvalidJwk("unsupported kty/crv")),
        };
        if let Some(declared) = jwk.get("alg") {
            if declared.as_str() != Some(alg.as_str()) {
                return Err(JwsError::InvalidJwk("alg does not match the key type"));
            }
        }
        if let Some(usage) = jwk.get("use") {
            if usage.as_str() != Some("sig") {
                return Err(JwsError::InvalidJwk("use must be \"sig\""));
            }
        }
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(JwsError::InvalidJwk("kid must be a string")),
        };
        Ok(Self { kid, alg, key })
    }

    /// The JWK's `kid`, if it had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The only algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Checks `signature` over the JWS signing input (`header.payload`).
    pub fn verify_signature(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        self.key
            .verify_sig(signing_input, signature)
            .map_err(|_| JwsError::BadSignature)
    }
}

/// JWK integers should have no leading zeros, but some encoders add one.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn parses_okp_with_optional_members() {
        let key =
            VerifyingKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X})).unwrap();
        assert_eq!(key.alg(), Algorithm::EdDSA);
        assert_eq!(key.kid(), None);
        let key = VerifyingKey::from_jwk(&json!({
            "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "k1", "alg": "EdDSA", "use": "sig"
        }))
        .unwrap();
        assert_eq!(key.kid(), Some("k1"));
    }

    #[test]
    fn refuses_bad_jwks() {
        let bad = [
            json!("not an object"),
            json!({}),
            json!({"kty": "oct", "k": "AAAA"}),
            json!({"kty": "OKP", "crv": "X25519", "x": ED_X}),
            json!({"kty": "OKP", "crv": "Ed25519"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "!!!"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "alg": "ES256"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "use": "enc"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": 7}),
            json!({"kty": "EC", "crv": "P-256", "x": ED_X, "y": ED_X}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        ];
        for jwk in bad {
            assert!(
                matches!(VerifyingKey::from_jwk(&jwk), Err(JwsError::InvalidJwk(_))),
                "{jwk}"
            );
        }
    }

    #[test]
    fn strips_leading_zeros() {
        assert_eq!(strip_leading_zeros(&[0, 0, 1, 0]), &[1, 0]);
        assert_eq!(strip_leading_zeros(&[0]), &[] as &[u8]);
    }
}
