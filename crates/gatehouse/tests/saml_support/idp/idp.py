"""A SAML 2.0 identity provider for Gatehouse's SAML tests.

It serves on 127.0.0.1 (a free port), with a signing key and self-signed certificate made
at startup, plus a second "attacker" key and certificate. When it serves it prints one
JSON line on stdout (url, entity_id, sso_url, certificate, attacker_certificate); it exits
when its stdin closes.

Endpoints:
  GET  /metadata  the IdP's metadata (EntityDescriptor with one IDPSSODescriptor)
  GET  /sso       HTTP-Redirect binding: reads the AuthnRequest, answers a login form
  POST /login     the login form: answers an auto-posting form to the ACS with a signed
                  SAMLResponse (HTTP-POST binding), shaped by optional test controls

Every request is handled on its own (no state between requests), so several tests can
share one IdP. See README.md for the test controls and the attack corpus.
"""

import base64
import copy
import datetime
import html
import json
import os
import secrets
import sys
import threading
import traceback
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import signxml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"samlp": SAMLP, "saml": SAML}

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

DEFAULT_EVIL = "attacker@evil.test"
# In `comment_in_name_id`, this marker in `name_id` (or `email`) becomes a real comment.
COMMENT_MARKER = "<!---->"

XSW_ATTACKS = {f"xsw{i}" for i in range(1, 9)}
ATTACKS = XSW_ATTACKS | {
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
}
SIGN_MODES = {"assertion", "response", "both"}


class BadRequest(Exception):
    """A request the IdP refuses: answered 400 with the message as text."""


def q(ns, tag):
    return f"{{{ns}}}{tag}"


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id():
    return "_" + secrets.token_hex(16)


# ---------------------------------------------------------------------------------------
# Keys and certificates


class KeyPair:
    def __init__(self, common_name):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = now_utc() - datetime.timedelta(days=1)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()
        self.cert_b64 = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


class Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 unless a subclass expressly allows it; the `sha1` case does."""

    def check_deprecated_methods(self):
        pass


def signer(sha1=False):
    if sha1:
        return Sha1Signer(
            method=signxml.methods.enveloped,
            signature_algorithm="rsa-sha1",
            digest_algorithm="sha1",
            c14n_algorithm=EXC_C14N,
        )
    return XMLSigner(
        method=signxml.methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )


# ---------------------------------------------------------------------------------------
# Parsing what the SP sends

def safe_parser():
    """DTDs, entities and the network all refused (a parser per request: lxml parsers are
    not shared between threads)."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_authn_request(saml_request):
    """The deflated, base64 AuthnRequest of the HTTP-Redirect binding -> (id, acs, issuer)."""
    try:
        raw = base64.b64decode(saml_request, validate=False)
    except Exception as e:
        raise BadRequest(f"SAMLRequest is not base64: {e}")
    try:
        inflater = zlib.decompressobj(wbits=-15)
        xml = inflater.decompress(raw, 1 << 20)
        if inflater.unconsumed_tail:
            raise BadRequest("SAMLRequest inflates to more than 1 MiB")
    except zlib.error as e:
        raise BadRequest(f"SAMLRequest is not raw DEFLATE data: {e}")
    if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
        raise BadRequest("SAMLRequest has a DTD")
    try:
        root = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError as e:
        raise BadRequest(f"SAMLRequest is not well-formed XML: {e}")
    if root.getroottree().docinfo.doctype:
        raise BadRequest("SAMLRequest has a DTD")
    if root.tag != q(SAMLP, "AuthnRequest"):
        raise BadRequest(f"SAMLRequest is not a samlp:AuthnRequest but {root.tag}")
    request_id = root.get("ID")
    acs = root.get("AssertionConsumerServiceURL")
    issuer_el = root.find(q(SAML, "Issuer"))
    issuer = (issuer_el.text or "").strip() if issuer_el is not None else ""
    if not request_id:
        raise BadRequest("AuthnRequest has no ID")
    if not acs:
        raise BadRequest("AuthnRequest has no AssertionConsumerServiceURL")
    if not issuer:
        raise BadRequest("AuthnRequest has no saml:Issuer")
    return request_id, acs, issuer


# ---------------------------------------------------------------------------------------
# Building responses


class Params:
    """What one /login asks for: the user, the request it answers, and the test controls."""

    def __init__(self, form, idp):
        def field(name, default=None):
            return form[name] if name in form else default

        saml_request = field("SAMLRequest")
        if saml_request:
            self.in_response_to, self.acs, self.audience = parse_authn_request(saml_request)
        else:
            # Unsolicited (IdP-initiated): the test names the ACS and the audience.
            self.in_response_to = None
            self.acs = field("acs_url")
            self.audience = field("audience")
            if not self.acs or not self.audience:
                raise BadRequest("an unsolicited response needs the fields acs_url and audience")
        self.relay_state = field("RelayState")
        self.name_id = field("name_id", "")
        self.email = field("email", "")
        self.first_name = field("first_name", "")
        self.last_name = field("last_name", "")
        if not self.name_id:
            raise BadRequest("name_id is required")

        self.destination = self.acs
        self.recipient = self.acs
        self.issuer = idp.entity_id
        if "audience" in form:
            self.audience = form["audience"]
        if "recipient" in form:
            self.recipient = form["recipient"]
        if "destination" in form:
            self.destination = form["destination"]
        if "issuer" in form:
            self.issuer = form["issuer"]
        if "in_response_to" in form:
            self.in_response_to = form["in_response_to"] or None
        self.status = field("status") or SUCCESS
        self.not_before_offset = int_field(form, "not_before_offset", -30)
        self.not_on_or_after_offset = int_field(form, "not_on_or_after_offset", 300)

        self.sign = field("sign") or "assertion"
        if self.sign not in SIGN_MODES:
            raise BadRequest(f"unknown sign mode {self.sign!r} (assertion, response or both)")
        self.attack = field("attack") or None
        if self.attack is not None and self.attack not in ATTACKS:
            raise BadRequest(f"unknown attack {self.attack!r}")
        self.evil_email = field("evil_email") or DEFAULT_EVIL
        self.evil_name_id = field("evil_name_id") or self.evil_email
        self.second_signed = field("second_signed", "1") != "0"


def int_field(form, name, default):
    if name not in form or form[name] == "":
        return default
    try:
        return int(form[name])
    except ValueError:
        raise BadRequest(f"{name} must be a whole number of seconds")


def sub(parent, ns, tag, text=None, **attrs):
    el = etree.SubElement(parent, q(ns, tag), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def set_text_with_comment(el, value, comment):
    """Sets el's text; with `comment`, the marker in value becomes an XML comment."""
    if comment and COMMENT_MARKER in value:
        before, after = value.split(COMMENT_MARKER, 1)
        el.text = before
        c = etree.Comment("")
        c.tail = after
        el.append(c)
    elif comment:
        half = len(value) // 2
        el.text = value[:half]
        c = etree.Comment("")
        c.tail = value[half:]
        el.append(c)
    else:
        el.text = value


def build_assertion(p, now, name_id, email, comment=False):
    not_before = iso(now + datetime.timedelta(seconds=p.not_before_offset))
    not_on_or_after = iso(now + datetime.timedelta(seconds=p.not_on_or_after_offset))
    assertion = etree.Element(
        q(SAML, "Assertion"), nsmap={"saml": SAML}, ID=new_id(), IssueInstant=iso(now), Version="2.0"
    )
    sub(assertion, SAML, "Issuer", p.issuer)
    subject = sub(assertion, SAML, "Subject")
    nid = sub(subject, SAML, "NameID", Format=EMAIL_FORMAT)
    set_text_with_comment(nid, name_id, comment)
    confirmation = sub(subject, SAML, "SubjectConfirmation", Method=BEARER)
    sub(
        confirmation,
        SAML,
        "SubjectConfirmationData",
        NotOnOrAfter=not_on_or_after,
        Recipient=p.recipient,
        InResponseTo=p.in_response_to,
    )
    conditions = sub(assertion, SAML, "Conditions", NotBefore=not_before, NotOnOrAfter=not_on_or_after)
    restriction = sub(conditions, SAML, "AudienceRestriction")
    sub(restriction, SAML, "Audience", p.audience)
    authn = sub(assertion, SAML, "AuthnStatement", AuthnInstant=iso(now), SessionIndex=new_id())
    context = sub(authn, SAML, "AuthnContext")
    sub(context, SAML, "AuthnContextClassRef", PASSWORD_PROTECTED)
    attributes = [("email", email), ("firstName", p.first_name), ("lastName", p.last_name)]
    if any(value for _, value in attributes):
        statement = sub(assertion, SAML, "AttributeStatement")
        for name, value in attributes:
            if value:
                attribute = sub(
                    statement,
                    SAML,
                    "Attribute",
                    Name=name,
                    NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                )
                # In the comment attack, the email attribute gets a comment only where
                # the test marked one.
                with_comment = comment and name == "email" and COMMENT_MARKER in value
                set_text_with_comment(sub(attribute, SAML, "AttributeValue"), value, with_comment)
    return assertion


def build_response(p, now, assertions):
    response = etree.Element(
        q(SAMLP, "Response"),
        {
            k: v
            for k, v in {
                "ID": new_id(),
                "Version": "2.0",
                "IssueInstant": iso(now),
                "Destination": p.destination,
                "InResponseTo": p.in_response_to,
            }.items()
            if v is not None
        },
        nsmap=NSMAP,
    )
    sub(response, SAML, "Issuer", p.issuer)
    status = sub(response, SAMLP, "Status")
    sub(status, SAMLP, "StatusCode", Value=p.status)
    for assertion in assertions:
        response.append(assertion)
    return response


def by_id(root, element_id):
    found = root.xpath("//*[@ID=$id]", id=element_id)
    if len(found) != 1:
        raise RuntimeError(f"expected one element with ID {element_id}, found {len(found)}")
    return found[0]


def sign_element(root, element_id, keys, sha1=False, reference_id=None):
    """Signs the element with this ID (enveloped, exclusive c14n, the certificate in
    KeyInfo), the ds:Signature placed right after the element's saml:Issuer as the schema
    orders it. Returns the new document root (signxml works on a copy). With
    `reference_id`, the signature sits in that element but references another one."""
    element = by_id(root, element_id)
    placeholder = etree.Element(q(DS, "Signature"), nsmap={"ds": DS}, Id="placeholder")
    issuer = element.find(q(SAML, "Issuer"))
    if issuer is not None:
        issuer.addnext(placeholder)
    else:
        element.insert(0, placeholder)
    return signer(sha1).sign(
        root,
        key=keys.key,
        cert=keys.cert_pem,
        reference_uri=reference_id or element_id,
    )


def direct_signature(el):
    return el.find(q(DS, "Signature"))


def without_signature(el):
    """A deep copy of el with its own ds:Signature (a direct child) removed."""
    clone = copy.deepcopy(el)
    sig = direct_signature(clone)
    if sig is not None:
        clone.remove(sig)
    return clone


def make_evil(assertion, p):
    """The attacker's identity in this assertion (its own NameID and email attribute only,
    not those of any copy nested inside it)."""
    nid = assertion.find(f"{q(SAML, 'Subject')}/{q(SAML, 'NameID')}")
    if nid is not None:
        for child in list(nid):
            nid.remove(child)
        nid.text = p.evil_name_id
    for attribute in assertion.findall(f"{q(SAML, 'AttributeStatement')}/{q(SAML, 'Attribute')}"):
        if attribute.get("Name") == "email":
            value = attribute.find(q(SAML, "AttributeValue"))
            for child in list(value):
                value.remove(child)
            value.text = p.evil_email


def first_assertion(root):
    return root.find(q(SAML, "Assertion"))


def apply_xsw(root, kind, p):
    """The eight XML Signature Wrapping permutations (Somorovsky et al., "On Breaking SAML:
    Be Whoever You Want to Be", 2012, as the SAML Raider tool builds them). `root` is the
    legitimately signed Response: signed as a whole for XSW1-2, its Assertion signed for
    XSW3-8. In every case the signature still verifies over the original content; the
    attacker's identity sits where a careless SP reads the assertion.

    XSW1  Response ID=evil > Issuer, Signature(Reference #orig > ..., KeyInfo,
          Response ID=orig (the original, unsigned copy)), Status, Assertion(evil identity,
          new ID)
    XSW2  Response ID=evil > Issuer, Response ID=orig (the original, unsigned copy),
          Signature(Reference #orig), Status, Assertion(evil identity, new ID)
    XSW3  Response > Issuer, Status, Assertion ID=evil (evil identity, no signature),
          Assertion ID=orig (original, signed)
    XSW4  Response > Issuer, Status, Assertion ID=evil (evil identity, no signature) > ...
          its children ..., Assertion ID=orig (original, signed) as its last child
    XSW5  Response > Issuer, Status, Assertion ID=evil (evil identity, carrying the
          original Signature with Reference #orig), Assertion ID=orig (original, unsigned
          copy) appended at the end of the Response
    XSW6  Response > Issuer, Status, Assertion ID=evil (evil identity) > Issuer,
          Signature(Reference #orig ..., KeyInfo, Assertion ID=orig (original, unsigned
          copy)), Subject, ...
    XSW7  Response > Issuer, Status, samlp:Extensions > Assertion ID=orig (the same ID,
          evil identity, no signature); then Assertion ID=orig (original, signed)
    XSW8  Response > Issuer, Status, Assertion ID=orig (the same ID, evil identity) >
          Issuer, Signature(Reference #orig ..., KeyInfo, ds:Object > Assertion ID=orig
          (original, unsigned copy)), Subject, ...
    """
    if kind in ("xsw1", "xsw2"):
        original = without_signature(root)
        evil = first_assertion(root)
        make_evil(evil, p)
        evil.set("ID", "_evil" + secrets.token_hex(12))
        root.set("ID", "_evil" + secrets.token_hex(12))
        signature = direct_signature(root)
        if kind == "xsw1":
            signature.append(original)
        else:
            signature.addprevious(original)
        return root

    assertion = first_assertion(root)
    evil_id = "_evil" + secrets.token_hex(12)
    if kind in ("xsw3", "xsw4"):
        evil = without_signature(assertion)
        make_evil(evil, p)
        evil.set("ID", evil_id)
        assertion.addprevious(evil)
        if kind == "xsw4":
            evil.append(assertion)
    elif kind in ("xsw5", "xsw6", "xsw8"):
        original = without_signature(assertion)
        signature = direct_signature(assertion)
        if kind == "xsw5":
            root.append(original)
        elif kind == "xsw6":
            signature.append(original)
        else:
            obj = etree.SubElement(signature, q(DS, "Object"))
            obj.append(original)
        make_evil(assertion, p)
        if kind != "xsw8":
            assertion.set("ID", evil_id)
    elif kind == "xsw7":
        extensions = etree.Element(q(SAMLP, "Extensions"))
        evil = without_signature(assertion)
        make_evil(evil, p)
        extensions.append(evil)
        assertion.addprevious(extensions)
    return root


def serialize(root):
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def with_doctype(xml, doctype):
    """Puts a DOCTYPE right after the XML declaration (raw text, not lxml's)."""
    declaration, rest = xml.split(b"?>", 1)
    return declaration + b"?>\n" + doctype.encode() + b"\n" + rest


def self_check(xml, p, keys):
    """Every ordinary response is verified with signxml against the IdP's certificate
    before it leaves: the signatures this IdP makes must be sound."""
    root = etree.fromstring(xml, safe_parser())
    checked = []
    if p.sign in ("response", "both"):
        result = XMLVerifier().verify(
            root, x509_cert=keys.cert_pem, expect_config=SignatureConfiguration(location="./")
        )
        if result.signed_xml.get("ID") != root.get("ID"):
            raise RuntimeError("the Response signature does not cover the Response")
        checked.append("response")
    if p.sign in ("assertion", "both"):
        for assertion in root.findall(q(SAML, "Assertion")):
            result = XMLVerifier().verify(
                assertion, x509_cert=keys.cert_pem, expect_config=SignatureConfiguration(location="./")
            )
            if result.signed_xml.get("ID") != assertion.get("ID"):
                raise RuntimeError("an Assertion signature does not cover its Assertion")
            checked.append("assertion")
    if not checked:
        raise RuntimeError("nothing was signed")


def make_response(p, idp):
    """The SAMLResponse XML (bytes) for these parameters."""
    now = now_utc()
    attack = p.attack
    sign = p.sign
    keys = idp.keys
    if attack in ("xsw1", "xsw2"):
        sign = "response"
    elif attack in XSW_ATTACKS:
        sign = "assertion"
    elif attack == "keyinfo_key":
        keys = idp.attacker

    name_id, email = p.name_id, p.email
    marker = None
    if attack in ("external_entity", "entity_expansion"):
        # Signed with a marker in NameID; the raw text then gets the entity reference.
        marker = "ENTITY-" + secrets.token_hex(8)
        name_id = marker
    assertions = [build_assertion(p, now, name_id, email, comment=attack == "comment_in_name_id")]
    if attack == "two_assertions":
        assertions.append(build_assertion(p, now, p.evil_name_id, p.evil_email))
    root = build_response(p, now, assertions)
    response_id = root.get("ID")
    assertion_ids = [a.get("ID") for a in assertions]

    if attack == "unsigned":
        return serialize(root)
    if attack == "ref_elsewhere":
        # The assertion carries the signature, but its Reference names the Response: a
        # valid signature over the Response (minus this signature), not over the assertion.
        root = sign_element(root, assertion_ids[0], keys, reference_id=response_id)
        return serialize(root)

    sha1 = attack == "sha1"
    if sign in ("assertion", "both"):
        for i, assertion_id in enumerate(assertion_ids):
            if i == 0 or p.second_signed:
                root = sign_element(root, assertion_id, keys, sha1=sha1)
    if sign in ("response", "both"):
        root = sign_element(root, response_id, keys, sha1=sha1)

    if attack in XSW_ATTACKS:
        return serialize(apply_xsw(root, attack, p))
    if attack == "tamper_after_sign":
        make_evil_email(root, p)
        return serialize(root)

    xml = serialize(root)
    if attack is None:
        self_check(xml, p, keys)
    elif attack == "doctype":
        xml = with_doctype(xml, "<!DOCTYPE samlp:Response>")
    elif attack == "external_entity":
        xml = with_doctype(
            xml, '<!DOCTYPE samlp:Response [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>'
        )
        xml = xml.replace(marker.encode(), b"&xxe;")
    elif attack == "entity_expansion":
        entities = ['  <!ENTITY lol0 "lol">']
        for level in range(1, 10):
            entities.append(f'  <!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
        xml = with_doctype(xml, "<!DOCTYPE samlp:Response [\n" + "\n".join(entities) + "\n]>")
        xml = xml.replace(marker.encode(), b"&lol9;")
    return xml


def make_evil_email(root, p):
    """After signing: the first assertion's email attribute becomes the attacker's."""
    assertion = first_assertion(root)
    for attribute in assertion.iter(q(SAML, "Attribute")):
        if attribute.get("Name") == "email":
            attribute.find(q(SAML, "AttributeValue")).text = p.evil_email
            return
    statement = assertion.find(q(SAML, "AttributeStatement"))
    if statement is None:
        statement = sub(assertion, SAML, "AttributeStatement")
    attribute = sub(statement, SAML, "Attribute", Name="email")
    sub(attribute, SAML, "AttributeValue", p.evil_email)


# ---------------------------------------------------------------------------------------
# Pages and metadata


def attr(value):
    return html.escape(value, quote=True)


def page(title, body):
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )


def login_page(saml_request, relay_state, issuer):
    relay = (
        f'<input type="hidden" name="RelayState" value="{attr(relay_state)}">\n'
        if relay_state is not None
        else ""
    )
    return page(
        "Sign in",
        f"<h1>Sign in to {html.escape(issuer)}</h1>\n"
        '<form method="post" action="/login">\n'
        f'<input type="hidden" name="SAMLRequest" value="{attr(saml_request)}">\n'
        f"{relay}"
        '<label>Name ID <input type="text" name="name_id"></label>\n'
        '<label>Email <input type="email" name="email"></label>\n'
        '<label>First name <input type="text" name="first_name"></label>\n'
        '<label>Last name <input type="text" name="last_name"></label>\n'
        '<button type="submit">Sign in</button>\n'
        "</form>",
    )


def auto_post_page(acs, saml_response, relay_state):
    relay = (
        f'<input type="hidden" name="RelayState" value="{attr(relay_state)}">\n'
        if relay_state is not None
        else ""
    )
    return page(
        "Signing you in",
        f'<form method="post" action="{attr(acs)}">\n'
        f'<input type="hidden" name="SAMLResponse" value="{attr(saml_response)}">\n'
        f"{relay}"
        '<noscript><button type="submit">Continue</button></noscript>\n'
        "</form>\n"
        "<script>document.forms[0].submit()</script>",
    )


def metadata(idp):
    md = etree.Element(q(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": DS}, entityID=idp.entity_id)
    descriptor = sub(
        md,
        MD,
        "IDPSSODescriptor",
        WantAuthnRequestsSigned="false",
        protocolSupportEnumeration=SAMLP,
    )
    key = sub(descriptor, MD, "KeyDescriptor", use="signing")
    info = sub(key, DS, "KeyInfo")
    data = sub(info, DS, "X509Data")
    sub(data, DS, "X509Certificate", idp.keys.cert_b64)
    sub(descriptor, MD, "NameIDFormat", EMAIL_FORMAT)
    sub(descriptor, MD, "SingleSignOnService", Binding=REDIRECT_BINDING, Location=idp.sso_url)
    return etree.tostring(md, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------------------------------
# HTTP


class Idp:
    def __init__(self, url):
        self.url = url
        self.entity_id = url + "/metadata"
        self.sso_url = url + "/sso"
        self.keys = KeyPair("Gatehouse test IdP")
        self.attacker = KeyPair("Gatehouse test IdP")  # the same name, another key


def first_values(pairs):
    form = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


class Handler(BaseHTTPRequestHandler):
    server_version = "TestIdP/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass  # quiet: tests read stderr only when something failed

    def answer(self, status, body, content_type):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def fail(self, status, reason):
        self.answer(status, reason + "\n", "text/plain; charset=utf-8")

    def handle_safely(self, handler):
        try:
            handler()
        except BadRequest as e:
            print(f"idp: 400 {e}", file=sys.stderr, flush=True)
            self.fail(400, str(e))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            self.fail(400, f"{type(e).__name__}: {e}")

    def do_GET(self):
        self.handle_safely(self.get)

    def do_POST(self):
        self.handle_safely(self.post)

    def get(self):
        idp = self.server.idp
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/metadata":
            self.answer(200, metadata(idp), "application/samlmetadata+xml")
        elif url.path == "/sso":
            query = first_values(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            saml_request = query.get("SAMLRequest")
            if not saml_request:
                raise BadRequest("SAMLRequest is missing")
            _, _, issuer = parse_authn_request(saml_request)
            self.answer(
                200, login_page(saml_request, query.get("RelayState"), issuer), "text/html; charset=utf-8"
            )
        else:
            self.fail(404, "not found")

    def post(self):
        idp = self.server.idp
        if urllib.parse.urlsplit(self.path).path != "/login":
            self.fail(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        form = first_values(urllib.parse.parse_qsl(body, keep_blank_values=True))
        p = Params(form, idp)
        xml = make_response(p, idp)
        saml_response = base64.b64encode(xml).decode()
        self.answer(200, auto_post_page(p.acs, saml_response, p.relay_state), "text/html; charset=utf-8")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    server.idp = Idp(f"http://127.0.0.1:{port}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    idp = server.idp
    print(
        json.dumps(
            {
                "url": idp.url,
                "entity_id": idp.entity_id,
                "sso_url": idp.sso_url,
                "certificate": idp.keys.cert_pem,
                "attacker_certificate": idp.attacker.cert_pem,
            }
        ),
        flush=True,
    )
    # Serve until stdin closes (the test process ended or dropped its handle).
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
