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

/// A private signing key with its `kid`, ready to mint compact JWS tokens.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: Pair,
    pkcs8: Vec<u8>,
    /// base64url of `{"alg":..,"kid":..,"typ":"JWT"}`, computed once.
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
    kid: &'a str,
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
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|_| JwsError::InvalidKey("not an RSA PKCS#8 private key"))?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS {
                    return Err(JwsError::InvalidKey("RSA keys must be at least 2048 bits"));
                }
                Pair::Rsa(pair)
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
        let header = ProtectedHeader {
            alg,
            kid: &kid,
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
    /// before storing it).
    pub fn pkcs8_der(&self) -> Vec<u8> {
        self.pkcs8.clone()
    }

    /// The key id put in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
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
            members.insert("kid".into(), self.kid.clone().into());
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

thread_local! {
    /// Per-thread JSON scratch buffer, reused across tokens.
    static CLAIMS_JSON: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// Appends base64url(JSON(claims)) to `out`.
fn encode_claims<C: Serialize + ?Sized>(claims: &C, out: &mut String) -> Result<(), JwsError> {
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
