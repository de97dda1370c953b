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
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"same", b"same"));
        assert!(!ct_eq(b"same", b"sane"));
        assert!(!ct_eq(b"same", b"same!"));
        assert!(ct_eq(b"", b""));
    }
}
