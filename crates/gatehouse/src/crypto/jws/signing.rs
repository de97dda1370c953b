//! Token signing with a parsed, long-lived key pair.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use super::{Algorithm, JwsError, VerifyingKey};

/// Largest RSA modulus aws-lc-rs accepts (8192 bits), in bytes.
const MAX_RSA_SIGNATURE: usize = 1024;
/// Smallest RSA modulus we accept for RS256, in bytes.
const MIN_RSA_MODULUS: usize = 256;

/// A private signing key, with the `kid` its tokens carry (if any), ready to mint
/// compact JWS tokens.
pub struct SigningKey {
    kid: Option<String>,
    alg: Algorithm,
    pair: Pair,
    pkcs8: Vec<u8>,
    /// base64url of `{"alg":..,"kid":..,"typ":"JWT"}` (no `kid` without one), computed once.
    header_b64: String,
    /// base64url length of one signature.
    signature_b64_len: usize,
    /// Length of the last encoded payload: a capacity hint so a token is
    /// usually built with a single allocation.
    payload_hint: AtomicUsize,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

#[derive(Serialize)]
struct ProtectedHeader<'a> {
    alg: Algorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    typ: &'static str,
}

impl SigningKey {
    /// Generates a new key (RSA keys are 2048-bit).
    pub fn generate(alg: Algorithm, kid: String) -> Result<Self, JwsError> {
        let failed = |_| JwsError::InvalidKey("key generation failed");
        let der = match alg {
            Algorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(failed)?
                .as_der()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Algorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8(alg, kid, &der)
    }

    /// Loads a PKCS#8 (v1 or v2) DER private key for `alg`.
    pub fn from_pkcs8(alg: Algorithm, kid: String, der: &[u8]) -> Result<Self, JwsError> {
        let pair = match alg {
            Algorithm::RS256 => {
                Pair::Rsa(rsa_pair(RsaKeyPair::from_pkcs8(der).map_err(|_| {
                    JwsError::InvalidKey("not an RSA PKCS#8 private key")
                })?)?)
            }
            Algorithm::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| JwsError::InvalidKey("not a P-256 PKCS#8 private key"))?,
            ),
            Algorithm::EdDSA => Pair::Ed(
                Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|_| JwsError::InvalidKey("not an Ed25519 PKCS#8 private key"))?,
            ),
        };
        Self::from_pair(alg, Some(kid), pair, der)
    }

    /// Loads a PEM private key someone brought (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE
    /// KEY` or SEC1 `EC PRIVATE KEY`). Its tokens carry no `kid`. With `alg`, the key must
    /// be of that type; without, the type decides (RSA: RS256, P-256: ES256, Ed25519: EdDSA).
    pub fn from_pem(alg: Option<Algorithm>, pem: &str) -> Result<Self, JwsError> {
        use rustls_pki_types::PrivateKeyDer;

        let key = crate::crypto::pem::private_key(pem)?;
        let der = key.secret_der();
        let rsa = |der: &[u8], pkcs1: bool| {
            let pair = if pkcs1 {
                RsaKeyPair::from_der(der)
            } else {
                RsaKeyPair::from_pkcs8(der)
            };
            pair.map_err(rsa_rejected).and_then(rsa_pair).map(Pair::Rsa)
        };
        let ec = |der: &[u8]| {
            EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map(Pair::Ec)
                .map_err(|_| JwsError::InvalidKey("not a P-256 private key"))
        };
        let ed = |der: &[u8]| {
            Ed25519KeyPair::from_pkcs8(der)
                .map(Pair::Ed)
                .map_err(|_| JwsError::InvalidKey("not an Ed25519 private key"))
        };
        let (alg, pair) = match (alg, &key) {
            (None | Some(Algorithm::RS256), PrivateKeyDer::Pkcs1(_)) => {
                (Algorithm::RS256, rsa(der, true)?)
            }
            (None | Some(Algorithm::ES256), PrivateKeyDer::Sec1(_)) => (Algorithm::ES256, ec(der)?),
            (Some(Algorithm::RS256), PrivateKeyDer::Pkcs8(_)) => {
                (Algorithm::RS256, rsa(der, false)?)
            }
            (Some(Algorithm::ES256), PrivateKeyDer::Pkcs8(_)) => (Algorithm::ES256, ec(der)?),
            (Some(Algorithm::EdDSA), PrivateKeyDer::Pkcs8(_)) => (Algorithm::EdDSA, ed(der)?),
            (None, PrivateKeyDer::Pkcs8(_)) => {
                // The key's own type decides; an RSA key of the wrong size says so.
                match rsa(der, false) {
                    Ok(pair) => (Algorithm::RS256, pair),
                    Err(e @ JwsError::InvalidKey(RSA_TOO_SMALL | RSA_TOO_LARGE)) => return Err(e),
                    Err(_) => match ec(der) {
                        Ok(pair) => (Algorithm::ES256, pair),
                        Err(_) => {
                            let pair = ed(der).map_err(|_| {
                                JwsError::InvalidKey("not an RSA, P-256 or Ed25519 private key")
                            })?;
                            (Algorithm::EdDSA, pair)
                        }
                    },
                }
            }
            (Some(Algorithm::RS256), _) => {
                return Err(JwsError::InvalidKey("RS256 needs an RSA private key"))
            }
            (Some(Algorithm::ES256), _) => {
                return Err(JwsError::InvalidKey("ES256 needs a P-256 private key"))
            }
            (Some(Algorithm::EdDSA), _) => {
                return Err(JwsError::InvalidKey("EdDSA needs an Ed25519 private key"))
            }
            (None, _) => return Err(JwsError::InvalidKey("unsupported private key type")),
        };
        Self::from_pair(alg, None, pair, der)
    }

    fn from_pair(
        alg: Algorithm,
        kid: Option<String>,
        pair: Pair,
        der: &[u8],
    ) -> Result<Self, JwsError> {
        let header = ProtectedHeader {
            alg,
            kid: kid.as_deref(),
            typ: "JWT",
        };
        let header_json = serde_json::to_vec(&header).map_err(JwsError::Claims)?;
        let signature_len = match &pair {
            Pair::Rsa(pair) => pair.public_modulus_len(),
            Pair::Ec(_) | Pair::Ed(_) => 64,
        };
        Ok(Self {
            signature_b64_len: signature_len.div_ceil(3) * 4,
            header_b64: URL_SAFE_NO_PAD.encode(header_json),
            kid,
            alg,
            pair,
            pkcs8: der.to_vec(),
            payload_hint: AtomicUsize::new(256),
        })
    }

    /// The PKCS#8 DER this key was generated as or loaded from (seal it
    /// before storing it). A key loaded from PEM keeps the DER it was given.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        self.pkcs8.clone()
    }

    /// The key id put in every token header, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The signing algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public half as an RFC 7517 JWK (RFC 8037 for Ed25519), for JWKS.
    pub fn public_jwk(&self) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Ec(pair) => {
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(point.get(1..33).unwrap_or_default()),
                    "y": b64(point.get(33..65).unwrap_or_default()),
                })
            }
            Pair::Ed(pair) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(pair.public_key().as_ref()),
            }),
        };
        if let Some(members) = jwk.as_object_mut() {
            if let Some(kid) = &self.kid {
                members.insert("kid".into(), kid.clone().into());
            }
            members.insert("alg".into(), self.alg.as_str().into());
            members.insert("use".into(), "sig".into());
        }
        jwk
    }

    /// The matching verification key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, JwsError> {
        VerifyingKey::from_jwk(&self.public_jwk())
    }

    /// Signs `claims` as a compact JWS: `header.payload.signature`.
    pub fn sign_compact<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, JwsError> {
        let hint = self.payload_hint.load(Ordering::Relaxed);
        let capacity = self.header_b64.len() + hint + self.signature_b64_len + 2;
        let mut token = String::with_capacity(capacity);
        token.push_str(&self.header_b64);
        token.push('.');
        encode_claims(claims, &mut token)?;
        let payload_len = token.len() - self.header_b64.len() - 1;
        self.payload_hint.store(payload_len, Ordering::Relaxed);

        let signature = self.signature(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_slice(), &mut token);
        Ok(token)
    }

    /// Raw signature over `signing_input` (test vectors need the bare bytes).
    #[cfg(test)]
    pub(super) fn sign_raw(&self, signing_input: &[u8]) -> Result<Vec<u8>, JwsError> {
        Ok(self.signature(signing_input)?.as_slice().to_vec())
    }

    fn signature(&self, message: &[u8]) -> Result<SignatureBuf, JwsError> {
        let failed = |_| JwsError::InvalidKey("signing failed");
        let mut out = SignatureBuf {
            bytes: [0u8; MAX_RSA_SIGNATURE],
            len: 0,
        };
        let fixed = match &self.pair {
            Pair::Rsa(pair) => {
                out.len = pair.public_modulus_len();
                let buffer = out
                    .bytes
                    .get_mut(..out.len)
                    .ok_or(JwsError::InvalidKey("RSA key too large"))?;
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, buffer)
                    .map_err(failed)?;
                return Ok(out);
            }
            Pair::Ec(pair) => pair.sign(&SystemRandom::new(), message).map_err(failed)?,
            Pair::Ed(pair) => pair.sign(message),
        };
        let fixed = fixed.as_ref();
        out.len = fixed.len();
        out.bytes[..fixed.len()].copy_from_slice(fixed);
        Ok(out)
    }
}

const RSA_TOO_SMALL: &str = "RSA keys must be at least 2048 bits";
const RSA_TOO_LARGE: &str = "RSA keys may be at most 8192 bits";

/// An RSA pair of at least 2048 bits.
fn rsa_pair(pair: RsaKeyPair) -> Result<RsaKeyPair, JwsError> {
    if pair.public_modulus_len() < MIN_RSA_MODULUS {
        return Err(JwsError::InvalidKey(RSA_TOO_SMALL));
    }
    Ok(pair)
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> JwsError {
    match e.description_() {
        "TooSmall" => JwsError::InvalidKey(RSA_TOO_SMALL),
        "TooLarge" => JwsError::InvalidKey(RSA_TOO_LARGE),
        _ => JwsError::InvalidKey("not an RSA private key"),
    }
}

thread_local! {
    /// Per-thread JSON scratch buffer, reused across tokens.
    static CLAIMS_JSON: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// Appends base64url(JSON(claims)) to `out`.
pub(super) fn encode_claims<C: Serialize + ?Sized>(
    claims: &C,
    out: &mut String,
) -> Result<(), JwsError> {
    let mut encode = |json: &mut Vec<u8>| {
        json.clear();
        serde_json::to_writer(&mut *json, claims).map_err(JwsError::Claims)?;
        URL_SAFE_NO_PAD.encode_string(&json, out);
        Ok(())
    };
    CLAIMS_JSON.with(|cell| match cell.try_borrow_mut() {
        Ok(mut json) => {
            let result = encode(&mut json);
            // Don't let one huge token pin a huge buffer for the thread's life.
            if json.capacity() > 64 * 1024 {
                *json = Vec::with_capacity(1024);
            }
            result
        }
        // Re-entered from inside a Serialize impl: use a fresh buffer.
        Err(_) => encode(&mut Vec::new()),
    })
}

/// A signature on the stack, so minting a token allocates only the token.
struct SignatureBuf {
    bytes: [u8; MAX_RSA_SIGNATURE],
    len: usize,
}

impl SignatureBuf {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}
