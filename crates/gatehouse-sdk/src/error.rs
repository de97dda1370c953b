//! Why a token or a request was refused.

use std::fmt;

/// Why [`Verifier::verify_token`](crate::Verifier::verify_token) refused a token.
///
/// Every refusal has its own variant so that a backend can log or count them apart; all
/// of them mean "treat the request as signed out".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not a compact JWS (three base64url parts with JSON header and payload); the text
    /// says which part is wrong.
    Malformed(&'static str),
    /// Longer than [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN) bytes; refused before decoding.
    TooLarge,
    /// The header names an algorithm that is not on the allow-list (`none` and the HMAC
    /// algorithms never are).
    AlgorithmNotAllowed(String),
    /// The header's algorithm differs from the one the selected key verifies.
    AlgorithmMismatch,
    /// No key with the token's `kid`, even after refetching the JWKS.
    UnknownKey,
    /// The signature does not match the header and payload.
    InvalidSignature,
    /// `exp` is in the past (beyond the clock skew).
    Expired,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `iss` is not the configured issuer.
    InvalidIssuer,
    /// `azp` is not one of the configured authorized parties.
    UnauthorizedParty,
    /// A claim the verifier needs (`sub`, `exp`, `iss`) is missing or has the wrong type.
    InvalidClaims(&'static str),
    /// The keys could not be fetched (network error, non-200 answer, bad JWKS) and none
    /// are cached.
    KeysUnavailable(String),
}

impl Error {
    /// A stable snake_case name for logs and metrics (`"expired"`, `"invalid_signature"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge => "too_large",
            Self::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::UnauthorizedParty => "unauthorized_party",
            Self::InvalidClaims(_) => "invalid_claims",
            Self::KeysUnavailable(_) => "keys_unavailable",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed token: {what}"),
            Self::TooLarge => write!(f, "token is larger than {} bytes", crate::MAX_TOKEN_LEN),
            Self::AlgorithmNotAllowed(alg) => write!(f, "algorithm {alg:?} is not allowed"),
            Self::AlgorithmMismatch => write!(f, "the token's algorithm does not match its key"),
            Self::UnknownKey => write!(f, "no key with the token's kid"),
            Self::InvalidSignature => write!(f, "invalid signature"),
            Self::Expired => write!(f, "token has expired"),
            Self::NotYetValid => write!(f, "token is not valid yet"),
            Self::InvalidIssuer => write!(f, "token was issued by another issuer"),
            Self::UnauthorizedParty => write!(f, "azp is not an authorized party"),
            Self::InvalidClaims(what) => write!(f, "invalid claims: {what}"),
            Self::KeysUnavailable(why) => write!(f, "verification keys unavailable: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// A configuration the [`VerifierBuilder`](crate::VerifierBuilder) refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub(crate) String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
