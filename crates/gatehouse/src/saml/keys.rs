//! The identity provider's signing certificates, as configured on a connection. A
//! certificate is only a container for the public key here: SAML identity providers
//! publish self-signed certificates, and trust comes from the administrator pasting it
//! (several during a rollover), never from the message itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

pub use crate::crypto::x509::{CertificateKey as IdpKey, SignatureAlgorithm};

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateError(pub String);

/// The certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks; a bare base64 DER
/// body, as in metadata, is accepted too), each checked to be an X.509 certificate.
pub fn parse_certificates(pem: &str) -> Result<Vec<(String, IdpKey)>, CertificateError> {
    let text = pem.trim();
    if text.is_empty() {
        return Err(CertificateError("is empty".into()));
    }
    let ders: Vec<Vec<u8>> = if text.contains("-----BEGIN") {
        CertificateDer::pem_slice_iter(text.as_bytes())
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|_| CertificateError("is not valid PEM".into()))?
    } else {
        let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        vec![STANDARD
            .decode(body)
            .map_err(|_| CertificateError("is neither PEM nor base64".into()))?]
    };
    if ders.is_empty() {
        return Err(CertificateError("holds no certificate".into()));
    }
    ders.into_iter()
        .map(|der| {
            let key = IdpKey::from_der(&der).map_err(CertificateError)?;
            Ok((to_pem(&der), key))
        })
        .collect()
}

/// A certificate as PEM, the form connections store and show.
pub fn to_pem(der: &[u8]) -> String {
    crate::crypto::pem::encode("CERTIFICATE", der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_certificates_are_refused() {
        for bad in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "AAAA",
        ] {
            assert!(parse_certificates(bad).is_err(), "{bad:?}");
        }
    }
}
