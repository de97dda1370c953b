//! bcrypt digests (`$2a$`, `$2b$`, `$2y$`), e.g. from Auth0, PHP or Rails.

pub(super) const FORMAT: &str =
    "a 60-character bcrypt string like $2b$12$<22-char salt><31-char hash> ($2a$, $2b$ or $2y$)";

/// Cost 16 is ~65k Blowfish key setups (seconds of CPU); refuse more on import.
const MAX_COST: u32 = 16;
const MIN_COST: u32 = 4;

/// bcrypt's own base64 alphabet.
fn is_bcrypt_b64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'/'
}

pub(super) fn parse(digest: &str) -> Result<&str, &'static str> {
    let bytes = digest.as_bytes();
    if bytes.len() != 60 {
        return Err("must be exactly 60 characters");
    }
    if !matches!(&bytes[..4], b"$2a$" | b"$2b$" | b"$2y$") {
        return Err("must start with $2a$, $2b$ or $2y$");
    }
    let cost = std::str::from_utf8(&bytes[4..6])
        .ok()
        .and_then(super::encoding::parse_decimal)
        .ok_or("cost must be two digits")?;
    if !(MIN_COST..=MAX_COST).contains(&cost) {
        return Err("cost must be between 04 and 16");
    }
    if bytes[6] != b'$' || !bytes[7..].iter().copied().all(is_bcrypt_b64) {
        return Err("salt and hash must use the bcrypt base64 alphabet");
    }
    Ok(digest)
}

pub(super) fn verify(password: &str, digest: &str) -> bool {
    // `verify` truncates at 72 bytes like every other bcrypt implementation,
    // and compares the hashes with `subtle` internally.
    bcrypt::verify(password.as_bytes(), digest).unwrap_or(false)
}
