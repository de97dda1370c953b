//! HS256 (HMAC-SHA-256) signing, for JWT templates whose verifier holds a shared secret
//! (a database such as Supabase's). Gatehouse itself never accepts HMAC tokens: the
//! verifier in `compact.rs` refuses them.

use std::fmt;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use super::signing::encode_claims;
use super::JwsError;

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// A shared secret that signs HS256 tokens. Its tokens' header is
/// `{"alg":"HS256","typ":"JWT"}`, with no `kid`.
pub struct HmacKey {
    key: hmac::Key,
    header_b64: String,
}

impl HmacKey {
    /// A key from the secret's bytes, used as they are (not base64-decoded).
    pub fn new(secret: &[u8]) -> Result<Self, JwsError> {
        if secret.is_empty() {
            return Err(JwsError::InvalidKey("the HS256 secret is empty"));
        }
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(JwsError::InvalidKey(
                "HS256 secrets must be at least 32 bytes (256 bits)",
            ));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            header_b64: URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        })
    }

    /// Signs `claims` as a compact JWS: `header.payload.signature`.
    pub fn sign_compact<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, JwsError> {
        let mut token = String::with_capacity(self.header_b64.len() + 300);
        token.push_str(&self.header_b64);
        token.push('.');
        encode_claims(claims, &mut token)?;
        let tag = hmac::sign(&self.key, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        Ok(token)
    }

    /// The raw tag over `signing_input` (test vectors need the bare bytes).
    #[cfg(test)]
    pub(super) fn sign_raw(&self, signing_input: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, signing_input).as_ref().to_vec()
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("HmacKey").finish_non_exhaustive()
    }
}
