//! A thin JWS (RFC 7515) layer over aws-lc-rs.
//!
//! Signing keeps the parsed key pair and a pre-encoded header, so minting a
//! token costs one JSON serialization, two base64 passes and the signature
//! itself. Verification is for tests, the CLI and key-rotation checks; it
//! checks signatures only, never claims such as `exp`, and never accepts HMAC: HS256
//! (`hmac.rs`) and keys loaded from PEM (`custom.rs`) exist only to sign tokens of JWT
//! templates for verifiers that hold that key.

mod algorithm;
mod compact;
mod custom;
mod hmac;
mod signing;
mod verifying;

#[cfg(test)]
mod tests;

pub use algorithm::Algorithm;
pub use compact::{decode_unverified, verify_compact, Header};
pub use custom::{CustomKey, CUSTOM_ALGORITHMS};
pub use hmac::{HmacKey, MIN_HMAC_SECRET_BYTES};
pub use signing::SigningKey;
pub use verifying::VerifyingKey;

/// Why a key could not be built or a token could not be signed or verified.
///
/// Messages never include key material or token contents.
#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    /// Not a compact JWS we can parse.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `none`, HMAC or any algorithm other than RS256, ES256 and EdDSA.
    #[error("unsupported or forbidden JWS algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// No key matches the token's `kid`.
    #[error("no verification key matches the token's kid")]
    UnknownKey,
    /// The key selected by `kid` is for another algorithm.
    #[error("token algorithm {token} does not match the key's algorithm {key}")]
    AlgorithmMismatch {
        /// `alg` from the token header.
        token: Algorithm,
        /// Algorithm of the selected key.
        key: Algorithm,
    },
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A JWK that is not a usable public signing key.
    #[error("invalid JWK: {0}")]
    InvalidJwk(&'static str),
    /// Key generation failed or the PKCS#8 bytes were rejected.
    #[error("invalid signing key: {0}")]
    InvalidKey(&'static str),
    /// The claims could not be serialized to JSON.
    #[error("could not serialize claims: {0}")]
    Claims(#[source] serde_json::Error),
}
