//! The JWS algorithms Gatehouse signs and accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::JwsError;

/// A JWS `alg` we support; everything else (`none`, HMAC, ...) is refused.
// Variant names are the JOSE registry names, verbatim.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    RS256,
    /// ECDSA on P-256 with SHA-256, fixed-width signatures.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// The registry name used in `alg` headers and JWKs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = JwsError;

    /// Exact, case-sensitive match: `"rs256"` or `"none"` are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(Self::RS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            // Bound the echoed value: it comes from untrusted headers.
            other => Err(JwsError::UnsupportedAlgorithm(
                other.chars().take(32).collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_names_only() {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
        for bad in ["none", "None", "HS256", "rs256", "eddsa", "RS256 ", ""] {
            assert!(matches!(
                bad.parse::<Algorithm>(),
                Err(JwsError::UnsupportedAlgorithm(_))
            ));
        }
    }

    #[test]
    fn serde_uses_registry_names() {
        assert_eq!(
            serde_json::to_string(&Algorithm::EdDSA).unwrap(),
            "\"EdDSA\""
        );
        let alg: Algorithm = serde_json::from_str("\"ES256\"").unwrap();
        assert_eq!(alg, Algorithm::ES256);
        assert!(serde_json::from_str::<Algorithm>("\"HS256\"").is_err());
    }
}
