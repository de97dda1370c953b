//! Prefixed, time-sortable unique ids (`usr_0ujtsYcgvSTl8PAuAdqWYSMnLOv`).
//!
//! The suffix is a KSUID: 4 bytes of big-endian seconds since the KSUID epoch
//! followed by 16 random bytes, written as 27 base62 digits. Fixed width and an
//! ASCII-ordered alphabet make string order equal creation order (to the
//! second), which keeps B-tree indexes append-mostly.

use std::time::{SystemTime, UNIX_EPOCH};

use super::random::{unique_bytes, BASE62};

/// KSUID epoch (2014-05-13T16:53:20Z), in Unix seconds.
const KSUID_EPOCH: u64 = 1_400_000_000;
/// 62^27 > 2^160, so 27 digits hold any 20-byte KSUID.
const KSUID_CHARS: usize = 27;

/// A new id: `"{prefix}_{27-char base62 KSUID}"`.
pub fn new_id(prefix: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut id = String::with_capacity(prefix.len() + 1 + KSUID_CHARS);
    id.push_str(prefix);
    id.push('_');
    id.push_str(&ksuid_at(now, unique_bytes::<16>()));
    id
}

/// The KSUID string for a Unix time and payload.
fn ksuid_at(unix_secs: u64, payload: [u8; 16]) -> String {
    // Clamp instead of wrapping so a bad clock can't reorder ids.
    let secs = u32::try_from(unix_secs.saturating_sub(KSUID_EPOCH)).unwrap_or(u32::MAX);
    let mut raw = [0u8; 20];
    raw[..4].copy_from_slice(&secs.to_be_bytes());
    raw[4..].copy_from_slice(&payload);
    base62_fixed(&raw)
}

/// Big-endian base62 of 20 bytes, left-padded with '0' to 27 characters.
fn base62_fixed(raw: &[u8; 20]) -> String {
    // Treat the bytes as five big-endian u32 limbs and long-divide by 62.
    let mut limbs = [0u32; 5];
    for (limb, chunk) in limbs.iter_mut().zip(raw.chunks_exact(4)) {
        *limb = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let mut digits = [b'0'; KSUID_CHARS];
    for slot in digits.iter_mut().rev() {
        let mut remainder = 0u64;
        for limb in &mut limbs {
            let value = (remainder << 32) | u64::from(*limb);
            // value < 62 * 2^32, so the quotient fits in u32.
            *limb = (value / 62) as u32;
            remainder = value % 62;
        }
        *slot = BASE62[remainder as usize];
    }
    digits.iter().map(|&c| char::from(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn matches_the_reference_ksuid_encoding() {
        // Example from segmentio/ksuid's README: timestamp 107608047,
        // payload B5A1CD34B5F99D1154FB6853345C9735.
        let payload = [
            0xB5, 0xA1, 0xCD, 0x34, 0xB5, 0xF9, 0x9D, 0x11, 0x54, 0xFB, 0x68, 0x53, 0x34, 0x5C,
            0x97, 0x35,
        ];
        assert_eq!(
            ksuid_at(KSUID_EPOCH + 107_608_047, payload),
            "0ujtsYcgvSTl8PAuAdqWYSMnLOv"
        );
    }

    #[test]
    fn extremes_are_zero_padded_and_fit() {
        assert_eq!(base62_fixed(&[0; 20]), "0".repeat(27));
        assert_eq!(base62_fixed(&[0xff; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
    }

    #[test]
    fn has_prefix_length_and_charset() {
        let id = new_id("usr");
        assert_eq!(id.len(), 4 + 27);
        let (prefix, ksuid) = id.split_once('_').unwrap();
        assert_eq!(prefix, "usr");
        assert!(ksuid.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn sorts_by_second_whatever_the_payload() {
        let t = KSUID_EPOCH + 300_000_000;
        for _ in 0..1000 {
            let earlier = ksuid_at(t, unique_bytes());
            let later = ksuid_at(t + 1, unique_bytes());
            assert!(earlier < later, "{earlier} !< {later}");
        }
        assert!(ksuid_at(t, [0xff; 16]) < ksuid_at(t + 1, [0; 16]));
    }

    #[test]
    fn clamps_times_outside_the_epoch_range() {
        assert_eq!(ksuid_at(0, [0; 16]), ksuid_at(KSUID_EPOCH, [0; 16]));
        assert!(ksuid_at(u64::MAX, [0; 16]) > ksuid_at(KSUID_EPOCH + 1, [0; 16]));
    }

    #[test]
    fn ids_are_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_id("x")).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
