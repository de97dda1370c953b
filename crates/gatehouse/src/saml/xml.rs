//! A strict XML reader for SAML messages: a small tree with every element's prefix,
//! namespace and declarations, which canonicalization needs, built from `quick-xml`
//! events. It refuses what a SAML message never needs and attacks use: a DOCTYPE (so no
//! entities, internal or external), processing instructions, undeclared prefixes,
//! duplicate attributes, and anything deeper, wider or longer than the limits below.
//! Comments are kept as nodes (canonicalization drops them; reading a value refuses an
//! element that holds one, so a comment cannot truncate a NameID).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

const MAX_DEPTH: usize = 32;
const MAX_NODES: usize = 20_000;
const MAX_ATTRIBUTES: usize = 64;

pub type NodeId = usize;

/// Why a document was refused; a short code for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub &'static str);

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A qualified name with its namespace resolved (`""` for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub prefix: String,
    pub local: String,
    pub ns: String,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: Name,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Element {
    pub name: Name,
    pub attributes: Vec<Attribute>,
    /// The namespace declarations written on this element: (prefix, `""` for the
    /// default namespace; namespace).
    pub declarations: Vec<(String, String)>,
    pub children: Vec<NodeId>,
    pub parent: Option<NodeId>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Element(Element),
    Text(String),
    Comment,
}

/// A parsed document: an arena of nodes and its root element.
#[derive(Debug, Clone)]
pub struct Document {
    nodes: Vec<Node>,
    root: NodeId,
}

impl Document {
    pub fn parse(input: &str) -> Result<Document, XmlError> {
        Builder::default().run(input)
    }

    pub fn root(&self) -> NodeId {
        self.root
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The element `id` (every id handed out by the element accessors is one).
    pub fn element(&self, id: NodeId) -> &Element {
        match &self.nodes[id] {
            Node::Element(e) => e,
            _ => unreachable!("node {id} is not an element"),
        }
    }

    pub fn is(&self, id: NodeId, ns: &str, local: &str) -> bool {
        let n = &self.element(id).name;
        n.ns == ns && n.local == local
    }

    /// The element children of `id`, in order.
    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.element(id)
            .children
            .iter()
            .copied()
            .filter(|c| matches!(self.nodes[*c], Node::Element(_)))
    }

    /// The element children of `id` named `ns:local`.
    pub fn children_named<'a>(
        &'a self,
        id: NodeId,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        self.child_elements(id)
            .filter(move |c| self.is(*c, ns, local))
    }

    /// The only child named `ns:local`: `None` when absent, an error when repeated.
    pub fn only_child(
        &self,
        id: NodeId,
        ns: &str,
        local: &str,
    ) -> Result<Option<NodeId>, XmlError> {
        let mut found = self.children_named(id, ns, local);
        let first = found.next();
        if found.next().is_some() {
            return Err(XmlError("repeated_element"));
        }
        Ok(first)
    }

    /// Every element in document order, the root first.
    pub fn elements(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).filter(|i| matches!(self.nodes[*i], Node::Element(_)))
    }

    /// The value of the attribute `local` without a namespace.
    pub fn attr(&self, id: NodeId, local: &str) -> Option<&str> {
        self.element(id)
            .attributes
            .iter()
            .find(|a| a.name.ns.is_empty() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// The text of an element that holds only text: an element child or a comment
    /// inside is refused (a comment would let a parser that reads the first text node
    /// see another value than the one signed).
    pub fn text(&self, id: NodeId) -> Result<String, XmlError> {
        let mut out = String::new();
        for c in &self.element(id).children {
            match &self.nodes[*c] {
                Node::Text(t) => out.push_str(t),
                Node::Comment => return Err(XmlError("comment_in_value")),
                Node::Element(_) => return Err(XmlError("element_in_value")),
            }
        }
        Ok(out)
    }

    /// The namespace bound to `prefix` (`""`: the default namespace) where `id` is.
    pub fn namespace_in_scope(&self, id: NodeId, prefix: &str) -> Option<&str> {
        declared_namespace(&self.nodes, id, prefix)
    }

    /// Whether `id` lies inside `ancestor` (or is it).
    pub fn is_within(&self, id: NodeId, ancestor: NodeId) -> bool {
        let mut at = Some(id);
        while let Some(i) = at {
            if i == ancestor {
                return true;
            }
            at = self.element(i).parent;
        }
        false
    }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    open: Vec<NodeId>,
    root: Option<NodeId>,
}

impl Builder {
    fn run(mut self, input: &str) -> Result<Document, XmlError> {
        let mut reader = Reader::from_str(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        let mut seen_content = false;
        loop {
            let event = reader.read_event().map_err(|_| XmlError("malformed_xml"))?;
            match event {
                Event::Decl(_) if !seen_content => {}
                Event::Decl(_) => return Err(XmlError("misplaced_declaration")),
                Event::DocType(_) => return Err(XmlError("doctype_refused")),
                Event::PI(_) => return Err(XmlError("processing_instruction_refused")),
                Event::Start(e) => {
                    seen_content = true;
                    let id = self.start(&e)?;
                    self.open.push(id);
                }
                Event::Empty(e) => {
                    seen_content = true;
                    self.start(&e)?;
                }
                Event::End(_) => {
                    self.open.pop().ok_or(XmlError("malformed_xml"))?;
                }
                Event::Text(t) => {
                    seen_content = true;
                    let raw = std::str::from_utf8(t.as_ref()).map_err(|_| XmlError("not_utf8"))?;
                    let text = quick_xml::escape::unescape(&normalize_newlines(raw))
                        .map_err(|_| XmlError("unknown_entity"))?
                        .into_owned();
                    self.text(text)?;
                }
                Event::CData(t) => {
                    seen_content = true;
                    let raw = std::str::from_utf8(t.as_ref()).map_err(|_| XmlError("not_utf8"))?;
                    self.text(normalize_newlines(raw).into_owned())?;
                }
                Event::Comment(_) => {
                    seen_content = true;
                    if self.open.last().is_some() {
                        self.push(Node::Comment)?;
                    }
                }
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(XmlError("malformed_xml"));
        }
        let root = self.root.ok_or(XmlError("no_root_element"))?;
        Ok(Document {
            nodes: self.nodes,
            root,
        })
    }

    fn push(&mut self, node: Node) -> Result<NodeId, XmlError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(XmlError("too_many_nodes"));
        }
        let id = self.nodes.len();
        self.nodes.push(node);
        if let Some(parent) = self.open.last().copied() {
            if let Node::Element(p) = &mut self.nodes[parent] {
                p.children.push(id);
            }
        }
        Ok(id)
    }

    fn text(&mut self, text: String) -> Result<(), XmlError> {
        if self.open.is_empty() {
            // Outside the root only whitespace may appear.
            return if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n')) {
                Ok(())
            } else {
                Err(XmlError("text_outside_root"))
            };
        }
        self.push(Node::Text(text)).map(|_| ())
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<NodeId, XmlError> {
        if self.open.is_empty() && self.root.is_some() {
            return Err(XmlError("several_root_elements"));
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(XmlError("too_deep"));
        }
        let (prefix, local) = split_qname(e.name().as_ref())?;
        let mut declarations = Vec::new();
        let mut raw_attributes = Vec::new();
        for a in e.attributes().with_checks(true) {
            let a = a.map_err(|_| XmlError("malformed_attribute"))?;
            if raw_attributes.len() + declarations.len() >= MAX_ATTRIBUTES {
                return Err(XmlError("too_many_attributes"));
            }
            let raw = std::str::from_utf8(&a.value).map_err(|_| XmlError("not_utf8"))?;
            let value = quick_xml::escape::unescape(&normalize_attribute(raw))
                .map_err(|_| XmlError("unknown_entity"))?
                .into_owned();
            let (p, l) = split_qname(a.key.as_ref())?;
            match (p.as_str(), l.as_str()) {
                ("", "xmlns") => declarations.push((String::new(), value)),
                ("xmlns", _) => {
                    if value.is_empty() || l == "xmlns" || l == "xml" {
                        return Err(XmlError("bad_namespace_declaration"));
                    }
                    declarations.push((l, value));
                }
                _ => raw_attributes.push((p, l, value)),
            }
        }
        let parent = self.open.last().copied();
        let id = self.push(Node::Element(Element {
            name: Name {
                prefix: prefix.clone(),
                local,
                ns: String::new(),
            },
            attributes: Vec::new(),
            declarations,
            children: Vec::new(),
            parent,
        }))?;
        if parent.is_none() {
            self.root = Some(id);
        }
        // Resolve names now that the element's own declarations are in place.
        let ns = match declared_namespace(&self.nodes, id, &prefix) {
            Some(ns) => ns.to_string(),
            None if prefix.is_empty() => String::new(),
            None => return Err(XmlError("undeclared_prefix")),
        };
        let mut attributes = Vec::with_capacity(raw_attributes.len());
        for (p, l, value) in raw_attributes {
            let ns = if p.is_empty() {
                String::new()
            } else {
                declared_namespace(&self.nodes, id, &p)
                    .ok_or(XmlError("undeclared_prefix"))?
                    .to_string()
            };
            if attributes
                .iter()
                .any(|a: &Attribute| a.name.ns == ns && a.name.local == l)
            {
                return Err(XmlError("duplicate_attribute"));
            }
            attributes.push(Attribute {
                name: Name {
                    prefix: p,
                    local: l,
                    ns,
                },
                value,
            });
        }
        if let Node::Element(el) = &mut self.nodes[id] {
            el.name.ns = ns;
            el.attributes = attributes;
        }
        Ok(id)
    }
}

/// The namespace declared for `prefix` at `id` or above it (`xml` is always bound).
fn declared_namespace<'a>(nodes: &'a [Node], id: NodeId, prefix: &str) -> Option<&'a str> {
    if prefix == "xml" {
        return Some(XML_NS);
    }
    let mut at = Some(id);
    while let Some(i) = at {
        let Node::Element(e) = &nodes[i] else {
            return None;
        };
        if let Some((_, ns)) = e.declarations.iter().find(|(p, _)| p == prefix) {
            return Some(ns);
        }
        at = e.parent;
    }
    None
}

fn split_qname(raw: &[u8]) -> Result<(String, String), XmlError> {
    let s = std::str::from_utf8(raw).map_err(|_| XmlError("not_utf8"))?;
    let (prefix, local) = match s.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", s),
    };
    if local.is_empty() || local.contains(':') || (s.contains(':') && prefix.is_empty()) {
        return Err(XmlError("bad_name"));
    }
    Ok((prefix.to_string(), local.to_string()))
}

/// End-of-line handling (XML 1.0 §2.11): CR LF and lone CR become LF.
fn normalize_newlines(s: &str) -> Cow<'_, str> {
    if !s.contains('\r') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Attribute-value normalization (XML 1.0 §3.3.3) for CDATA attributes: literal
/// whitespace characters become spaces (character references stay what they say).
fn normalize_attribute(s: &str) -> Cow<'_, str> {
    if !s.contains(['\t', '\n', '\r']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\r\n", " ").replace(['\t', '\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_through_declarations() {
        let doc = Document::parse(
            r#"<?xml version="1.0"?><a:R xmlns:a="urn:a" xmlns="urn:d" ID="1"><b a:x="y">t&amp;u</b></a:R>"#,
        )
        .unwrap();
        let root = doc.root();
        assert!(doc.is(root, "urn:a", "R"));
        assert_eq!(doc.attr(root, "ID"), Some("1"));
        let b = doc.child_elements(root).next().unwrap();
        assert!(doc.is(b, "urn:d", "b"));
        assert_eq!(doc.element(b).attributes[0].name.ns, "urn:a");
        assert_eq!(doc.text(b).unwrap(), "t&u");
    }

    #[test]
    fn refuses_what_saml_never_needs() {
        let cases = [
            (
                r#"<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>"#,
                "doctype_refused",
            ),
            (r#"<r>&x;</r>"#, "unknown_entity"),
            (r#"<r><?pi data?></r>"#, "processing_instruction_refused"),
            (r#"<p:r/>"#, "undeclared_prefix"),
            (r#"<r a="1" a="2"/>"#, "malformed_attribute"),
            (
                r#"<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>"#,
                "duplicate_attribute",
            ),
            (r#"<r></s>"#, "malformed_xml"),
            (r#"<r/><r/>"#, "several_root_elements"),
            (r#"<r xmlns:p=""/>"#, "bad_namespace_declaration"),
            (r#"<r>"#, "malformed_xml"),
            ("", "no_root_element"),
        ];
        for (input, code) in cases {
            assert_eq!(Document::parse(input).unwrap_err().0, code, "{input}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(Document::parse(&deep).unwrap_err().0, "too_deep");
    }

    #[test]
    fn a_comment_inside_a_value_is_refused() {
        let doc = Document::parse("<r><n>admin@acme.test<!---->.evil.test</n></r>").unwrap();
        let n = doc.child_elements(doc.root()).next().unwrap();
        assert_eq!(doc.text(n).unwrap_err().0, "comment_in_value");
    }

    #[test]
    fn newlines_and_attribute_whitespace_are_normalized() {
        let doc = Document::parse("<r a=\"x\ty\r\nz&#xA;\">1\r\n2\r3</r>").unwrap();
        assert_eq!(doc.attr(doc.root(), "a"), Some("x y z\n"));
        assert_eq!(doc.text(doc.root()).unwrap(), "1\n2\n3");
    }
}
