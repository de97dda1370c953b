//! Turning a claims object into a checked, ready-to-render template, once.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::eval::{render_object, TemplateData};
use super::parser::{self, Piece, Term};
use super::paths::{self, DataPath};

/// Largest claims object accepted, serialized.
pub const MAX_CLAIMS_BYTES: usize = 16 * 1024;
/// Deepest nesting of objects and arrays accepted.
pub const MAX_DEPTH: usize = 16;

/// A claims template, parsed and checked. Rendering it cannot fail.
#[derive(Debug, Clone, Default)]
pub struct CompiledClaims {
    entries: Vec<(String, Node)>,
    /// The claims themselves when no value holds a shortcode.
    fixed: Option<Map<String, Value>>,
    needs_user: bool,
}

/// One value of the template.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// No shortcode anywhere inside.
    Static(Value),
    /// A string that is exactly one shortcode: takes the value's JSON type.
    Single(Vec<Alternative>),
    /// Text with shortcodes in it: a string.
    Interpolated(Vec<Part>),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

#[derive(Debug, Clone)]
pub(super) enum Part {
    Text(String),
    Code(Vec<Alternative>),
}

#[derive(Debug, Clone)]
pub(super) enum Alternative {
    Path(DataPath),
    Literal(Value),
}

/// Why a claims template was refused, and where: `location` is the claim's path from
/// the top of the claims object (`role`, `roles[0]`, `["https://x"].id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.location, self.message)
        }
    }
}

impl std::error::Error for TemplateError {}

impl TemplateError {
    /// The error with its location under `root` (the claims' own name, e.g. `claims` or
    /// `session.claims`): "`claims.role`: at character 1: ...".
    pub fn at(&self, root: &str) -> String {
        let location = match self.location.chars().next() {
            None => root.to_string(),
            Some('[') => format!("{root}{}", self.location),
            Some(_) => format!("{root}.{}", self.location),
        };
        format!("`{location}`: {}", self.message)
    }
}

/// Checks and compiles `claims`. Top-level keys in `reserved` are refused.
pub fn compile(
    claims: &Map<String, Value>,
    reserved: &[&str],
) -> Result<CompiledClaims, TemplateError> {
    let size = serde_json::to_vec(claims)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CLAIMS_BYTES {
        return Err(TemplateError {
            location: String::new(),
            message: format!(
                "the claims are {size} bytes of JSON; at most {MAX_CLAIMS_BYTES} are allowed"
            ),
        });
    }
    if let Some(key) = claims.keys().find(|k| reserved.contains(&k.as_str())) {
        return Err(TemplateError {
            location: key_location("", key),
            message: format!("`{key}` is a reserved claim and cannot be set"),
        });
    }
    let mut needs_user = false;
    let entries = object_entries(claims, "", 1, &mut needs_user)?;
    let fixed = entries
        .iter()
        .all(|(_, n)| matches!(n, Node::Static(_)))
        .then(|| claims.clone());
    Ok(CompiledClaims {
        entries,
        fixed,
        needs_user,
    })
}

impl CompiledClaims {
    /// No claims at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether rendering reads `user.*` (and so the user must be loaded first).
    pub fn needs_user(&self) -> bool {
        self.needs_user
    }

    /// Whether the claims are the same for every token (no shortcodes).
    pub fn is_static(&self) -> bool {
        self.fixed.is_some()
    }

    /// The claims for one token. Static claims are borrowed, not rebuilt.
    pub fn render(&self, data: &TemplateData<'_>) -> Cow<'_, Map<String, Value>> {
        match &self.fixed {
            Some(fixed) => Cow::Borrowed(fixed),
            None => Cow::Owned(render_object(&self.entries, data)),
        }
    }
}

fn object_entries(
    map: &Map<String, Value>,
    location: &str,
    depth: usize,
    needs_user: &mut bool,
) -> Result<Vec<(String, Node)>, TemplateError> {
    map.iter()
        .map(|(key, value)| {
            let here = key_location(location, key);
            Ok((key.clone(), node(value, &here, depth, needs_user)?))
        })
        .collect()
}

fn node(
    value: &Value,
    location: &str,
    depth: usize,
    needs_user: &mut bool,
) -> Result<Node, TemplateError> {
    let too_deep = || TemplateError {
        location: location.to_string(),
        message: format!("objects and arrays may be nested at most {MAX_DEPTH} levels deep"),
    };
    let compiled = match value {
        Value::String(s) => string_node(s, location, needs_user)?,
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            Node::Object(object_entries(map, location, depth + 1, needs_user)?)
        }
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            let nodes = items
                .iter()
                .enumerate()
                .map(|(i, item)| node(item, &format!("{location}[{i}]"), depth + 1, needs_user))
                .collect::<Result<Vec<_>, _>>()?;
            Node::Array(nodes)
        }
        other => Node::Static(other.clone()),
    };
    // A container whose every part is static is static itself.
    let all_static = match &compiled {
        Node::Object(entries) => entries.iter().all(|(_, n)| matches!(n, Node::Static(_))),
        Node::Array(items) => items.iter().all(|n| matches!(n, Node::Static(_))),
        _ => false,
    };
    Ok(if all_static {
        Node::Static(value.clone())
    } else {
        compiled
    })
}

fn string_node(s: &str, location: &str, needs_user: &mut bool) -> Result<Node, TemplateError> {
    if !parser::has_shortcode(s) {
        return Ok(Node::Static(Value::String(s.to_string())));
    }
    let error = |message: String| TemplateError {
        location: location.to_string(),
        message,
    };
    let pieces = parser::parse(s).map_err(|e| error(e.to_string()))?;
    let mut parts = Vec::with_capacity(pieces.len());
    for piece in pieces {
        parts.push(match piece {
            Piece::Text(t) => Part::Text(t),
            Piece::Code(code) => {
                let mut alternatives = Vec::with_capacity(code.terms.len());
                for term in code.terms {
                    alternatives.push(match term {
                        Term::Literal(v) => Alternative::Literal(v),
                        Term::Path(steps) => {
                            let path = paths::resolve(&steps).map_err(error)?;
                            *needs_user |= path.field.is_user();
                            Alternative::Path(path)
                        }
                    });
                }
                Part::Code(alternatives)
            }
        });
    }
    if let [Part::Code(_)] = parts.as_slice() {
        if let Some(Part::Code(alternatives)) = parts.pop() {
            return Ok(Node::Single(alternatives));
        }
    }
    Ok(Node::Interpolated(parts))
}

/// `parent.key`, or `parent["odd key"]` for keys that are not plain names.
fn key_location(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain && parent.is_empty() {
        key.to_string()
    } else if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_string()))
    }
}
