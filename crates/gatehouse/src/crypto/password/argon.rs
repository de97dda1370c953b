//! Argon2 (id and i) PHC strings: our own hashes and imported ones.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::super::digest::ct_eq;
use super::super::random::random_bytes;
use super::DigestKind;

pub(super) const ARGON2ID_FORMAT: &str =
    "a PHC string like $argon2id$v=19$m=19456,t=2,p=1$<base64 salt>$<base64 hash>";
pub(super) const ARGON2I_FORMAT: &str =
    "a PHC string like $argon2i$v=19$m=4096,t=3,p=1$<base64 salt>$<base64 hash>";

/// Our parameters (OWASP's argon2id baseline).
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// Caps on imported parameters: 256 MiB and 16 passes bound one check.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;
const MAX_SALT_LEN: usize = 64;

/// A structurally valid argon2 PHC string.
pub(super) struct Parsed<'a> {
    hash: PasswordHash<'a>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
}

fn our_params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("constant argon2 parameters are valid")
}

pub(super) fn hash(password: &str) -> String {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt length");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, our_params())
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashing with valid parameters cannot fail")
        .to_string()
}

pub(super) fn parse(kind: DigestKind, digest: &str) -> Result<Parsed<'_>, &'static str> {
    let hash = PasswordHash::new(digest).map_err(|_| "not a PHC string")?;
    let algorithm = match (kind, hash.algorithm.as_str()) {
        (DigestKind::Argon2id, "argon2id") => Algorithm::Argon2id,
        (DigestKind::Argon2i, "argon2i") => Algorithm::Argon2i,
        _ => return Err("wrong algorithm identifier"),
    };
    // The reference implementation reads a missing `v=` as version 0x10.
    let version = match hash.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err("unknown argon2 version"),
    };
    let params = Params::try_from(&hash).map_err(|_| "invalid m, t or p parameters")?;
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        return Err("cost parameters above the import limit (m <= 262144, t <= 16, p <= 16)");
    }
    let salt = hash.salt.ok_or("missing salt")?;
    let mut salt_buf = [0u8; MAX_SALT_LEN];
    let salt_len = salt
        .decode_b64(&mut salt_buf)
        .map_err(|_| "salt is not valid base64")?
        .len();
    if salt_len < 8 {
        return Err("salt shorter than 8 bytes");
    }
    if hash.hash.is_none() {
        return Err("missing hash");
    }
    Ok(Parsed {
        hash,
        algorithm,
        version,
        params,
    })
}

pub(super) fn verify(password: &str, parsed: &Parsed<'_>) -> bool {
    let (Some(salt), Some(expected)) = (parsed.hash.salt, parsed.hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; MAX_SALT_LEN];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(parsed.algorithm, parsed.version, parsed.params.clone());
    hasher
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .is_ok()
        && ct_eq(&out, expected.as_bytes())
}

/// Whether an argon2id digest is at least as strong as what we produce today.
pub(super) fn meets_policy(parsed: &Parsed<'_>) -> bool {
    parsed.algorithm == Algorithm::Argon2id
        && parsed.version == Version::V0x13
        && parsed.params.m_cost() >= M_COST_KIB
        && parsed.params.t_cost() >= T_COST
        && parsed.params.p_cost() >= P_COST
}
