//! A key a JWT template signs with instead of the instance key: an HS256 shared secret,
//! or an RSA, P-256 or Ed25519 private key in PEM. Tokens signed with one carry no `kid`
//! (the verifier holds that one key).

use serde::Serialize;

use super::{Algorithm, HmacKey, JwsError, SigningKey};

/// A parsed custom key, ready to sign.
#[derive(Debug)]
pub enum CustomKey {
    /// Boxed: an HMAC key is over a kilobyte of state.
    Hmac(Box<HmacKey>),
    Pem(SigningKey),
}

/// The algorithms a custom key may sign with.
pub const CUSTOM_ALGORITHMS: &[&str] = &["HS256", "RS256", "ES256", "EdDSA"];

impl CustomKey {
    /// Parses `material` for `alg` (`HS256`, `RS256`, `ES256`, `EdDSA`). Without `alg`,
    /// a PEM private key decides by its type and anything else is an HS256 secret.
    pub fn parse(alg: Option<&str>, material: &str) -> Result<CustomKey, JwsError> {
        let is_pem = material.trim_start().starts_with("-----BEGIN");
        match alg {
            Some("HS256") if is_pem => Err(JwsError::InvalidKey(
                "HS256 needs a shared secret, not a PEM key",
            )),
            Some("HS256") => {
                HmacKey::new(material.as_bytes()).map(|k| CustomKey::Hmac(Box::new(k)))
            }
            None if !is_pem => {
                HmacKey::new(material.as_bytes()).map(|k| CustomKey::Hmac(Box::new(k)))
            }
            None => SigningKey::from_pem(None, material).map(CustomKey::Pem),
            Some(name) => {
                let alg: Algorithm = name.parse()?;
                if !is_pem {
                    return Err(JwsError::InvalidKey(
                        "RS256, ES256 and EdDSA need a PEM private key",
                    ));
                }
                SigningKey::from_pem(Some(alg), material).map(CustomKey::Pem)
            }
        }
    }

    /// The JWS `alg` of its tokens.
    pub fn alg(&self) -> &'static str {
        match self {
            CustomKey::Hmac(_) => "HS256",
            CustomKey::Pem(key) => key.alg().as_str(),
        }
    }

    /// Signs `claims` as a compact JWS.
    pub fn sign_compact<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, JwsError> {
        match self {
            CustomKey::Hmac(key) => key.sign_compact(claims),
            CustomKey::Pem(key) => key.sign_compact(claims),
        }
    }
}
