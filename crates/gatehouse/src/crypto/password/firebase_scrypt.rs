//! Firebase Authentication's modified scrypt, as exported by `firebase auth:export`.
//!
//! Per Firebase's published algorithm (github.com/firebase/scrypt):
//! `key = scrypt(password, salt || salt_separator, N = 2^mem_cost, r = rounds,
//! p = 1, len = 32)`, then the stored hash is AES-256-CTR(key, IV = 0) applied
//! to the project's signer key.

use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_256};
use aws_lc_rs::iv::FixedLength;

use super::super::digest::ct_eq;
use super::encoding::{decode_b64, parse_decimal};

pub(super) const FORMAT: &str = "<base64 hash>$<base64 salt>$<base64 signer key>$<base64 salt separator>$<rounds>$<memory cost> (the project's hash parameters from the Firebase console)";

/// scrypt needs 128 * r * 2^mem_cost bytes; cap it at 256 MiB.
const MAX_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
const MAX_KEY_LEN: usize = 1024;

/// A structurally valid Firebase scrypt digest, all fields decoded.
pub(super) struct Parsed {
    hash: Vec<u8>,
    /// User salt followed by the project's salt separator.
    salt: Vec<u8>,
    signer_key: Vec<u8>,
    params: scrypt::Params,
}

pub(super) fn parse(digest: &str) -> Result<Parsed, &'static str> {
    let fields: Vec<&str> = digest.split('$').collect();
    let [hash, salt, signer_key, separator, rounds, mem_cost] = fields[..] else {
        return Err("must be six $-separated fields");
    };
    let decode = |field: &str, problem| decode_b64(field).ok_or(problem);
    let hash = decode(hash, "hash is not valid base64")?;
    let mut salt = decode(salt, "salt is not valid base64")?;
    let signer_key = decode(signer_key, "signer key is not valid base64")?;
    salt.extend(decode(separator, "salt separator is not valid base64")?);
    if signer_key.is_empty() || signer_key.len() > MAX_KEY_LEN || hash.len() != signer_key.len() {
        return Err("hash and signer key must be equally long (usually 64 bytes)");
    }
    let rounds = parse_decimal(rounds).ok_or("rounds must be a decimal number")?;
    let mem_cost = parse_decimal(mem_cost).ok_or("memory cost must be a decimal number")?;
    if rounds == 0 || !(1..=24).contains(&mem_cost) {
        return Err("rounds must be at least 1 and memory cost 1 to 24");
    }
    if (128 * u64::from(rounds)) << mem_cost > MAX_MEMORY_BYTES {
        return Err("rounds and memory cost need more than the 256 MiB import limit");
    }
    let log_n = u8::try_from(mem_cost).map_err(|_| "memory cost out of range")?;
    let params = scrypt::Params::new(log_n, rounds, 1, 32)
        .map_err(|_| "rounds and memory cost are not valid scrypt parameters")?;
    Ok(Parsed {
        hash,
        salt,
        signer_key,
        params,
    })
}

pub(super) fn verify(password: &str, parsed: &Parsed) -> bool {
    let mut key = [0u8; 32];
    if scrypt::scrypt(password.as_bytes(), &parsed.salt, &parsed.params, &mut key).is_err() {
        return false;
    }
    let mut computed = parsed.signer_key.clone();
    let encrypted = UnboundCipherKey::new(&AES_256, &key)
        .and_then(EncryptingKey::ctr)
        .and_then(|cipher| {
            // A zero IV is what Firebase uses; the key is unique per password.
            let iv = EncryptionContext::Iv128(FixedLength::from([0u8; 16]));
            cipher.less_safe_encrypt(&mut computed, iv)
        });
    encrypted.is_ok() && ct_eq(&computed, &parsed.hash)
}
