//! The cost of checking a SAML response at the ACS, as a ratio to one raw RSA-2048
//! signature verification measured in the same process on the same core:
//!
//! - (a) the raw aws-lc-rs RSA-2048 PKCS#1 SHA-256 verify of the fixture's own
//!   `SignatureValue` over its canonical `SignedInfo` (the key parsed once);
//! - (b) `saml::response::verify` of the whole response, from the posted form value
//!   (`response::decode_form_value` included), for an assertion-signed response (the
//!   usual case) and a response with both the assertion and the response signed;
//! - the parts: base64 decoding, `xml::Document::parse`, and `c14n::canonicalize` of the
//!   signed element (minus its signature, as the digest sees it) and of `SignedInfo`.
//!
//! Target: (b) ≤ 10 × (a), i.e. the XML work does not dominate the signature by more
//! than an order of magnitude (checked for both fixtures, though the both-signed one pays
//! two signatures). Each operation runs for `BENCH_SECONDS` (default 1) per round, the
//! operations interleaved, 3 rounds, best round kept; a counting allocator gives the
//! allocations (reallocations included) and bytes allocated per operation. Fixtures and
//! the instant they are valid at: `benches/fixtures/saml/README.md`.
//!
//! Run with `bench/saml.sh` (pins to one core), or `cargo bench -p gatehouse --bench saml`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gatehouse::saml::c14n::canonicalize;
use gatehouse::saml::dsig::{Trust, DSIG_NS};
use gatehouse::saml::keys::{parse_certificates, IdpKey};
use gatehouse::saml::response::{self, AttributeMapping, Expected, ASSERTION_NS, PROTOCOL_NS};
use gatehouse::saml::xml::{Document, NodeId};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ASSERTION_SIGNED: &str = include_str!("fixtures/saml/assertion-signed.b64");
const BOTH_SIGNED: &str = include_str!("fixtures/saml/both-signed.b64");
const IDP_CERTIFICATE: &str = include_str!("fixtures/saml/idp-certificate.pem");

/// Inside both fixtures' validity window: their IssueInstant (2026-11-30T14:40:20Z) + 10 s.
const NOW_MS: i64 = 1_796_049_630_000;
const IDP_ENTITY_ID: &str = "https://idp.example.com/saml2/metadata";
const SP_ENTITY_ID: &str =
    "https://auth.example.com/v1/saml/metadata/samlc_2Jp3bDkQm1tTq8yV4XcW0zN5aRf";
const ACS_URL: &str = "https://auth.example.com/v1/saml/acs/samlc_2Jp3bDkQm1tTq8yV4XcW0zN5aRf";
const REQUEST_ID: &str = "_8kQ2vN5xR7tW1yZ3bD6fH9jL0mP4sU2w";

/// One fixture and what its parts are timed on.
struct Fixture {
    name: &'static str,
    form_value: &'static str,
    xml: String,
    /// (signed element, its signature) for each signature, the assertion's first.
    signatures: Vec<(NodeId, NodeId)>,
    doc: Document,
}

impl Fixture {
    fn load(name: &'static str, form_value: &'static str) -> Fixture {
        let xml = response::decode_form_value(form_value).expect("fixture decodes");
        let doc = Document::parse(&xml).expect("fixture parses");
        let response = doc.root();
        assert!(doc.is(response, PROTOCOL_NS, "Response"));
        let assertion = doc
            .children_named(response, ASSERTION_NS, "Assertion")
            .next()
            .expect("an assertion");
        let signatures = [assertion, response]
            .into_iter()
            .filter_map(|signed| {
                let sig = doc.only_child(signed, DSIG_NS, "Signature").unwrap()?;
                Some((signed, sig))
            })
            .collect();
        Fixture {
            name,
            form_value,
            xml,
            signatures,
            doc,
        }
    }

    /// The canonical `SignedInfo` and the decoded `SignatureValue` of signature `i`:
    /// exactly what the RSA verification inside `verify` is given.
    fn signed_info_and_signature(&self, i: usize) -> (Vec<u8>, Vec<u8>) {
        let doc = &self.doc;
        let (_, sig) = self.signatures[i];
        let mut parts = doc.child_elements(sig);
        let signed_info = parts.next().unwrap();
        let value = parts.next().unwrap();
        assert!(doc.is(signed_info, DSIG_NS, "SignedInfo"));
        assert!(doc.is(value, DSIG_NS, "SignatureValue"));
        let text: String = doc
            .text(value)
            .unwrap()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        (
            canonicalize(doc, signed_info, None, &[]),
            STANDARD.decode(text).unwrap(),
        )
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.02 } else { 1.0 });
    let rounds = if quick { 1 } else { 3 };

    let keys: Vec<IdpKey> = parse_certificates(IDP_CERTIFICATE)
        .expect("the fixture certificate")
        .into_iter()
        .map(|(_, key)| key)
        .collect();
    let spki = subject_public_key_info(IDP_CERTIFICATE);
    let mapping = AttributeMapping::default();
    let expected = Expected {
        idp_entity_id: IDP_ENTITY_ID,
        sp_entity_id: SP_ENTITY_ID,
        acs_url: ACS_URL,
        in_response_to: Some(REQUEST_ID),
        now_ms: NOW_MS,
        trust: Trust {
            keys: &keys,
            allow_sha1: false,
        },
        mapping: &mapping,
    };
    let verify = |form_value: &str| {
        let xml = response::decode_form_value(form_value).unwrap();
        response::verify(&xml, &expected).unwrap()
    };

    let fixtures = [
        Fixture::load("assertion-signed", ASSERTION_SIGNED),
        Fixture::load("both-signed", BOTH_SIGNED),
    ];
    for f in &fixtures {
        let v = verify(f.form_value);
        assert_eq!(v.email.as_deref(), Some("ada.lovelace@acme.example"));
        assert_eq!(v.first_name.as_deref(), Some("Ada"));
        assert_eq!(v.last_name.as_deref(), Some("Lovelace"));
        println!(
            "{}: {} bytes of XML ({} as the form value), {} signature(s)",
            f.name,
            f.xml.len(),
            f.form_value.trim().len(),
            f.signatures.len()
        );
    }
    assert_eq!(fixtures[0].signatures.len(), 1);
    assert_eq!(fixtures[1].signatures.len(), 2);

    // The raw verification: the assertion-signed fixture's own signature.
    let (message, signature) = fixtures[0].signed_info_and_signature(0);
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki).unwrap();
    parsed.verify_sig(&message, &signature).expect("raw verify");
    let unparsed = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki);
    println!(
        "raw message: canonical SignedInfo, {} bytes; signature {} bytes",
        message.len(),
        signature.len()
    );

    // Every operation, timed in turn within each round.
    type Op<'a> = (String, Box<dyn Fn() + 'a>);
    let mut ops: Vec<Op> = vec![
        (
            "raw RSA-2048 verify (key parsed once)".into(),
            Box::new(|| {
                parsed
                    .verify_sig(black_box(&message), black_box(&signature))
                    .unwrap()
            }),
        ),
        (
            "raw RSA-2048 verify (key parsed each time)".into(),
            Box::new(|| {
                unparsed
                    .verify(black_box(&message), black_box(&signature))
                    .unwrap()
            }),
        ),
    ];
    // Per fixture: where its verify, parse and assertion c14n are in `ops`.
    let mut rows = Vec::new();
    for f in &fixtures {
        let name = f.name;
        let verify_at = ops.len();
        ops.push((
            format!("{name}: response::verify (from base64)"),
            Box::new(move || {
                black_box(verify(black_box(f.form_value)));
            }),
        ));
        ops.push((
            format!("{name}:   decode_form_value"),
            Box::new(move || {
                black_box(response::decode_form_value(black_box(f.form_value)).unwrap());
            }),
        ));
        let parse_at = ops.len();
        ops.push((
            format!("{name}:   Document::parse"),
            Box::new(move || {
                black_box(Document::parse(black_box(&f.xml)).unwrap());
            }),
        ));
        // The assertion's signature comes first: its c14n is at `parse_at + 1`.
        rows.push((f, verify_at, parse_at, parse_at + 1));
        for &(signed, sig) in &f.signatures {
            let what = if signed == f.doc.root() {
                "Response"
            } else {
                "Assertion"
            };
            ops.push((
                format!("{name}:   canonicalize {what} (minus its Signature)"),
                Box::new(move || {
                    black_box(canonicalize(&f.doc, black_box(signed), Some(sig), &[]));
                }),
            ));
        }
        let signed_info = f.doc.child_elements(f.signatures[0].1).next().unwrap();
        ops.push((
            format!("{name}:   canonicalize SignedInfo"),
            Box::new(move || {
                black_box(canonicalize(&f.doc, black_box(signed_info), None, &[]));
            }),
        ));
    }

    let mut best = vec![0f64; ops.len()];
    for _ in 0..rounds {
        for (slot, (_, op)) in best.iter_mut().zip(&ops) {
            *slot = slot.max(rate(seconds, op));
        }
    }
    let allocations: Vec<(f64, f64)> = ops.iter().map(|(_, op)| allocations(op)).collect();

    let raw_us = 1e6 / best[0];
    println!(
        "\nper operation on one core (best of {rounds} rounds of {seconds} s), and as a multiple of (a):"
    );
    println!(
        "  {:<60} {:>10} {:>9} {:>8} {:>10}",
        "", "µs/op", "× (a)", "allocs", "bytes"
    );
    for (((name, _), rate), (count, bytes)) in ops.iter().zip(&best).zip(&allocations) {
        let us = 1e6 / rate;
        println!(
            "  {name:<60} {us:>10.2} {:>9.2} {count:>8.1} {bytes:>10.0}",
            us / raw_us
        );
    }

    println!("\nratios (target):");
    for (f, verify_at, parse_at, c14n_at) in rows {
        let verify_us = 1e6 / best[verify_at];
        let n = f.signatures.len() as f64;
        let ratio = verify_us / raw_us;
        let verdict = if ratio <= 10.0 { "PASS" } else { "FAIL" };
        println!(
            "  {:<16} verify / raw verify {ratio:>6.2}×  (≤ 10×)  {verdict}; \
             without its {n} RSA verif{}: {:.2}×",
            f.name,
            if n > 1.0 { "ies" } else { "y" },
            (verify_us - n * raw_us) / raw_us
        );
        let parse = 1e6 / best[parse_at];
        let c14n = 1e6 / best[c14n_at];
        println!(
            "  {:<16} parse / raw verify {:>6.2}×, c14n of the assertion / raw verify {:>6.2}×",
            "",
            parse / raw_us,
            c14n / raw_us
        );
    }
}

/// Operations per second of `f`, run for about `seconds` after a short warm-up.
fn rate(seconds: f64, f: &dyn Fn()) -> f64 {
    let warm_up = Instant::now() + Duration::from_secs_f64(seconds / 10.0);
    while Instant::now() < warm_up {
        f();
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut count = 0u64;
    while Instant::now() < end {
        for _ in 0..20 {
            f();
        }
        count += 20;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// Allocations and bytes allocated per call of `f`, in steady state.
fn allocations(f: &dyn Fn()) -> (f64, f64) {
    const N: u64 = 100;
    f();
    let (count0, bytes0) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    );
    for _ in 0..N {
        f();
    }
    (
        (ALLOCATIONS.load(Ordering::Relaxed) - count0) as f64 / N as f64,
        (ALLOCATED_BYTES.load(Ordering::Relaxed) - bytes0) as f64 / N as f64,
    )
}

/// The SubjectPublicKeyInfo of the certificate, as `keys::IdpKey` holds it.
fn subject_public_key_info(pem: &str) -> Vec<u8> {
    let cert = CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM certificate");
    let parsed = webpki::EndEntityCert::try_from(&cert).expect("X.509 certificate");
    parsed.subject_public_key_info().as_ref().to_vec()
}
