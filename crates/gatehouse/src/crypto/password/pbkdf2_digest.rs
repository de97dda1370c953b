//! PBKDF2-HMAC-SHA256 digests: our import format and Django's.

use pbkdf2::pbkdf2_hmac;
use sha2::Sha256;

use super::super::digest::ct_eq;
use super::encoding::{decode_b64, parse_decimal};

pub(super) const FORMAT: &str =
    "pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash> (standard base64)";
pub(super) const DJANGO_FORMAT: &str =
    "Django's pbkdf2_sha256$<iterations>$<salt as plain text>$<base64 hash>";

/// Django 5 uses ~1M iterations; 10M bounds one check to a few seconds.
const MAX_ITERATIONS: u32 = 10_000_000;
const MAX_SALT_LEN: usize = 1024;
const MIN_HASH_LEN: usize = 16;
const MAX_HASH_LEN: usize = 64;

/// A structurally valid PBKDF2 digest, salt and hash decoded.
pub(super) struct Parsed {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// Our format: the salt is base64.
pub(super) fn parse(digest: &str) -> Result<Parsed, &'static str> {
    parse_with(digest, |salt| {
        decode_b64(salt).ok_or("salt is not valid base64")
    })
}

/// Django's format: the salt is used as its literal text.
pub(super) fn parse_django(digest: &str) -> Result<Parsed, &'static str> {
    parse_with(digest, |salt| Ok(salt.as_bytes().to_vec()))
}

fn parse_with(
    digest: &str,
    salt_bytes: impl FnOnce(&str) -> Result<Vec<u8>, &'static str>,
) -> Result<Parsed, &'static str> {
    let mut fields = digest.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err("must be four $-separated fields starting with pbkdf2_sha256");
    };
    let iterations = parse_decimal(iterations).ok_or("iterations must be a decimal number")?;
    if !(1..=MAX_ITERATIONS).contains(&iterations) {
        return Err("iterations must be between 1 and 10000000");
    }
    let salt = salt_bytes(salt)?;
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err("salt must be 1 to 1024 bytes");
    }
    let hash = decode_b64(hash).ok_or("hash is not valid base64")?;
    if !(MIN_HASH_LEN..=MAX_HASH_LEN).contains(&hash.len()) {
        return Err("hash must be 16 to 64 bytes");
    }
    Ok(Parsed {
        iterations,
        salt,
        hash,
    })
}

pub(super) fn verify(password: &str, parsed: &Parsed) -> bool {
    let mut out = [0u8; MAX_HASH_LEN];
    let out = &mut out[..parsed.hash.len()];
    pbkdf2_hmac::<Sha256>(password.as_bytes(), &parsed.salt, parsed.iterations, out);
    ct_eq(out, &parsed.hash)
}
