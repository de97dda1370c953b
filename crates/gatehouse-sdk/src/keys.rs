//! Public keys: parsed from a JWKS or a PEM `PUBLIC KEY`, each bound to one algorithm.

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use serde::Deserialize;

use crate::error::ConfigError;

/// A signature algorithm the SDK verifies. `none` and the HMAC algorithms are not
/// representable, so no configuration can allow them.
// Variant names are the JOSE registry names, verbatim.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048 to 8192-bit keys (Gatehouse's default).
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm, the default allow-list.
    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    /// The JOSE registry name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Exact, case-sensitive: `"none"`, `"HS256"` or `"rs256"` are `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
}

/// One verification key.
#[derive(Debug)]
pub(crate) struct PublicKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    key: ParsedPublicKey,
}

impl PublicKey {
    pub(crate) fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(signing_input, signature).is_ok()
    }

    /// A PEM `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) for `alg`.
    pub(crate) fn from_pem(pem: &str, alg: Algorithm) -> Result<Self, ConfigError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            ConfigError("the PEM key is not a `BEGIN PUBLIC KEY` block".to_string())
        })?;
        let key =
            ParsedPublicKey::new(verification_algorithm(alg), der.as_ref()).map_err(|_| {
                ConfigError(format!("the PEM key is not an {} public key", alg.as_str()))
            })?;
        Ok(Self {
            kid: None,
            alg,
            key,
        })
    }

    /// Parses an RSA, P-256 or Ed25519 public JWK. The algorithm follows from the key
    /// type; an `alg` member must agree and a `use` member must be `sig`.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Self, &'static str> {
        let bytes = |member: &Option<String>| -> Result<Vec<u8>, &'static str> {
            let text = member.as_deref().ok_or("missing key member")?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| "key member is not base64url")
        };
        let (alg, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => {
                let (n, e) = (bytes(&jwk.n)?, bytes(&jwk.e)?);
                let components = RsaPublicKeyComponents {
                    n: strip_leading_zeros(&n),
                    e: strip_leading_zeros(&e),
                };
                if !(2048..=8192).contains(&(components.n.len() * 8)) {
                    return Err("RSA modulus must be 2048 to 8192 bits");
                }
                let key = components
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| "invalid RSA public key")?;
                (Algorithm::RS256, key)
            }
            ("EC", Some("P-256")) => {
                let (x, y) = (bytes(&jwk.x)?, bytes(&jwk.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates must be 32 bytes");
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|_| "point is not on P-256")?;
                (Algorithm::ES256, key)
            }
            ("OKP", Some("Ed25519")) => {
                let x = bytes(&jwk.x)?;
                if x.len() != 32 {
                    return Err("Ed25519 keys must be 32 bytes");
                }
                let key =
                    ParsedPublicKey::new(&ED25519, x).map_err(|_| "invalid Ed25519 public key")?;
                (Algorithm::EdDSA, key)
            }
            _ => return Err("unsupported kty/crv"),
        };
        if jwk
            .alg
            .as_deref()
            .is_some_and(|declared| declared != alg.as_str())
        {
            return Err("alg does not match the key type");
        }
        if jwk.use_.as_deref().is_some_and(|usage| usage != "sig") {
            return Err("use is not \"sig\"");
        }
        Ok(Self {
            kid: jwk.kid.clone(),
            alg,
            key,
        })
    }
}

/// The members of a JWK this SDK reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Jwk {
    kty: String,
    crv: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// `{"keys": [...]}`: keys the SDK cannot use (encryption keys, other curves) are
/// skipped with a debug log instead of failing the whole set.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<PublicKey>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS is not valid JSON: {e}"))?;
    let mut keys = Vec::with_capacity(set.keys.len());
    for value in set.keys {
        let parsed = serde_json::from_value::<Jwk>(value)
            .map_err(|_| "not a JWK")
            .and_then(|jwk| PublicKey::from_jwk(&jwk));
        match parsed {
            Ok(key) => keys.push(key),
            Err(why) => tracing::debug!(why, "skipping a JWK the verifier cannot use"),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no usable signing key".to_string());
    }
    Ok(keys)
}

fn verification_algorithm(
    alg: Algorithm,
) -> &'static dyn aws_lc_rs::signature::VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &RSA_PKCS1_2048_8192_SHA256,
        Algorithm::ES256 => &ECDSA_P256_SHA256_FIXED,
        Algorithm::EdDSA => &ED25519,
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

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn jwk(json: &str) -> Result<PublicKey, &'static str> {
        PublicKey::from_jwk(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn algorithm_names_are_exact() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(alg));
        }
        for bad in ["none", "None", "HS256", "rs256", "RS256 ", ""] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_an_okp_key() {
        let key = jwk(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"k1","use":"sig"}}"#
        ))
        .unwrap();
        assert_eq!(key.alg, Algorithm::EdDSA);
        assert_eq!(key.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn refuses_unusable_jwks() {
        for bad in [
            r#"{"kty":"oct","k":"AAAA"}"#.to_string(),
            format!(r#"{{"kty":"OKP","crv":"X25519","x":"{ED_X}"}}"#),
            r#"{"kty":"OKP","crv":"Ed25519"}"#.to_string(),
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#.to_string(),
            r#"{"kty":"OKP","crv":"Ed25519","x":"!!!"}"#.to_string(),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","alg":"HS256"}}"#),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","use":"enc"}}"#),
            format!(r#"{{"kty":"EC","crv":"P-256","x":"{ED_X}","y":"{ED_X}"}}"#),
            r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#.to_string(),
        ] {
            assert!(jwk(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_jwks_keeps_the_usable_keys() {
        let body = format!(
            r#"{{"keys":[{{"kty":"oct","k":"AAAA"}},{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a"}}]}}"#
        );
        let keys = parse_jwks(body.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(parse_jwks(br#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }

    #[test]
    fn refuses_a_pem_that_is_not_a_public_key() {
        assert!(PublicKey::from_pem("not pem", Algorithm::RS256).is_err());
        let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(PublicKey::from_pem(private, Algorithm::RS256).is_err());
    }

    #[test]
    fn strips_leading_zeros() {
        assert_eq!(strip_leading_zeros(&[0, 0, 1, 0]), &[1, 0]);
    }
}
