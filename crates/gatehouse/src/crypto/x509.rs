//! X.509 certificates as key containers, and the signatures made and checked with
//! them outside JWS: SAML identity providers' response signatures (verified with the
//! public key of a certificate an administrator configured) and the RSA key, with its
//! self-signed certificate, a SAML connection signs its requests with.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm};
use rustls_pki_types::CertificateDer;

/// A signature algorithm accepted when verifying with a certificate's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    /// Signatures as r || s (XML Signature's form), not ASN.1.
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
            SignatureAlgorithm::EcdsaSha256 => &signature::ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::EcdsaSha384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }
}

/// A digest accepted in a signature's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// The digest of `data`.
pub fn digest(alg: DigestAlgorithm, data: &[u8]) -> Vec<u8> {
    let alg = match alg {
        DigestAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha256 => &digest::SHA256,
        DigestAlgorithm::Sha384 => &digest::SHA384,
        DigestAlgorithm::Sha512 => &digest::SHA512,
    };
    digest::digest(alg, data).as_ref().to_vec()
}

/// The public key of a certificate (its SubjectPublicKeyInfo).
#[derive(Debug, Clone)]
pub struct CertificateKey {
    spki: Vec<u8>,
}

impl CertificateKey {
    /// Reads a DER certificate; the error says why it is not one.
    pub fn from_der(der: &[u8]) -> Result<CertificateKey, String> {
        let cert = CertificateDer::from(der);
        let parsed = webpki::EndEntityCert::try_from(&cert)
            .map_err(|e| format!("is not an X.509 certificate ({e:?})"))?;
        Ok(CertificateKey {
            spki: parsed.subject_public_key_info().as_ref().to_vec(),
        })
    }

    /// Whether `sig` over `message` verifies with this key.
    pub fn verifies(&self, alg: SignatureAlgorithm, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(alg.verification(), &self.spki)
            .verify(message, sig)
            .is_ok()
    }
}

/// A new RSA-2048 key (PKCS#8 DER) and a self-signed certificate for it (DER).
pub fn new_rsa_key_and_certificate(common_name: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let key = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| "key generation")?;
    let pkcs8 = key
        .as_der()
        .map_err(|_| "PKCS#8 encoding")?
        .as_ref()
        .to_vec();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.clone());
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| format!("certificate key ({e})"))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| format!("{e}"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| format!("certificate ({e})"))?;
    Ok((pkcs8, cert.der().to_vec()))
}

/// An RSASSA-PKCS1-v1_5 SHA-256 signature with a PKCS#8 RSA key.
pub fn sign_rsa_sha256(pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, String> {
    let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| "not an RSA PKCS#8 key")?;
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message,
        &mut sig,
    )
    .map_err(|_| "signing failed")?;
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_key_signs_what_its_certificate_verifies() {
        let (pkcs8, cert) = new_rsa_key_and_certificate("test").unwrap();
        let key = CertificateKey::from_der(&cert).unwrap();
        let sig = sign_rsa_sha256(&pkcs8, b"message").unwrap();
        assert!(key.verifies(SignatureAlgorithm::RsaSha256, b"message", &sig));
        assert!(!key.verifies(SignatureAlgorithm::RsaSha256, b"messagf", &sig));
        assert!(!key.verifies(SignatureAlgorithm::RsaSha512, b"message", &sig));
        assert!(CertificateKey::from_der(&pkcs8).is_err());
    }
}
