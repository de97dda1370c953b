//! Bounded, seeded random input for the XML reader and the response rules, the normal
//! suite's counterpart of the `saml_response` fuzz target: random bytes, XML token soup
//! and mutations (byte changes, truncations, splices, duplicated elements) of one valid
//! signed response. None may panic; nothing is accepted when no key is trusted; and no
//! change to a text value of the signed assertion is accepted with the real key.
//!
//! The fixture is the fuzz target's first seed: a response of the test identity provider
//! whose assertion is signed with the key of the fuzz fixtures' certificate (the private
//! key was never kept).

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::c14n::canonicalize;
use super::dsig::Trust;
use super::keys::{parse_certificates, IdpKey};
use super::response::{decode_form_value, verify, AttributeMapping, Expected, Refusal, Verified};
use super::xml::Document;

const SIGNED: &str = include_str!("../../fuzz/corpus/saml_response/signed_assertion.xml");
const CERTIFICATE: &str = include_str!("../../fuzz/fixtures/idp_certificate.pem");
/// 2026-11-30T14:42:00Z, inside the fixture's validity window.
const NOW_MS: i64 = 1_796_049_720_000;

fn keys() -> Vec<IdpKey> {
    parse_certificates(CERTIFICATE)
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .collect()
}

fn expected<'a>(keys: &'a [IdpKey], mapping: &'a AttributeMapping) -> Expected<'a> {
    Expected {
        idp_entity_id: "http://127.0.0.1:43661/metadata",
        sp_entity_id: "https://id.example.com/v1/saml/metadata/samlc_1",
        acs_url: "https://id.example.com/v1/saml/acs/samlc_1",
        in_response_to: Some("_req1"),
        now_ms: NOW_MS,
        trust: Trust {
            keys,
            allow_sha1: false,
        },
        mapping,
    }
}

fn untrusted(e: Expected<'_>) -> Expected<'_> {
    Expected {
        trust: Trust {
            keys: &[],
            allow_sha1: true,
        },
        ..e
    }
}

#[test]
fn the_fixture_verifies_with_its_key_only() {
    let (keys, mapping) = (keys(), AttributeMapping::default());
    let e = expected(&keys, &mapping);
    let v = verify(SIGNED, &e).unwrap();
    assert_eq!(v.name_id, "ada@acme.test");
    assert_eq!(v.first_name.as_deref(), Some("Ada"));
    assert_eq!(
        verify(SIGNED, &untrusted(e)),
        Err(Refusal("signature_invalid"))
    );
}

/// Markup fragments for token soup and byte changes.
const PIECES: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "=",
    "\"",
    "'",
    " ",
    "\n",
    "&amp;",
    "&#x41;",
    "&",
    ";",
    ":",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE r>",
    "<?pi?>",
    "xmlns=\"urn:x\"",
    "xmlns:p=\"urn:x\"",
    "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
    "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
    "p:",
    "samlp:Response",
    "saml:Assertion",
    "ds:Signature",
    "ID=\"_a\"",
    "Version=\"2.0\"",
    "r",
    "a",
    "é",
    "\u{0}",
    "\u{FFFD}",
];

/// Elements of the fixture that a mutation copies: where each starts and ends.
const ELEMENTS: &[(&str, &str)] = &[
    ("<saml:Assertion", "</saml:Assertion>"),
    ("<saml:Issuer", "</saml:Issuer>"),
    ("<samlp:Status>", "</samlp:Status>"),
    ("<ds:Signature", "</ds:Signature>"),
    ("<ds:Reference", "</ds:Reference>"),
    ("<saml:Subject>", "</saml:Subject>"),
    ("<saml:NameID", "</saml:NameID>"),
    ("<saml:SubjectConfirmation ", "</saml:SubjectConfirmation>"),
    ("<saml:Conditions", "</saml:Conditions>"),
    ("<saml:AudienceRestriction>", "</saml:AudienceRestriction>"),
    ("<saml:AuthnStatement", "</saml:AuthnStatement>"),
    ("<saml:Attribute ", "</saml:Attribute>"),
];

/// A random position in `s` that is a char boundary.
fn boundary(rng: &mut StdRng, s: &str) -> usize {
    boundary_below(s, rng.gen_range(0..=s.len()))
}

/// The char boundary of `s` at or before `at`.
fn boundary_below(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random change to `input`, drawing copied material from the fixture.
fn mutate(rng: &mut StdRng, input: &str) -> String {
    let mut s = input.to_string();
    match rng.gen_range(0..6) {
        // A byte changed, possibly into invalid UTF-8 (read back lossily).
        0 if !s.is_empty() => {
            let mut bytes = s.into_bytes();
            let at = rng.gen_range(0..bytes.len());
            bytes[at] = if rng.gen_bool(0.5) {
                PIECES[rng.gen_range(0..PIECES.len())].as_bytes()[0]
            } else {
                rng.gen()
            };
            s = String::from_utf8_lossy(&bytes).into_owned();
        }
        // Truncated.
        1 => {
            let at = boundary(rng, &s);
            s.truncate(at);
        }
        // A piece of the fixture spliced in.
        2 => {
            let start = boundary(rng, SIGNED);
            let end = boundary_below(SIGNED, (start + rng.gen_range(0..400)).min(SIGNED.len()));
            let at = boundary(rng, &s);
            s.insert_str(at, &SIGNED[start..end]);
        }
        // A range removed.
        3 => {
            let (a, b) = (boundary(rng, &s), boundary(rng, &s));
            s.replace_range(a.min(b)..a.max(b), "");
        }
        // An element duplicated, next to itself or somewhere else.
        4 => {
            let (open, close) = ELEMENTS[rng.gen_range(0..ELEMENTS.len())];
            if let Some(start) = s.find(open) {
                if let Some(len) = s[start..].find(close) {
                    let end = start + len + close.len();
                    let copy = s[start..end].to_string();
                    let at = if rng.gen_bool(0.5) {
                        end
                    } else {
                        boundary(rng, &s)
                    };
                    s.insert_str(at, &copy);
                }
            }
        }
        // A markup fragment inserted.
        _ => {
            let at = boundary(rng, &s);
            s.insert_str(at, PIECES[rng.gen_range(0..PIECES.len())]);
        }
    }
    s
}

/// Everything the fuzz target runs on one input; the outcome with the real key.
fn check(xml: &str, trusted: &Expected<'_>) -> Result<Verified, Refusal> {
    if let Ok(doc) = Document::parse(xml) {
        for id in doc.elements() {
            let _ = doc.text(id);
            let _ = doc.namespace_in_scope(id, "");
        }
        let _ = canonicalize(&doc, doc.root(), None, &["saml".to_string()]);
    }
    let outcome = verify(xml, trusted);
    if let Ok(v) = verify(xml, &untrusted(*trusted)) {
        panic!("accepted with no trusted key: {v:?}\n{xml}");
    }
    outcome
}

#[test]
fn bounded_random_inputs_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5a31_f00d);
    let (keys, mapping) = (keys(), AttributeMapping::default());
    let trusted = expected(&keys, &mapping);
    let original = verify(SIGNED, &trusted).unwrap();
    let mut refusals = BTreeSet::new();
    let (mut parsed, mut accepted) = (0, 0);
    for i in 0..4_000 {
        let input = match i % 4 {
            // Random bytes, as the form field's base64 and as the form field itself.
            0 => {
                let len = rng.gen_range(0..256);
                let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                match decode_form_value(&STANDARD.encode(&bytes)) {
                    Ok(xml) => assert_eq!(xml.as_bytes(), &bytes[..]),
                    Err(r) => assert_eq!(r, Refusal("response_not_utf8")),
                }
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let _ = decode_form_value(&text);
                text
            }
            // Token soup.
            1 => {
                let len = rng.gen_range(0..48);
                (0..len)
                    .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                    .collect()
            }
            // One to four changes to the signed response.
            _ => {
                let mut s = SIGNED.to_string();
                for _ in 0..rng.gen_range(1..=4) {
                    s = mutate(&mut rng, &s);
                }
                s
            }
        };
        if Document::parse(&input).is_ok() {
            parsed += 1;
        }
        match check(&input, &trusted) {
            Ok(verified) => {
                // Only ever what the fixture's signed assertion says.
                assert_eq!(verified, original, "{input}");
                accepted += 1;
            }
            Err(r) => {
                refusals.insert(r.0);
            }
        }
    }
    // The generator reaches both outcomes of the reader and many of the response rules.
    assert!(parsed > 100 && parsed < 3_900, "{parsed}");
    assert!(refusals.len() >= 20, "{refusals:?}");
    // Changes outside what is signed (the KeyInfo, the response's own unchecked parts)
    // are accepted, and read the same.
    assert!(accepted > 0 && accepted < 400, "{accepted}");
}

/// The text values inside the signed assertion (NameID, Issuer, Audience, attribute
/// values, the authentication context) and the signature's own digest and value: where
/// each one's text lies in the fixture.
fn signed_text_spans() -> Vec<(usize, usize)> {
    let assertion = SIGNED.find("<saml:Assertion").unwrap();
    let mut spans = Vec::new();
    for close in [
        "</saml:Issuer>",
        "</saml:NameID>",
        "</saml:Audience>",
        "</saml:AuthnContextClassRef>",
        "</saml:AttributeValue>",
        "</ds:DigestValue>",
        "</ds:SignatureValue>",
    ] {
        for (end, _) in SIGNED.match_indices(close).filter(|(i, _)| *i > assertion) {
            let start = SIGNED[..end].rfind('>').unwrap() + 1;
            assert!(start < end, "{close} holds text");
            spans.push((start, end));
        }
    }
    assert_eq!(spans.len(), 9);
    spans
}

#[test]
fn changed_signed_values_are_refused() {
    const REPLACEMENTS: &[char] = &[
        'a', 'z', 'A', 'Z', '0', '9', '@', '.', '-', '_', '+', '/', '=', '>', '"', '\'', 'é', '€',
    ];
    let mut rng = StdRng::seed_from_u64(0x51_6e_ed);
    let (keys, mapping) = (keys(), AttributeMapping::default());
    let trusted = expected(&keys, &mapping);
    let spans = signed_text_spans();
    let name_id = spans[1];
    let mut refusals = BTreeSet::new();
    assert_eq!(&SIGNED[name_id.0..name_id.1], "ada@acme.test");
    for i in 0..600 {
        // Every other one in the NameID, the rest anywhere.
        let (start, end) = if i % 2 == 0 {
            name_id
        } else {
            spans[rng.gen_range(0..spans.len())]
        };
        let text = &SIGNED[start..end];
        let at = start + boundary_below(text, rng.gen_range(0..text.len()));
        let old = SIGNED[at..].chars().next().unwrap();
        let mut s = SIGNED.to_string();
        match rng.gen_range(0..3) {
            // Replaced by another character.
            0 => {
                let new = loop {
                    let c = REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())];
                    if c != old {
                        break c;
                    }
                };
                s.replace_range(at..at + old.len_utf8(), new.encode_utf8(&mut [0; 4]));
            }
            // Removed.
            1 => {
                s.replace_range(at..at + old.len_utf8(), "");
            }
            // Doubled.
            _ => s.insert(at, old),
        }
        assert_ne!(s, SIGNED);
        match verify(&s, &trusted) {
            Ok(_) => panic!("a changed signed value was accepted:\n{s}"),
            Err(r) => refusals.insert(r.0),
        };
    }
    // Refused by the signature itself, not only by the rules read before it.
    for reason in ["digest_mismatch", "signature_invalid"] {
        assert!(refusals.contains(reason), "{refusals:?}");
    }
}
