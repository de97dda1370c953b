//! The SAML tests' identity provider on its own (no Gatehouse server): an AuthnRequest over
//! the HTTP-Redirect binding gets a login page and then a signed response for the ACS,
//! the metadata names the certificate and the SSO location, every attack of the corpus
//! answers a response and an unknown one is refused.

mod saml_support;

use std::io::Write;

use base64::Engine;
use saml_support::{IdpUser, TestIdp};

const ACS: &str = "http://127.0.0.1:9/v1/saml/acs/samlc_x";
const SP_ENTITY: &str = "http://127.0.0.1:9/v1/saml/metadata/samlc_x";

const ATTACKS: &[&str] = &[
    "xsw1",
    "xsw2",
    "xsw3",
    "xsw4",
    "xsw5",
    "xsw6",
    "xsw7",
    "xsw8",
    "comment_in_name_id",
    "keyinfo_key",
    "unsigned",
    "ref_elsewhere",
    "two_assertions",
    "doctype",
    "external_entity",
    "entity_expansion",
    "sha1",
    "tamper_after_sign",
];

/// The HTTP-Redirect binding's encoding: raw DEFLATE, then base64.
fn deflate_base64(xml: &str) -> String {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(xml.as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

fn redirect_url(idp: &TestIdp) -> String {
    let request = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z" Destination="{}" AssertionConsumerServiceURL="{ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{SP_ENTITY}</saml:Issuer></samlp:AuthnRequest>"#,
        idp.sso_url
    );
    url::Url::parse_with_params(
        &idp.sso_url,
        [
            ("SAMLRequest", deflate_base64(&request).as_str()),
            ("RelayState", "rs1"),
        ],
    )
    .unwrap()
    .to_string()
}

#[tokio::test]
async fn signed_response_for_an_authn_request() {
    let idp = TestIdp::start();
    let user = IdpUser::new("ada@acme.test");
    let post = idp.sign_in(&redirect_url(&idp), &user, &[]).await;
    assert_eq!(post.acs_url, ACS);
    assert_eq!(post.relay_state.as_deref(), Some("rs1"));
    let xml = post.xml();
    assert!(xml.contains(r#"InResponseTo="_req1""#), "{xml}");
    assert!(xml.contains(&format!(r#"Destination="{ACS}""#)), "{xml}");
    assert!(xml.contains(&format!(r#"Recipient="{ACS}""#)), "{xml}");
    assert!(
        xml.contains(&format!("<saml:Audience>{SP_ENTITY}</saml:Audience>")),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<saml:Issuer>{}</saml:Issuer>", idp.entity_id)),
        "{xml}"
    );
    assert!(xml.contains(">ada@acme.test</saml:NameID>"), "{xml}");
    assert!(xml.contains("<ds:Signature"), "{xml}");
    assert!(
        xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success"),
        "{xml}"
    );
    // The signature is the assertion's, right after its Issuer.
    let assertion = &xml[xml.find("<saml:Assertion").unwrap()..];
    let after_issuer = &assertion[assertion.find("</saml:Issuer>").unwrap() + 14..];
    assert!(after_issuer.starts_with("<ds:Signature"), "{xml}");

    // The Response signed as well as its assertion.
    let post = idp
        .sign_in(&redirect_url(&idp), &user, &[("sign", "both")])
        .await;
    assert_eq!(post.xml().matches("<ds:Signature ").count(), 2);

    // IdP-initiated.
    let post = idp.unsolicited(ACS, SP_ENTITY, &user, &[]).await;
    assert_eq!(post.relay_state, None);
    assert!(!post.xml().contains("InResponseTo"), "{}", post.xml());
}

#[tokio::test]
async fn metadata_names_the_certificate_and_sso_location() {
    let idp = TestIdp::start();
    let metadata = idp.metadata().await;
    let der: String = idp
        .certificate
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(metadata.contains(&der), "{metadata}");
    assert!(
        metadata.contains(&format!(r#"entityID="{}""#, idp.entity_id)),
        "{metadata}"
    );
    assert!(
        metadata.contains(&format!(r#"Location="{}""#, idp.sso_url)),
        "{metadata}"
    );
    assert!(
        metadata.contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"),
        "{metadata}"
    );
    assert_ne!(idp.certificate, idp.attacker_certificate);
}

#[tokio::test]
async fn every_attack_answers_and_an_unknown_one_is_refused() {
    let idp = TestIdp::start();
    let user = IdpUser::new("ada@acme.test");
    let redirect = redirect_url(&idp);
    for attack in ATTACKS {
        let post = idp.sign_in(&redirect, &user, &[("attack", attack)]).await;
        assert_eq!(post.acs_url, ACS, "{attack}");
        assert!(post.xml().contains("samlp:Response"), "{attack}");
    }
    let xml = idp
        .sign_in(&redirect, &user, &[("attack", "xsw3")])
        .await
        .xml();
    assert!(xml.contains(">attacker@evil.test</saml:NameID>"), "{xml}");
    assert!(xml.contains(">ada@acme.test</saml:NameID>"), "{xml}");
    let xml = idp
        .sign_in(&redirect, &user, &[("attack", "unsigned")])
        .await
        .xml();
    assert!(!xml.contains("Signature"), "{xml}");

    let (status, body) = idp
        .login_raw(&[
            ("acs_url", ACS),
            ("audience", SP_ENTITY),
            ("name_id", "ada@acme.test"),
            ("attack", "xsw99"),
        ])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown attack"), "{body}");
}
