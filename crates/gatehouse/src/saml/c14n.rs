//! Exclusive XML Canonicalization 1.0 without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>) of one element's subtree, the only
//! canonicalization Gatehouse accepts in a signature. `exclude` leaves out one element
//! (the enveloped-signature transform removes the signature being checked).
//!
//! A namespace declaration is written on an element when the element or one of its
//! attributes uses the prefix (or the prefix is on the `InclusiveNamespaces` list and in
//! scope there), and the nearest written ancestor does not already bind it to the same
//! namespace. Declarations are sorted by prefix, attributes by namespace then local
//! name; empty elements get an end tag; text and attribute values are escaped as the
//! recommendation says.

use super::xml::{Document, Node, NodeId};

/// The canonical bytes of the subtree at `apex`.
pub fn canonicalize(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
    inclusive_prefixes: &[String],
) -> Vec<u8> {
    let mut c = Canonicalizer {
        doc,
        exclude,
        inclusive_prefixes,
        out: Vec::with_capacity(4096),
        rendered: Vec::new(),
    };
    c.element(apex);
    c.out
}

struct Canonicalizer<'a> {
    doc: &'a Document,
    exclude: Option<NodeId>,
    inclusive_prefixes: &'a [String],
    out: Vec<u8>,
    /// The declarations written by the elements being output, innermost last.
    rendered: Vec<(String, String)>,
}

impl Canonicalizer<'_> {
    fn rendered_namespace(&self, prefix: &str) -> &str {
        self.rendered
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.as_str())
            .unwrap_or("")
    }

    fn element(&mut self, id: NodeId) {
        let doc = self.doc;
        let e = doc.element(id);
        // The prefixes this element makes visible use of, then the inclusive ones.
        let mut candidates: Vec<(String, String)> = Vec::new();
        let mut consider = |prefix: &str, ns: &str| {
            if prefix != "xml" && !candidates.iter().any(|(p, _)| p == prefix) {
                candidates.push((prefix.to_string(), ns.to_string()));
            }
        };
        consider(&e.name.prefix, &e.name.ns);
        for a in &e.attributes {
            if !a.name.prefix.is_empty() {
                consider(&a.name.prefix, &a.name.ns);
            }
        }
        for listed in self.inclusive_prefixes {
            let prefix = if listed == "#default" { "" } else { listed };
            if let Some(ns) = doc.namespace_in_scope(id, prefix) {
                consider(prefix, ns);
            }
        }
        let mut declarations: Vec<(String, String)> = candidates
            .into_iter()
            .filter(|(p, ns)| self.rendered_namespace(p) != ns)
            .collect();
        declarations.sort();
        let mut attributes: Vec<_> = e.attributes.iter().collect();
        attributes.sort_by(|a, b| (&a.name.ns, &a.name.local).cmp(&(&b.name.ns, &b.name.local)));

        self.out.push(b'<');
        write_qname(&mut self.out, &e.name.prefix, &e.name.local);
        for (prefix, ns) in &declarations {
            if prefix.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(prefix.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attribute(&mut self.out, ns);
            self.out.push(b'"');
        }
        for a in attributes {
            self.out.push(b' ');
            write_qname(&mut self.out, &a.name.prefix, &a.name.local);
            self.out.extend_from_slice(b"=\"");
            escape_attribute(&mut self.out, &a.value);
            self.out.push(b'"');
        }
        self.out.push(b'>');

        let depth = self.rendered.len();
        self.rendered.extend(declarations);
        for child in &e.children {
            if Some(*child) == self.exclude {
                continue;
            }
            match doc.node(*child) {
                Node::Element(_) => self.element(*child),
                Node::Text(t) => escape_text(&mut self.out, t),
                Node::Comment => {}
            }
        }
        self.rendered.truncate(depth);

        self.out.extend_from_slice(b"</");
        write_qname(&mut self.out, &e.name.prefix, &e.name.local);
        self.out.push(b'>');
    }
}

fn write_qname(out: &mut Vec<u8>, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.extend_from_slice(prefix.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(local.as_bytes());
}

fn escape_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

fn escape_attribute(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, path: &[usize], prefixes: &[&str]) -> String {
        let doc = Document::parse(xml).unwrap();
        let mut at = doc.root();
        for i in path {
            at = doc.child_elements(at).nth(*i).unwrap();
        }
        let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        String::from_utf8(canonicalize(&doc, at, None, &prefixes)).unwrap()
    }

    /// The example of the Exclusive XML Canonicalization recommendation, §2.2: the
    /// unused `n1` declaration inherited from the context is not carried along.
    #[test]
    fn the_recommendations_example() {
        let xml = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>"#;
        assert_eq!(
            c14n(xml, &[0], &[]),
            r#"<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>"#
        );
        // With `n3` listed as inclusive it is written where it is in scope.
        assert_eq!(
            c14n(xml, &[0], &["n3"]),
            r#"<n1:elem2 xmlns:n1="http://example.net" xmlns:n3="ftp://example.org" xml:lang="en"><n3:stuff></n3:stuff></n1:elem2>"#
        );
    }

    #[test]
    fn declarations_and_attributes_are_sorted_and_values_escaped() {
        let xml = "<r xmlns:b=\"urn:b\" xmlns:a=\"urn:a\" z=\"1\" b:y=\"2\" a:x=\"3\" q=\"&lt;&quot;&amp;&#9;&#xA;\">a &amp; &lt;b&gt;<![CDATA[<c>]]><!-- gone --><e/></r>";
        assert_eq!(
            c14n(xml, &[], &[]),
            "<r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" q=\"&lt;&quot;&amp;&#x9;&#xA;\" z=\"1\" a:x=\"3\" b:y=\"2\">a &amp; &lt;b&gt;&lt;c&gt;<e></e></r>"
        );
    }

    #[test]
    fn default_namespace_is_written_once_and_undeclared_when_left() {
        let xml = r#"<r xmlns="urn:d"><a><b xmlns=""><c/></b></a></r>"#;
        assert_eq!(
            c14n(xml, &[], &[]),
            r#"<r xmlns="urn:d"><a><b xmlns=""><c></c></b></a></r>"#
        );
        assert_eq!(c14n(xml, &[0, 0], &[]), "<b><c></c></b>");
    }

    #[test]
    fn an_excluded_element_is_left_out() {
        let doc = Document::parse(r#"<r ID="x"><s>1</s><t/></r>"#).unwrap();
        let s = doc.child_elements(doc.root()).next().unwrap();
        let out = canonicalize(&doc, doc.root(), Some(s), &[]);
        assert_eq!(out, br#"<r ID="x"><t></t></r>"#);
    }
}
