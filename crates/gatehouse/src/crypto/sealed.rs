//! Authenticated encryption of secrets at rest under the server's master key.
//!
//! Sealed format: `version (1) || nonce (12) || AES-256-GCM ciphertext+tag`.
//! Nonces are random: with 96-bit nonces that stays safe for billions of
//! seals per key, far beyond what signing keys and TOTP secrets need.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::random::random_bytes;

const VERSION_AES256_GCM: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// The 256-bit key that seals secrets stored in the database.
///
/// `Debug` never prints the key, and the bytes are wiped on drop.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

/// Why a master key string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    /// The text is not standard base64.
    #[error("master key is not valid standard base64 (expected 44 characters, e.g. the output of `openssl rand -base64 32`)")]
    NotBase64,
    /// The text decodes, but not to 32 bytes.
    #[error("master key must decode to exactly 32 bytes, got {0} bytes (generate one with `openssl rand -base64 32`)")]
    WrongLength(usize),
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Too short to contain a version, nonce and tag.
    #[error("sealed value is truncated")]
    Truncated,
    /// Sealed by a format this build does not know.
    #[error("sealed value has unknown format version {0}")]
    UnknownVersion(u8),
    /// Wrong key, wrong associated data, or tampered bytes.
    #[error("sealed value failed authentication (wrong master key, wrong context, or tampered)")]
    Authentication,
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// Parses a key from standard base64 (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::NotBase64)?;
        let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
            .map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// The key as standard base64, for writing to a config or secret store.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A key for one purpose (`purpose` names it), derived from this one with
    /// HMAC-SHA-256, so that a MAC key in use elsewhere never is the master key itself.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        super::digest::hmac_sha256(&self.0, purpose.as_bytes())
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad`.
    ///
    /// Pass something identifying the owning row (e.g. a key id) as `aad` so a
    /// ciphertext copied into another row fails to open.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only fails for plaintexts beyond GCM's 64 GiB limit.
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION_AES256_GCM);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts a value made by [`seal`](Self::seal) with the same key and `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Truncated)?;
        if version != VERSION_AES256_GCM {
            return Err(SealError::UnknownVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| SealError::Authentication)
    }

    /// [`seal`](Self::seal) for text columns: the sealed bytes as standard base64.
    pub fn seal_text(&self, plaintext: &str, aad: &str) -> String {
        STANDARD.encode(self.seal(plaintext.as_bytes(), aad.as_bytes()))
    }

    /// Opens what [`seal_text`](Self::seal_text) sealed with the same `aad`.
    pub fn open_text(&self, sealed: &str, aad: &str) -> Result<String, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Truncated)?;
        String::from_utf8(self.open(&bytes, aad.as_bytes())?).map_err(|_| SealError::Truncated)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.fill(0);
        // Keeps the wipe from being optimised away as a dead store.
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"signing key der", b"key_123");
        assert_eq!(sealed[0], VERSION_AES256_GCM);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 15 + TAG_LEN);
        assert_eq!(key.open(&sealed, b"key_123").unwrap(), b"signing key der");
        assert_eq!(key.open(&key.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn nonces_are_fresh() {
        let key = MasterKey::generate();
        assert_ne!(key.seal(b"same", b""), key.seal(b"same", b""));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = MasterKey::generate().seal(b"secret", b"aad");
        let other = MasterKey::generate();
        assert_eq!(other.open(&sealed, b"aad"), Err(SealError::Authentication));
    }

    #[test]
    fn wrong_aad_fails() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret", b"key_1");
        assert_eq!(key.open(&sealed, b"key_2"), Err(SealError::Authentication));
    }

    #[test]
    fn tampering_fails() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret", b"aad");
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(key.open(&bad, b"aad"), Err(SealError::Authentication));
        }
        let mut bad_version = sealed.clone();
        bad_version[0] = 9;
        assert_eq!(
            key.open(&bad_version, b"aad"),
            Err(SealError::UnknownVersion(9))
        );
        assert_eq!(
            key.open(&sealed[..sealed.len() - 1], b"aad"),
            Err(SealError::Authentication)
        );
        assert_eq!(key.open(&sealed[..12], b"aad"), Err(SealError::Truncated));
        assert_eq!(key.open(&[], b"aad"), Err(SealError::Truncated));
    }

    #[test]
    fn base64_round_trip_and_errors() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        assert_eq!(text.len(), 44);
        let again = MasterKey::from_base64(&format!(" {text}\n")).unwrap();
        assert_eq!(again.open(&key.seal(b"x", b""), b"").unwrap(), b"x");

        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            MasterKeyError::NotBase64
        );
        let short = MasterKey::from_base64(&STANDARD.encode([0u8; 16])).unwrap_err();
        assert_eq!(short, MasterKeyError::WrongLength(16));
        assert!(short.to_string().contains("exactly 32 bytes"));
    }

    #[test]
    fn text_round_trip_is_bound_to_its_aad() {
        let key = MasterKey::generate();
        let sealed = key.seal_text("gho_token", "external_account:eac_1:access");
        assert!(!sealed.contains("gho_token"));
        assert_eq!(
            key.open_text(&sealed, "external_account:eac_1:access")
                .unwrap(),
            "gho_token"
        );
        assert!(key
            .open_text(&sealed, "external_account:eac_2:access")
            .is_err());
        assert!(key.open_text("not base64!", "x").is_err());
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = MasterKey::from_base64(&STANDARD.encode([0x41u8; 32])).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "MasterKey(<redacted>)");
        assert!(!shown.contains(&key.to_base64()));
    }
}
