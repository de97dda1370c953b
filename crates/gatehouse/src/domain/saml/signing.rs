//! The key a connection signs its AuthnRequests with (`sign_authn_requests`): an
//! RSA-2048 key made when signing is first turned on, kept sealed with the master key
//! and bound to the connection, and a self-signed certificate for it published in the
//! SP metadata. Requests are signed as the HTTP-Redirect binding says: RSA-SHA256 over
//! `SAMLRequest=..&RelayState=..&SigAlg=..`, exactly as sent.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::app::App;
use crate::crypto::x509::{new_rsa_key_and_certificate, sign_rsa_sha256};
use crate::domain::model::SamlConnection;
use crate::error::Error;

const SIG_ALG: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

fn aad(connection_id: &str) -> String {
    format!("saml_connection:{connection_id}:sp_key")
}

/// Makes the connection's signing key and certificate.
pub fn provision(app: &App, c: &mut SamlConnection) -> Result<(), Error> {
    let (pkcs8, certificate) = new_rsa_key_and_certificate(&format!("Gatehouse SAML {}", c.id))
        .map_err(|why| {
            tracing::error!(why, "could not make a SAML signing key");
            Error::internal()
        })?;
    c.sealed_sp_key = Some(
        app.master_key
            .seal_text(&STANDARD.encode(&pkcs8), &aad(&c.id)),
    );
    c.sp_certificate = Some(STANDARD.encode(certificate));
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
    let signed = format!(
        "{query}&{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("SigAlg", SIG_ALG)
            .finish()
    );
    let sig = sign_rsa_sha256(&pkcs8, signed.as_bytes()).map_err(|_| Error::internal())?;
    Ok(format!(
        "{signed}&{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Signature", &STANDARD.encode(sig))
            .finish()
    ))
}
