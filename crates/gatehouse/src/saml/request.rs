//! The `AuthnRequest` Gatehouse sends, in the HTTP-Redirect binding: the XML, raw
//! DEFLATE, base64, then the `SAMLRequest` and `RelayState` query parameters on the
//! identity provider's SSO URL.

use std::io::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// What goes into one request.
#[derive(Debug, Clone, Copy)]
pub struct AuthnRequest<'a> {
    /// `_` and random characters: the `InResponseTo` the response must carry.
    pub id: &'a str,
    pub issue_instant_ms: i64,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub idp_sso_url: &'a str,
}

impl AuthnRequest<'_> {
    pub fn xml(&self) -> String {
        format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
                r#" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}""#,
                r#" AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
                r#"<samlp:NameIDPolicy AllowCreate="true"/>"#,
                r#"</samlp:AuthnRequest>"#
            ),
            id = escape(self.id),
            instant = instant(self.issue_instant_ms),
            destination = escape(self.idp_sso_url),
            acs = escape(self.acs_url),
            issuer = escape(self.sp_entity_id),
        )
    }

    /// The query of the redirect binding before any signature:
    /// `SAMLRequest=...&RelayState=...`.
    pub fn query(&self, relay_state: &str) -> String {
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
        // Writing to a Vec cannot fail.
        let _ = deflater.write_all(self.xml().as_bytes());
        let deflated = deflater.finish().unwrap_or_default();
        let encoded = STANDARD.encode(deflated);
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLRequest", &encoded)
            .append_pair("RelayState", relay_state)
            .finish()
    }
}

/// Appends a query to a URL that may already have one.
pub fn with_query(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// An instant as SAML writes it: UTC, seconds, `Z`.
pub fn instant(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::Document;
    use std::io::Read as _;

    #[test]
    fn a_request_round_trips_through_the_redirect_binding() {
        let r = AuthnRequest {
            id: "_abc",
            issue_instant_ms: 1_800_000_000_000,
            sp_entity_id: "https://id.example.com/v1/saml/metadata/samlc_1",
            acs_url: "https://id.example.com/v1/saml/acs/samlc_1",
            idp_sso_url: "https://idp.example.org/sso?tenant=a&b=<c>",
        };
        let query = r.query("relay");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs[1], ("RelayState".into(), "relay".into()));
        let deflated = STANDARD.decode(&pairs[0].1).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_string(&mut xml)
            .unwrap();
        let doc = Document::parse(&xml).unwrap();
        assert_eq!(doc.attr(doc.root(), "ID"), Some("_abc"));
        assert_eq!(
            doc.attr(doc.root(), "IssueInstant"),
            Some("2027-01-15T08:00:00Z")
        );
        assert_eq!(
            doc.attr(doc.root(), "Destination"),
            Some("https://idp.example.org/sso?tenant=a&b=<c>")
        );
        assert_eq!(
            with_query("https://idp.example.org/sso?tenant=a", "x=1"),
            "https://idp.example.org/sso?tenant=a&x=1"
        );
    }
}
