//! Password hashing for new passwords (argon2id) and verification of digests
//! imported from other systems.
//!
//! Imported digests carry their own cost parameters, so every parser caps
//! them: a hostile import must not turn one login into minutes of CPU or
//! gigabytes of memory.

mod argon;
mod bcrypt_digest;
mod encoding;
mod firebase_scrypt;
mod hash_threads;
mod pbkdf2_digest;
mod pool;
mod standing_queue;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

pub use pool::{HashPool, Overloaded};

/// The digest formats we can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// PHC `$argon2id$...` (also what [`hash_password`] produces).
    Argon2id,
    /// PHC `$argon2i$...`.
    Argon2i,
    /// `$2a$`, `$2b$` or `$2y$` bcrypt.
    Bcrypt,
    /// `pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>`.
    Pbkdf2Sha256,
    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.
    Pbkdf2Sha256Django,
    /// Firebase's modified scrypt, as exported by the Firebase CLI.
    ScryptFirebase,
}

const ALL_KINDS: [DigestKind; 6] = [
    DigestKind::Argon2id,
    DigestKind::Argon2i,
    DigestKind::Bcrypt,
    DigestKind::Pbkdf2Sha256,
    DigestKind::Pbkdf2Sha256Django,
    DigestKind::ScryptFirebase,
];

impl DigestKind {
    /// The name used in import files and APIs, e.g. `pbkdf2_sha256_django`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Argon2i => "argon2i",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
            Self::Pbkdf2Sha256Django => "pbkdf2_sha256_django",
            Self::ScryptFirebase => "scrypt_firebase",
        }
    }

    /// Human description of the accepted format, for error messages.
    pub fn expected_format(self) -> &'static str {
        match self {
            Self::Argon2id => argon::ARGON2ID_FORMAT,
            Self::Argon2i => argon::ARGON2I_FORMAT,
            Self::Bcrypt => bcrypt_digest::FORMAT,
            Self::Pbkdf2Sha256 => pbkdf2_digest::FORMAT,
            Self::Pbkdf2Sha256Django => pbkdf2_digest::DJANGO_FORMAT,
            Self::ScryptFirebase => firebase_scrypt::FORMAT,
        }
    }
}

impl fmt::Display for DigestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DigestKind {
    type Err = DigestError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ALL_KINDS
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| DigestError::UnknownKind(name.chars().take(40).collect()))
    }
}

/// Why a digest was refused at import time. Never contains the digest itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not one of the supported kind names.
    #[error("unknown password digest kind {0:?}; expected one of argon2id, argon2i, bcrypt, pbkdf2_sha256, pbkdf2_sha256_django, scrypt_firebase")]
    UnknownKind(String),
    /// The digest does not have the kind's structure, or its cost is out of bounds.
    #[error("invalid {kind} digest: {problem}; expected {expected}", expected = .kind.expected_format())]
    Invalid {
        /// The kind the digest was declared as.
        kind: DigestKind,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// A digest that passed its structural checks.
enum Parsed<'a> {
    Argon(Box<argon::Parsed<'a>>),
    Bcrypt(&'a str),
    Pbkdf2(pbkdf2_digest::Parsed),
    Firebase(firebase_scrypt::Parsed),
}

fn parse(kind: DigestKind, digest: &str) -> Result<Parsed<'_>, DigestError> {
    let parsed = match kind {
        DigestKind::Argon2id | DigestKind::Argon2i => {
            argon::parse(kind, digest).map(|p| Parsed::Argon(Box::new(p)))
        }
        DigestKind::Bcrypt => bcrypt_digest::parse(digest).map(Parsed::Bcrypt),
        DigestKind::Pbkdf2Sha256 => pbkdf2_digest::parse(digest).map(Parsed::Pbkdf2),
        DigestKind::Pbkdf2Sha256Django => pbkdf2_digest::parse_django(digest).map(Parsed::Pbkdf2),
        DigestKind::ScryptFirebase => firebase_scrypt::parse(digest).map(Parsed::Firebase),
    };
    parsed.map_err(|problem| DigestError::Invalid { kind, problem })
}

/// Hashes a new password: argon2id, m=19456 KiB, t=2, p=1, 16-byte salt, PHC string.
pub fn hash_password(password: &str) -> String {
    argon::hash(password)
}

/// Structural check of an imported digest, with a message saying what is expected.
pub fn validate_digest(kind: DigestKind, digest: &str) -> Result<(), DigestError> {
    parse(kind, digest).map(drop)
}

/// Whether `password` matches `digest`. Malformed digests simply don't match.
///
/// Hash outputs are compared in constant time.
pub fn verify_password(password: &str, kind: DigestKind, digest: &str) -> bool {
    match parse(kind, digest) {
        Ok(Parsed::Argon(parsed)) => argon::verify(password, &parsed),
        Ok(Parsed::Bcrypt(digest)) => bcrypt_digest::verify(password, digest),
        Ok(Parsed::Pbkdf2(parsed)) => pbkdf2_digest::verify(password, &parsed),
        Ok(Parsed::Firebase(parsed)) => firebase_scrypt::verify(password, &parsed),
        Err(_) => false,
    }
}

/// True unless `digest` is argon2id with at least our current parameters, so
/// a successful login with a legacy or weaker digest should re-hash.
pub fn needs_rehash(kind: DigestKind, digest: &str) -> bool {
    match parse(kind, digest) {
        Ok(Parsed::Argon(parsed)) if kind == DigestKind::Argon2id => !argon::meets_policy(&parsed),
        _ => true,
    }
}

/// Burns the time of one real argon2id verification and discards the result.
///
/// Call it when the account does not exist, so unknown identifiers can't be
/// told apart from wrong passwords by timing.
pub fn dummy_verify(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let digest = DUMMY.get_or_init(|| hash_password(&super::random::random_token()));
    std::hint::black_box(verify_password(password, DigestKind::Argon2id, digest));
}
