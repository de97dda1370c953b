//! Any bytes as a `SAMLResponse`: the strict XML reader, canonicalization and the response
//! rules must never panic, whether the bytes arrive as the form field's base64 or as the
//! XML itself; nothing is ever accepted when no key is trusted; and what is accepted with
//! the real key says exactly what one of the signed seeds says.
//!
//! The seeds (`corpus/saml_response/`) are responses of the test identity provider signed
//! with the key of `fixtures/idp_certificate.pem` (whose private half was never kept), and
//! `expected` matches them at a fixed time, so mutations start from input that passes
//! every rule and reach the signature checks rather than stopping at the first refusal.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gatehouse::saml::c14n::canonicalize;
use gatehouse::saml::dsig::Trust;
use gatehouse::saml::keys::{parse_certificates, IdpKey};
use gatehouse::saml::response::{
    decode_form_value, verify, AttributeMapping, Expected, Verified, MAX_RESPONSE_BYTES,
};
use gatehouse::saml::xml::Document;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const CERTIFICATE: &str = include_str!("../fixtures/idp_certificate.pem");
const IDP_ENTITY_ID: &str = "http://127.0.0.1:43661/metadata";
const SP_ENTITY_ID: &str = "https://id.example.com/v1/saml/metadata/samlc_1";
const ACS_URL: &str = "https://id.example.com/v1/saml/acs/samlc_1";
/// 2026-11-30T14:42:00Z, inside the seeds' validity window.
const NOW_MS: i64 = 1_796_049_720_000;

fn keys() -> &'static [IdpKey] {
    static KEYS: OnceLock<Vec<IdpKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        parse_certificates(CERTIFICATE)
            .expect("the fixture certificate parses")
            .into_iter()
            .map(|(_, key)| key)
            .collect()
    })
}

/// What the seeds signed by the identity provider say.
fn signed_seeds() -> &'static [Verified] {
    static SEEDS: OnceLock<Vec<Verified>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mapping = AttributeMapping::default();
        let e = expected(keys(), &mapping);
        [
            include_str!("../corpus/saml_response/signed_assertion.xml"),
            include_str!("../corpus/saml_response/signed_response.xml"),
            include_str!("../corpus/saml_response/signed_both.xml"),
        ]
        .iter()
        .map(|xml| verify(xml, &e).expect("a signed seed verifies"))
        .collect()
    })
}

fn expected<'a>(keys: &'a [IdpKey], mapping: &'a AttributeMapping) -> Expected<'a> {
    Expected {
        idp_entity_id: IDP_ENTITY_ID,
        sp_entity_id: SP_ENTITY_ID,
        acs_url: ACS_URL,
        in_response_to: Some("_req1"),
        now_ms: NOW_MS,
        trust: Trust {
            keys,
            // SHA-1 allowed so its branches are reached too.
            allow_sha1: true,
        },
        mapping,
    }
}

/// The reader and its accessors, then the response rules with the real key and with none.
fn check(xml: &str) {
    if let Ok(doc) = Document::parse(xml) {
        for id in doc.elements() {
            let _ = doc.text(id);
            let _ = doc.attr(id, "ID");
            let _ = doc.namespace_in_scope(id, "");
            let _ = doc.is_within(id, doc.root());
        }
        let _ = canonicalize(&doc, doc.root(), None, &["saml".to_string()]);
    }

    let mapping = AttributeMapping::default();
    let trusted = expected(keys(), &mapping);
    if let Ok(verified) = verify(xml, &trusted) {
        assert!(
            signed_seeds().contains(&verified),
            "accepted something no seed says: {verified:?}"
        );
    }
    let untrusted = Expected {
        trust: Trust {
            keys: &[],
            allow_sha1: true,
        },
        ..trusted
    };
    if let Ok(verified) = verify(xml, &untrusted) {
        panic!("accepted with no trusted key: {verified:?}");
    }
}

/// One input, as the form field's base64 and as the form field itself.
fn run(data: &[u8]) {
    // Posted as base64 of the bytes: decoded to the same text when it is UTF-8 and within
    // the size limit.
    match decode_form_value(&STANDARD.encode(data)) {
        Ok(xml) => {
            assert_eq!(xml.as_bytes(), data, "base64 round trip");
            check(&xml);
        }
        Err(_) => assert!(
            std::str::from_utf8(data).is_err() || data.len() > MAX_RESPONSE_BYTES,
            "UTF-8 within the limit was refused"
        ),
    }
    // The bytes as the form field: mostly refused as base64, else its content is checked.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(xml) = decode_form_value(text) {
            check(&xml);
        }
    }
}

fuzz_target!(
    init: {
        // The fixtures agree: fails at once rather than at the first input accepted.
        assert_eq!(signed_seeds().len(), 3);
    },
    |data: &[u8]| run(data)
);
