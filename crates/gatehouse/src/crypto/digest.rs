//! One-way digests of opaque secrets and constant-time comparison.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lower-case hex SHA-256 of `token`.
///
/// Opaque tokens, one-time codes, session cookies and API secret keys are
/// stored only as this digest: they already carry 128+ bits of entropy, so a
/// fast unsalted hash is enough and lets us look rows up by it.
pub fn token_hash(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two byte strings in time independent of their contents.
///
/// Only the lengths may leak, which is fine for digests and MACs of fixed size.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// HMAC-SHA-256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex HMAC-SHA-256 of `message` under `key`.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    to_hex(&hmac_sha256(key, message))
}

/// Standard base64 of the SHA-256 of `text` (the form CSP hash sources take).
pub fn sha256_base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// The first `n` hex digits of the SHA-256 of `bytes` (names of cacheable assets).
pub fn short_hash(bytes: &[u8], n: usize) -> String {
    let mut hex = to_hex(&Sha256::digest(bytes));
    hex.truncate(n);
    hex
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_matches_the_sha256_test_vector() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token_hash("").len(), 64);
    }

    #[test]
    fn token_hash_differs_per_token() {
        assert_ne!(token_hash("a"), token_hash("b"));
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"same", b"same"));
        assert!(!ct_eq(b"same", b"sane"));
        assert!(!ct_eq(b"same", b"same!"));
        assert!(ct_eq(b"", b""));
    }
}
