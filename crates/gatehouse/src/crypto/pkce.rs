//! PKCE (RFC 7636): a random code verifier and its `S256` challenge.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::random::random_token;

/// A fresh code verifier: 256 random bits, base64url (43 characters, within the 43 to
/// 128 the RFC allows).
pub fn new_verifier() -> String {
    random_token()
}

/// The `S256` code challenge of a verifier: base64url(SHA-256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_long_and_fresh() {
        let (a, b) = (new_verifier(), new_verifier());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
