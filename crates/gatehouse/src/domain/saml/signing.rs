//! The key a connection signs its AuthnRequests with (`sign_authn_requests`): an
//! RSA-2048 key made when signing is first turned on, kept sealed with the master key
//! and bound to the connection, and a self-signed certificate for it published in the
//! SP metadata. Requests are signed as the HTTP-Redirect binding says: RSA-SHA256 over
//! `SAMLRequest=..&RelayState=..&SigAlg=..`, exactly as sent.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::app::App;
use crate::domain::model::SamlConnection;
use crate::error::Error;

const SIG_ALG: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

fn aad(connection_id: &str) -> String {
    format!("saml_connection:{connection_id}:sp_key")
}

/// Makes the connection's signing key and certificate.
pub fn provision(app: &App, c: &mut SamlConnection) -> Result<(), Error> {
    let failed = |what: &str| {
        tracing::error!(what, "could not make a SAML signing key");
        Error::internal()
    };
    let key = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("key"))?;
    let pkcs8 = key.as_der().map_err(|_| failed("pkcs8"))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.clone());
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)
        .map_err(|_| failed("certificate key"))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|_| failed("params"))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("Gatehouse SAML {}", c.id),
    );
    let cert = params
        .self_signed(&key_pair)
        .map_err(|_| failed("certificate"))?;
    c.sealed_sp_key = Some(
        app.master_key
            .seal_text(&STANDARD.encode(&pkcs8), &aad(&c.id)),
    );
    c.sp_certificate = Some(STANDARD.encode(cert.der()));
    Ok(())
}

/// The published certificate, DER.
pub fn certificate(c: &SamlConnection) -> Option<Vec<u8>> {
    if c.sign_authn_requests != 1 {
        return None;
    }
    STANDARD.decode(c.sp_certificate.as_deref()?).ok()
}

/// Appends `SigAlg` and `Signature` to a redirect-binding query.
pub fn sign_query(app: &App, c: &SamlConnection, query: &str) -> Result<String, Error> {
    let sealed = c.sealed_sp_key.as_deref().ok_or_else(Error::internal)?;
    let pkcs8 = app
        .master_key
        .open_text(sealed, &aad(&c.id))
        .ok()
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or_else(Error::internal)?;
    let key = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::internal())?;
    let signed = format!(
        "{query}&{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("SigAlg", SIG_ALG)
            .finish()
    );
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .map_err(|_| Error::internal())?;
    Ok(format!(
        "{signed}&{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Signature", &STANDARD.encode(sig))
            .finish()
    ))
}
