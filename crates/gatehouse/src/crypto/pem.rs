//! PEM-armoured PKCS#8 private keys (Sign in with Apple's `.p8` files).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::jws::{Algorithm, JwsError, SigningKey};

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, JwsError> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    // Configuration often carries the PEM on one line with literal `\n`s.
    let text = pem.replace("\\n", "\n");
    let start = text
        .find(BEGIN)
        .ok_or(JwsError::InvalidKey("expected -----BEGIN PRIVATE KEY-----"))?
        + BEGIN.len();
    let end = text[start..]
        .find(END)
        .ok_or(JwsError::InvalidKey("expected -----END PRIVATE KEY-----"))?
        + start;
    let body: String = text[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| JwsError::InvalidKey("the PEM body is not base64"))
}

/// An ES256 signing key from a PKCS#8 PEM, with `kid` in its token headers.
pub fn es256_signing_key(pem: &str, kid: &str) -> Result<SigningKey, JwsError> {
    SigningKey::from_pkcs8(Algorithm::ES256, kid.to_string(), &pkcs8_der(pem)?)
}

/// A PKCS#8 DER key as PEM (tests and tools that write keys).
pub fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_p256_key_and_refuses_others() {
        let key = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
        let pem = to_pem(&key.pkcs8_der());
        let loaded = es256_signing_key(&pem, "K1").unwrap();
        assert_eq!(loaded.kid(), "K1");
        assert_eq!(loaded.public_jwk()["x"], key.public_jwk()["x"]);
        // One line with literal \n, as an environment variable carries it.
        assert!(es256_signing_key(&pem.replace('\n', "\\n"), "K1").is_ok());
        let ed = SigningKey::generate(Algorithm::EdDSA, "e".into()).unwrap();
        assert!(es256_signing_key(&to_pem(&ed.pkcs8_der()), "K").is_err());
        assert!(es256_signing_key("not a pem", "K").is_err());
        assert!(es256_signing_key(
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----",
            "K"
        )
        .is_err());
    }
}
