//! SAML metadata: the service provider's own (served for each connection) and reading
//! an identity provider's (pasted, or fetched from its URL by the connection's owner).

use super::keys::parse_certificates;
use super::request::escape;
use super::xml::Document;
use crate::saml::dsig::DSIG_NS;

const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// The service provider's metadata for one connection.
pub fn service_provider(
    entity_id: &str,
    acs_url: &str,
    signing_certificate_der: Option<&[u8]>,
) -> String {
    let key = signing_certificate_der
        .map(|der| {
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            "{key}",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#,
            "\n"
        ),
        entity = escape(entity_id),
        signed = signing_certificate_der.is_some(),
        key = key,
        acs = escape(acs_url),
    )
}

/// What a connection takes from an identity provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    /// PEM.
    pub certificates: Vec<String>,
}

/// Reads an identity provider's metadata: its entity id, the HTTP-Redirect SSO URL and
/// its signing certificates. The error says what is missing.
pub fn parse_idp(xml: &str) -> Result<IdpMetadata, String> {
    let doc = Document::parse(xml).map_err(|e| format!("is not acceptable XML ({e})"))?;
    let root = doc.root();
    if !doc.is(root, METADATA_NS, "EntityDescriptor") {
        return Err("must have one md:EntityDescriptor as its root".into());
    }
    let entity_id = doc
        .attr(root, "entityID")
        .filter(|e| !e.trim().is_empty())
        .ok_or("has no entityID")?
        .trim()
        .to_string();
    let idp = doc
        .only_child(root, METADATA_NS, "IDPSSODescriptor")
        .map_err(|_| "has several IDPSSODescriptor elements".to_string())?
        .ok_or("has no IDPSSODescriptor")?;
    let sso_url = doc
        .children_named(idp, METADATA_NS, "SingleSignOnService")
        .find(|s| doc.attr(*s, "Binding") == Some(REDIRECT_BINDING))
        .and_then(|s| doc.attr(s, "Location"))
        .ok_or("has no SingleSignOnService with the HTTP-Redirect binding")?
        .trim()
        .to_string();
    let mut certificates = Vec::new();
    for kd in doc.children_named(idp, METADATA_NS, "KeyDescriptor") {
        if doc.attr(kd, "use").is_some_and(|u| u != "signing") {
            continue;
        }
        let certs = doc
            .children_named(kd, DSIG_NS, "KeyInfo")
            .flat_map(|ki| {
                doc.children_named(ki, DSIG_NS, "X509Data")
                    .collect::<Vec<_>>()
            })
            .flat_map(|xd| {
                doc.children_named(xd, DSIG_NS, "X509Certificate")
                    .collect::<Vec<_>>()
            });
        for c in certs {
            let text = doc
                .text(c)
                .map_err(|_| "has an unreadable X509Certificate".to_string())?;
            let parsed = parse_certificates(&text)
                .map_err(|e| format!("has a signing certificate that {}", e.0))?;
            for (pem, _) in parsed {
                if !certificates.contains(&pem) {
                    certificates.push(pem);
                }
            }
        }
    }
    if certificates.is_empty() {
        return Err("has no signing certificate".into());
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificates,
    })
}
