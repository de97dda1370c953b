//! Random bytes, tokens and codes drawn from the operating system's CSPRNG, and the
//! random part of public identifiers drawn from a per-thread CSPRNG seeded by it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;

/// The 62 characters of [`random_base62`], in ASCII order.
pub(super) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `N` bytes straight from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `N` bytes from this thread's CSPRNG (rand's `ThreadRng`: ChaCha12, seeded from the OS
/// and reseeded from it every 64 KiB of output), for the random part of *public*
/// identifiers drawn on every request: ids and a token's `jti`. One system call per
/// draw is a measurable share of the token endpoint. Secrets use [`random_bytes`].
pub fn unique_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// `n` characters from `0-9A-Za-z` drawn like [`unique_bytes`]: a public, unique value
/// (a token's `jti`), never a secret.
pub fn unique_base62(n: usize) -> String {
    from_alphabet(BASE62, n, unique_bytes::<64>)
}

/// A 256-bit opaque token, base64url without padding (43 characters).
///
/// Used for cookies, email links and other bearer secrets; store only its
/// [`token_hash`](super::token_hash).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `n` uniformly random decimal digits (one-time codes).
pub fn random_digits(n: usize) -> String {
    random_from(&BASE62[..10], n)
}

/// `n` uniformly random characters from `0-9A-Za-z`.
pub fn random_base62(n: usize) -> String {
    random_from(BASE62, n)
}

/// `n` uniformly random characters from an alphabet without look-alikes (no 0/o, 1/l/i):
/// codes people copy by hand, such as backup codes.
pub fn random_readable(n: usize) -> String {
    random_from(b"abcdefghjkmnpqrstuvwxyz23456789", n)
}

fn random_from(alphabet: &[u8], n: usize) -> String {
    from_alphabet(alphabet, n, random_bytes::<64>)
}

/// `n` characters of `alphabet`, from bytes drawn 64 at a time. Bytes at or above the
/// largest multiple of the alphabet's length are rejected, so there is no modulo bias.
fn from_alphabet(alphabet: &[u8], n: usize, mut draw: impl FnMut() -> [u8; 64]) -> String {
    debug_assert!((1..=256).contains(&alphabet.len()));
    let zone = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in draw() {
            if out.len() == n {
                break;
            }
            if usize::from(b) < zone {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn random_bytes_fills_the_array() {
        let a = random_bytes::<32>();
        let b = random_bytes::<32>();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn random_token_is_256_bits_of_base64url() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        let tokens: HashSet<String> = (0..1000).map(|_| random_token()).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn random_digits_are_digits() {
        for n in [0, 1, 6, 8, 32] {
            let code = random_digits(n);
            assert_eq!(code.len(), n);
            assert!(code.bytes().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn random_base62_uses_the_alphabet() {
        let s = random_base62(200);
        assert_eq!(s.len(), 200);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    /// Loose uniformity check: every symbol's frequency stays within 20% of
    /// the mean (a biased `% 10` over bytes would be off by ~2.5% only, so
    /// this is a smoke test; the unbiasedness comes from rejecting bytes past
    /// the last whole multiple of the alphabet's length).
    fn assert_roughly_uniform(sample: &str, alphabet: &[u8]) {
        let mut counts = [0usize; 256];
        for c in sample.bytes() {
            counts[usize::from(c)] += 1;
        }
        let mean = sample.len() as f64 / alphabet.len() as f64;
        for &symbol in alphabet {
            let seen = counts[usize::from(symbol)] as f64;
            assert!(
                (seen - mean).abs() < mean * 0.2,
                "symbol {} seen {seen} times, mean {mean}",
                char::from(symbol)
            );
        }
    }

    #[test]
    fn digits_and_base62_are_roughly_uniform() {
        assert_roughly_uniform(&random_digits(50_000), &BASE62[..10]);
        assert_roughly_uniform(&random_base62(62_000), BASE62);
        assert_roughly_uniform(&unique_base62(62_000), BASE62);
    }

    #[test]
    fn unique_values_differ_across_draws_and_threads() {
        let here: HashSet<[u8; 16]> = (0..1000).map(|_| unique_bytes::<16>()).collect();
        assert_eq!(here.len(), 1000);
        let there: Vec<[u8; 16]> =
            std::thread::spawn(|| (0..1000).map(|_| unique_bytes()).collect())
                .join()
                .unwrap();
        assert!(
            there.iter().all(|b| !here.contains(b)),
            "threads draw different streams"
        );
        let jti = unique_base62(20);
        assert_eq!(jti.len(), 20);
        assert!(jti.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
