//! PEM-armoured private keys: PKCS#8 (`PRIVATE KEY`, e.g. Sign in with Apple's `.p8`
//! files), PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`), read with
//! rustls-pki-types' PEM parser (already in the graph through rustls).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::PrivateKeyDer;

use super::jws::{Algorithm, JwsError, SigningKey};

/// The first private key in a PEM text. Configuration often carries a PEM on one line
/// with literal `\n`s: those count as line breaks.
pub fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, JwsError> {
    let text = pem.replace("\\n", "\n");
    PrivateKeyDer::from_pem_slice(text.as_bytes())
        .map_err(|_| JwsError::InvalidKey("not a PEM private key"))
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` block.
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, JwsError> {
    match private_key(pem)? {
        PrivateKeyDer::Pkcs8(key) => Ok(key.secret_pkcs8_der().to_vec()),
        _ => Err(JwsError::InvalidKey("expected -----BEGIN PRIVATE KEY-----")),
    }
}

/// An ES256 signing key from a PKCS#8 PEM, with `kid` in its token headers.
pub fn es256_signing_key(pem: &str, kid: &str) -> Result<SigningKey, JwsError> {
    SigningKey::from_pkcs8(Algorithm::ES256, kid.to_string(), &pkcs8_der(pem)?)
}

/// A PKCS#8 DER key as PEM (tests and tools that write keys).
pub fn to_pem(der: &[u8]) -> String {
    encode("PRIVATE KEY", der)
}

/// DER as a PEM block with this label (`CERTIFICATE`, `PRIVATE KEY`, ...).
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
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
        assert_eq!(loaded.kid(), Some("K1"));
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
