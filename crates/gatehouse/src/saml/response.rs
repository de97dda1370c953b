//! A SAML `Response` (HTTP-POST binding) checked against one connection and, when the
//! service provider asked, the request it answers. Every rule has its own refusal
//! reason (for logs; never shown with message content):
//!
//! - the XML is strict (`xml`): no DOCTYPE or entities, limits on size and shape;
//! - exactly one `Assertion` in the whole document, a child of the `Response`; no
//!   encrypted assertions;
//! - signatures only as children of the `Response` or the `Assertion`, each verified
//!   (`dsig`) with the connection's keys; at least one present. Whichever is signed,
//!   the data read is the one `Assertion` inside the signed element, so a wrapped copy
//!   elsewhere can never be what is read;
//! - `Destination` and the bearer confirmation's `Recipient` are the ACS URL,
//!   `InResponseTo` is the request (absent for an unsolicited response), `Issuer` is
//!   the identity provider, `Audience` is the service provider, `Status` is Success,
//!   and the time conditions hold with a small skew;
//! - `NameID` and attribute values must hold only text: a comment inside is refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::dsig::{verify_enveloped, Trust, DSIG_NS};
use super::xml::{Document, NodeId};

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Clock skew allowed on every time condition.
pub const CLOCK_SKEW_MS: i64 = 60_000;
/// The largest `SAMLResponse` accepted, decoded.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
const MAX_VALUE_CHARS: usize = 512;

/// Why a response was refused: a short code for logs and the refusal redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

/// Which attributes carry the user's email address and names; `None` tries the names
/// the common identity providers use.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttributeMapping {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

const EMAIL_NAMES: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
];
const FIRST_NAME_NAMES: &[&str] = &[
    "firstname",
    "first_name",
    "givenname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const LAST_NAME_NAMES: &[&str] = &[
    "lastname",
    "last_name",
    "surname",
    "sn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

/// What the response must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub idp_entity_id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    /// The request this answers; `None` accepts only an unsolicited response.
    pub in_response_to: Option<&'a str>,
    pub now_ms: i64,
    pub trust: Trust<'a>,
    pub mapping: &'a AttributeMapping,
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verified {
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// After this the assertion is expired anyway: how long its ID must be remembered.
    pub replay_until_ms: i64,
}

/// The XML of a `SAMLResponse` form field (base64, line breaks allowed).
pub fn decode_form_value(value: &str) -> Result<String, Refusal> {
    if value.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4096 {
        return Err(Refusal("response_too_large"));
    }
    // Identity providers may wrap the base64; copy only when they did.
    let bytes = if value.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        STANDARD.decode(compact)
    } else {
        STANDARD.decode(value)
    }
    .map_err(|_| Refusal("response_not_base64"))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(Refusal("response_too_large"));
    }
    String::from_utf8(bytes).map_err(|_| Refusal("response_not_utf8"))
}

/// Checks a response's XML; see the module documentation for the rules.
pub fn verify(xml: &str, expected: &Expected<'_>) -> Result<Verified, Refusal> {
    let doc = Document::parse(xml).map_err(|e| Refusal(e.0))?;
    Checker {
        doc: &doc,
        expected,
    }
    .run()
}

struct Checker<'a> {
    doc: &'a Document,
    expected: &'a Expected<'a>,
}

impl Checker<'_> {
    fn run(&self) -> Result<Verified, Refusal> {
        let doc = self.doc;
        let e = self.expected;
        let response = doc.root();
        if !doc.is(response, PROTOCOL_NS, "Response") {
            return Err(Refusal("not_a_response"));
        }
        if doc.attr(response, "Version") != Some("2.0") {
            return Err(Refusal("wrong_version"));
        }
        let assertion = self.the_assertion()?;
        self.signatures(response, assertion)?;

        if doc.attr(response, "Destination") != Some(e.acs_url) {
            return Err(Refusal("destination_mismatch"));
        }
        self.in_response_to(doc.attr(response, "InResponseTo"))?;
        if let Some(issuer) = self.child(response, ASSERTION_NS, "Issuer")? {
            self.issuer(issuer)?;
        }
        self.status(response)?;

        if doc.attr(assertion, "Version") != Some("2.0") {
            return Err(Refusal("wrong_version"));
        }
        let assertion_id = doc
            .attr(assertion, "ID")
            .filter(|id| !id.is_empty() && id.len() <= 256)
            .ok_or(Refusal("assertion_without_id"))?
            .to_string();
        let issuer = self
            .child(assertion, ASSERTION_NS, "Issuer")?
            .ok_or(Refusal("issuer_missing"))?;
        self.issuer(issuer)?;
        let (name_id, name_id_format, confirmation_until) = self.subject(assertion)?;
        let conditions_until = self.conditions(assertion)?;
        if doc
            .children_named(assertion, ASSERTION_NS, "AuthnStatement")
            .next()
            .is_none()
        {
            return Err(Refusal("authn_statement_missing"));
        }
        let attributes = self.attributes(assertion)?;
        let m = e.mapping;
        let pick = |configured: &Option<String>, defaults: &[&str]| -> Option<String> {
            match configured {
                Some(name) => attributes
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone()),
                None => attributes
                    .iter()
                    .find(|(n, _)| defaults.contains(&n.to_ascii_lowercase().as_str()))
                    .map(|(_, v)| v.clone()),
            }
        };
        let email = pick(&m.email, EMAIL_NAMES).or_else(|| {
            let looks_like_email =
                name_id_format.as_deref() == Some(EMAIL_FORMAT) || name_id.contains('@');
            looks_like_email.then(|| name_id.clone())
        });
        Ok(Verified {
            assertion_id,
            name_id,
            name_id_format,
            email,
            first_name: pick(&m.first_name, FIRST_NAME_NAMES),
            last_name: pick(&m.last_name, LAST_NAME_NAMES),
            replay_until_ms: confirmation_until.max(conditions_until) + CLOCK_SKEW_MS,
        })
    }

    fn child(&self, parent: NodeId, ns: &str, local: &str) -> Result<Option<NodeId>, Refusal> {
        self.doc
            .only_child(parent, ns, local)
            .map_err(|_| Refusal("repeated_element"))
    }

    fn value(&self, id: NodeId) -> Result<String, Refusal> {
        let text = self.doc.text(id).map_err(|e| Refusal(e.0))?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_VALUE_CHARS {
            return Err(Refusal("value_invalid"));
        }
        Ok(text.to_string())
    }

    /// The one assertion of the document, a child of the response.
    fn the_assertion(&self) -> Result<NodeId, Refusal> {
        let doc = self.doc;
        if doc
            .elements()
            .any(|e| doc.is(e, ASSERTION_NS, "EncryptedAssertion"))
        {
            return Err(Refusal("encrypted_assertion_unsupported"));
        }
        let mut all = doc
            .elements()
            .filter(|e| doc.is(*e, ASSERTION_NS, "Assertion"));
        let (Some(assertion), None) = (all.next(), all.next()) else {
            return Err(Refusal("not_exactly_one_assertion"));
        };
        if doc.element(assertion).parent != Some(doc.root()) {
            return Err(Refusal("assertion_misplaced"));
        }
        Ok(assertion)
    }

    /// Every signature sits on the response or the assertion, verifies, and at least
    /// one is there. The assertion lies inside either signed element.
    fn signatures(&self, response: NodeId, assertion: NodeId) -> Result<(), Refusal> {
        let doc = self.doc;
        let mut signed = 0;
        for sig in doc.elements().filter(|e| doc.is(*e, DSIG_NS, "Signature")) {
            let parent = doc.element(sig).parent;
            if parent != Some(response) && parent != Some(assertion) {
                return Err(Refusal("signature_misplaced"));
            }
            signed += 1;
        }
        for element in [response, assertion] {
            if let Some(sig) = self.child(element, DSIG_NS, "Signature")? {
                verify_enveloped(doc, element, sig, self.expected.trust).map_err(Refusal)?;
                debug_assert!(doc.is_within(assertion, element));
            }
        }
        if signed == 0 {
            return Err(Refusal("unsigned"));
        }
        Ok(())
    }

    fn in_response_to(&self, value: Option<&str>) -> Result<(), Refusal> {
        match (self.expected.in_response_to, value) {
            (Some(expected), Some(v)) if v == expected => Ok(()),
            (None, None) => Ok(()),
            (None, Some(_)) => Err(Refusal("unexpected_in_response_to")),
            _ => Err(Refusal("in_response_to_mismatch")),
        }
    }

    fn issuer(&self, issuer: NodeId) -> Result<(), Refusal> {
        let format = self.doc.attr(issuer, "Format");
        if format.is_some_and(|f| f != "urn:oasis:names:tc:SAML:2.0:nameid-format:entity") {
            return Err(Refusal("issuer_mismatch"));
        }
        if self.value(issuer)? != self.expected.idp_entity_id {
            return Err(Refusal("issuer_mismatch"));
        }
        Ok(())
    }

    fn status(&self, response: NodeId) -> Result<(), Refusal> {
        let doc = self.doc;
        let code = self
            .child(response, PROTOCOL_NS, "Status")?
            .map(|s| self.child(s, PROTOCOL_NS, "StatusCode"))
            .transpose()?
            .flatten()
            .ok_or(Refusal("status_missing"))?;
        if doc.attr(code, "Value") != Some(SUCCESS) {
            return Err(Refusal("status_not_success"));
        }
        Ok(())
    }

    /// The NameID, its format, and until when the bearer confirmation holds.
    fn subject(&self, assertion: NodeId) -> Result<(String, Option<String>, i64), Refusal> {
        let doc = self.doc;
        let e = self.expected;
        let subject = self
            .child(assertion, ASSERTION_NS, "Subject")?
            .ok_or(Refusal("subject_missing"))?;
        if self.child(subject, ASSERTION_NS, "EncryptedID")?.is_some() {
            return Err(Refusal("encrypted_name_id_unsupported"));
        }
        let name_id = self
            .child(subject, ASSERTION_NS, "NameID")?
            .ok_or(Refusal("name_id_missing"))?;
        let value = self.value(name_id)?;
        let format = doc.attr(name_id, "Format").map(str::to_string);

        let mut bearers = doc
            .children_named(subject, ASSERTION_NS, "SubjectConfirmation")
            .filter(|c| doc.attr(*c, "Method") == Some(BEARER));
        let (Some(bearer), None) = (bearers.next(), bearers.next()) else {
            return Err(Refusal("bearer_confirmation_missing"));
        };
        let data = self
            .child(bearer, ASSERTION_NS, "SubjectConfirmationData")?
            .ok_or(Refusal("bearer_confirmation_missing"))?;
        if doc.attr(data, "Recipient") != Some(e.acs_url) {
            return Err(Refusal("recipient_mismatch"));
        }
        self.in_response_to(doc.attr(data, "InResponseTo"))?;
        if let Some(not_before) = doc.attr(data, "NotBefore") {
            if time(not_before)? > e.now_ms + CLOCK_SKEW_MS {
                return Err(Refusal("not_yet_valid"));
            }
        }
        let until = time(
            doc.attr(data, "NotOnOrAfter")
                .ok_or(Refusal("expiry_missing"))?,
        )?;
        if e.now_ms >= until + CLOCK_SKEW_MS {
            return Err(Refusal("expired"));
        }
        Ok((value, format, until))
    }

    /// Checks the time window and the audience; returns the window's end.
    fn conditions(&self, assertion: NodeId) -> Result<i64, Refusal> {
        let doc = self.doc;
        let e = self.expected;
        let conditions = self
            .child(assertion, ASSERTION_NS, "Conditions")?
            .ok_or(Refusal("conditions_missing"))?;
        if let Some(not_before) = doc.attr(conditions, "NotBefore") {
            if time(not_before)? > e.now_ms + CLOCK_SKEW_MS {
                return Err(Refusal("not_yet_valid"));
            }
        }
        let until = time(
            doc.attr(conditions, "NotOnOrAfter")
                .ok_or(Refusal("expiry_missing"))?,
        )?;
        if e.now_ms >= until + CLOCK_SKEW_MS {
            return Err(Refusal("expired"));
        }
        let mut restrictions = 0;
        for restriction in doc.children_named(conditions, ASSERTION_NS, "AudienceRestriction") {
            restrictions += 1;
            let mut ours = false;
            for audience in doc.children_named(restriction, ASSERTION_NS, "Audience") {
                ours |= self.value(audience)? == e.sp_entity_id;
            }
            if !ours {
                return Err(Refusal("audience_mismatch"));
            }
        }
        if restrictions == 0 {
            return Err(Refusal("audience_missing"));
        }
        Ok(until)
    }

    /// Each attribute's name and first value.
    fn attributes(&self, assertion: NodeId) -> Result<Vec<(String, String)>, Refusal> {
        let doc = self.doc;
        let mut out = Vec::new();
        for statement in doc.children_named(assertion, ASSERTION_NS, "AttributeStatement") {
            for attribute in doc.children_named(statement, ASSERTION_NS, "Attribute") {
                let Some(name) = doc.attr(attribute, "Name") else {
                    continue;
                };
                let mut values = doc.children_named(attribute, ASSERTION_NS, "AttributeValue");
                if let Some(v) = values.next() {
                    // Every value must be plain text, even those not read.
                    let first = self.value(v)?;
                    for other in values {
                        doc.text(other).map_err(|e| Refusal(e.0))?;
                    }
                    out.push((name.to_string(), first));
                }
            }
        }
        Ok(out)
    }
}

/// An `xs:dateTime` in UTC (SAML requires the `Z` form) as epoch milliseconds.
fn time(value: &str) -> Result<i64, Refusal> {
    let t = humantime::parse_rfc3339(value.trim()).map_err(|_| Refusal("bad_time"))?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Refusal("bad_time"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| Refusal("bad_time"))
}
