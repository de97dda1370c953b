//! Enveloped XML Signatures, verified the one way SAML needs them and no other: the
//! signature is a child of the element it signs, its single `Reference` points at that
//! element's `ID` (unique in the document), the transforms are exactly
//! enveloped-signature then exclusive canonicalization, and the signature verifies with
//! one of the connection's configured keys. `KeyInfo` is never read, and `Object`
//! elements (where wrapped content hides) are refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::c14n::canonicalize;
use super::keys::{IdpKey, SignatureAlgorithm};
use super::xml::{Document, NodeId};
use crate::crypto::digest::ct_eq;
use crate::crypto::x509::{digest, DigestAlgorithm};

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// What a connection trusts.
#[derive(Debug, Clone, Copy)]
pub struct Trust<'a> {
    pub keys: &'a [IdpKey],
    /// SHA-1 digests and RSA-SHA1 signatures, refused unless the connection allows them.
    pub allow_sha1: bool,
}

/// Verifies the signature `sig`, a child of `signed`, over `signed`. The error is a
/// short reason for logs.
pub fn verify_enveloped(
    doc: &Document,
    signed: NodeId,
    sig: NodeId,
    trust: Trust<'_>,
) -> Result<(), &'static str> {
    if doc.element(sig).parent != Some(signed) {
        return Err("signature_not_enveloped");
    }
    let mut parts = doc.child_elements(sig);
    let signed_info = parts.next().filter(|p| doc.is(*p, DSIG_NS, "SignedInfo"));
    let signature_value = parts
        .next()
        .filter(|p| doc.is(*p, DSIG_NS, "SignatureValue"));
    let (Some(signed_info), Some(signature_value)) = (signed_info, signature_value) else {
        return Err("signature_malformed");
    };
    for extra in parts {
        if !doc.is(extra, DSIG_NS, "KeyInfo") {
            return Err("signature_extra_content");
        }
    }

    let mut items = doc.child_elements(signed_info);
    let (Some(c14n_method), Some(sig_method), Some(reference), None) =
        (items.next(), items.next(), items.next(), items.next())
    else {
        return Err("signed_info_malformed");
    };
    if !doc.is(c14n_method, DSIG_NS, "CanonicalizationMethod")
        || !doc.is(sig_method, DSIG_NS, "SignatureMethod")
        || !doc.is(reference, DSIG_NS, "Reference")
    {
        return Err("signed_info_malformed");
    }
    let signed_info_prefixes = exclusive_c14n(doc, c14n_method)?;
    let algorithm = signature_algorithm(doc.attr(sig_method, "Algorithm"), trust.allow_sha1)?;

    // The reference: this very element, by a unique ID.
    let id = doc
        .attr(signed, "ID")
        .filter(|id| !id.is_empty())
        .ok_or("signed_element_without_id")?;
    let uri = doc.attr(reference, "URI").ok_or("reference_without_uri")?;
    if uri.strip_prefix('#') != Some(id) {
        return Err("reference_not_to_signed_element");
    }
    if doc
        .elements()
        .filter(|e| doc.attr(*e, "ID") == Some(id))
        .count()
        != 1
    {
        return Err("duplicate_id");
    }
    let mut r = doc.child_elements(reference);
    let (Some(transforms), Some(digest_method), Some(digest_value), None) =
        (r.next(), r.next(), r.next(), r.next())
    else {
        return Err("reference_malformed");
    };
    if !doc.is(transforms, DSIG_NS, "Transforms")
        || !doc.is(digest_method, DSIG_NS, "DigestMethod")
        || !doc.is(digest_value, DSIG_NS, "DigestValue")
    {
        return Err("reference_malformed");
    }
    let mut t = doc.child_elements(transforms);
    let (Some(enveloped), Some(c14n), None) = (t.next(), t.next(), t.next()) else {
        return Err("transforms_refused");
    };
    if !doc.is(enveloped, DSIG_NS, "Transform")
        || doc.attr(enveloped, "Algorithm") != Some(ENVELOPED)
        || doc.child_elements(enveloped).next().is_some()
        || !doc.is(c14n, DSIG_NS, "Transform")
    {
        return Err("transforms_refused");
    }
    let reference_prefixes = exclusive_c14n(doc, c14n)?;
    let digest_alg = digest_algorithm(doc.attr(digest_method, "Algorithm"), trust.allow_sha1)?;

    let expected = decode_base64(&doc.text(digest_value).map_err(|e| e.0)?)?;
    let content = canonicalize(doc, signed, Some(sig), &reference_prefixes);
    if !ct_eq(&digest(digest_alg, &content), &expected) {
        return Err("digest_mismatch");
    }

    let signature = decode_base64(&doc.text(signature_value).map_err(|e| e.0)?)?;
    let message = canonicalize(doc, signed_info, None, &signed_info_prefixes);
    if trust
        .keys
        .iter()
        .any(|k| k.verifies(algorithm, &message, &signature))
    {
        Ok(())
    } else {
        Err("signature_invalid")
    }
}

/// Checks that `method` names exclusive canonicalization without comments and returns
/// its `InclusiveNamespaces` prefix list.
fn exclusive_c14n(doc: &Document, method: NodeId) -> Result<Vec<String>, &'static str> {
    if doc.attr(method, "Algorithm") != Some(EXC_C14N) {
        return Err("canonicalization_refused");
    }
    let mut prefixes = Vec::new();
    let mut seen = false;
    for child in doc.child_elements(method) {
        if seen || !doc.is(child, EXC_C14N, "InclusiveNamespaces") {
            return Err("canonicalization_refused");
        }
        seen = true;
        let list = doc.attr(child, "PrefixList").unwrap_or("");
        prefixes = list.split_ascii_whitespace().map(str::to_string).collect();
    }
    Ok(prefixes)
}

fn signature_algorithm(
    uri: Option<&str>,
    allow_sha1: bool,
) -> Result<SignatureAlgorithm, &'static str> {
    Ok(match uri.unwrap_or("") {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => SignatureAlgorithm::RsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => SignatureAlgorithm::RsaSha384,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => SignatureAlgorithm::RsaSha512,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => SignatureAlgorithm::EcdsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => SignatureAlgorithm::EcdsaSha384,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" if allow_sha1 => SignatureAlgorithm::RsaSha1,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => return Err("sha1_refused"),
        _ => return Err("signature_algorithm_refused"),
    })
}

fn digest_algorithm(uri: Option<&str>, allow_sha1: bool) -> Result<DigestAlgorithm, &'static str> {
    Ok(match uri.unwrap_or("") {
        "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlgorithm::Sha256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlgorithm::Sha384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlgorithm::Sha512,
        "http://www.w3.org/2000/09/xmldsig#sha1" if allow_sha1 => DigestAlgorithm::Sha1,
        "http://www.w3.org/2000/09/xmldsig#sha1" => return Err("sha1_refused"),
        _ => return Err("digest_algorithm_refused"),
    })
}

/// Base64 as XML Signature writes it (line breaks and spaces allowed).
fn decode_base64(text: &str) -> Result<Vec<u8>, &'static str> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).map_err(|_| "bad_base64")
}
