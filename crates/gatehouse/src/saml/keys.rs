//! The identity provider's signing certificates, as configured on a connection. A
//! certificate is only a container for the public key here: SAML identity providers
//! publish self-signed certificates, and trust comes from the administrator pasting it
//! (several during a rollover), never from the message itself.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateError(pub String);

/// One trusted key: the certificate's SubjectPublicKeyInfo, DER.
#[derive(Debug, Clone)]
pub struct IdpKey {
    spki: Vec<u8>,
}

/// A signature algorithm Gatehouse accepts in a `SignatureMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
}

impl SignatureAlgorithm {
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            SignatureAlgorithm::RsaSha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            SignatureAlgorithm::RsaSha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SignatureAlgorithm::RsaSha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            SignatureAlgorithm::RsaSha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            // XML Signature carries ECDSA signatures as r || s.
            SignatureAlgorithm::EcdsaSha256 => &signature::ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::EcdsaSha384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }
}

impl IdpKey {
    /// Whether `sig` over `message` verifies with this key.
    pub fn verifies(&self, alg: SignatureAlgorithm, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(alg.verification(), &self.spki)
            .verify(message, sig)
            .is_ok()
    }

    fn from_der(der: &[u8]) -> Result<IdpKey, CertificateError> {
        let cert = CertificateDer::from(der);
        let parsed = webpki::EndEntityCert::try_from(&cert)
            .map_err(|e| CertificateError(format!("not an X.509 certificate ({e:?})")))?;
        Ok(IdpKey {
            spki: parsed.subject_public_key_info().as_ref().to_vec(),
        })
    }
}

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
            let key = IdpKey::from_der(&der)?;
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
