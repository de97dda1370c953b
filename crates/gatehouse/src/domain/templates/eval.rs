//! Rendering a compiled template against the data of one token.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::compile::{Alternative, Node, Part};
use super::paths::Field;

/// The user fields templates may read (never `private_metadata`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub primary_email_address: Option<String>,
    /// Whether the primary email address is verified; `None` without one.
    pub email_verified: Option<bool>,
    pub primary_phone_number: Option<String>,
    /// Whether the primary phone number is verified; `None` without one.
    pub phone_number_verified: Option<bool>,
    /// Milliseconds since the epoch, like every time in the API.
    pub created_at: i64,
    pub public_metadata: Value,
    pub unsafe_metadata: Value,
}

/// What one token's template is rendered from. A field whose data is absent renders
/// `null` (organizations do not exist yet, so `org.*` is always `null`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateData<'a> {
    /// Loaded only when the template reads `user.*`.
    pub user: Option<&'a UserData>,
    pub session_id: Option<&'a str>,
    /// The impersonating actor (`{"sub": ...}`), if any.
    pub actor: Option<&'a Value>,
}

/// A whole claims object.
pub(super) fn render_object(
    entries: &[(String, Node)],
    data: &TemplateData<'_>,
) -> Map<String, Value> {
    entries
        .iter()
        .map(|(key, node)| (key.clone(), render_node(node, data)))
        .collect()
}

fn render_node(node: &Node, data: &TemplateData<'_>) -> Value {
    match node {
        Node::Static(v) => v.clone(),
        Node::Single(alternatives) => first_value(alternatives, data).into_owned(),
        Node::Interpolated(parts) => Value::String(interpolate(parts, data)),
        Node::Object(entries) => Value::Object(render_object(entries, data)),
        Node::Array(items) => Value::Array(items.iter().map(|n| render_node(n, data)).collect()),
    }
}

/// The first alternative that is not `null`; `null` when none has a value.
fn first_value<'d>(alternatives: &'d [Alternative], data: &TemplateData<'d>) -> Cow<'d, Value> {
    for alternative in alternatives {
        let v = match alternative {
            Alternative::Literal(v) => Cow::Borrowed(v),
            Alternative::Path(path) => lookup(field_value(path.field, data), &path.rest),
        };
        if !v.is_null() {
            return v;
        }
    }
    Cow::Owned(Value::Null)
}

/// Text with shortcodes: strings as they are, `null` as nothing, numbers and booleans
/// as JSON, objects and arrays as compact JSON.
fn interpolate(parts: &[Part], data: &TemplateData<'_>) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Code(alternatives) => match first_value(alternatives, data).as_ref() {
                Value::Null => {}
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            },
        }
    }
    out
}

fn field_value<'d>(field: Field, data: &TemplateData<'d>) -> Cow<'d, Value> {
    let text = |s: Option<&str>| Cow::Owned(s.map_or(Value::Null, |s| Value::String(s.to_owned())));
    let flag = |b: Option<bool>| Cow::Owned(b.map_or(Value::Null, Value::Bool));
    let user = data.user;
    match field {
        Field::SessionId => text(data.session_id),
        Field::SessionActor => data.actor.map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        Field::OrgId | Field::OrgSlug | Field::OrgRole | Field::UserImageUrl => {
            Cow::Owned(Value::Null)
        }
        _ => {
            let Some(u) = user else {
                return Cow::Owned(Value::Null);
            };
            match field {
                Field::UserId => text(Some(&u.id)),
                Field::UserFirstName => text(u.first_name.as_deref()),
                Field::UserLastName => text(u.last_name.as_deref()),
                Field::UserUsername => text(u.username.as_deref()),
                Field::UserPrimaryEmailAddress => text(u.primary_email_address.as_deref()),
                Field::UserEmailVerified => flag(u.email_verified),
                Field::UserPrimaryPhoneNumber => text(u.primary_phone_number.as_deref()),
                Field::UserPhoneNumberVerified => flag(u.phone_number_verified),
                Field::UserCreatedAt => Cow::Owned(Value::from(u.created_at)),
                Field::UserPublicMetadata => Cow::Borrowed(&u.public_metadata),
                Field::UserUnsafeMetadata => Cow::Borrowed(&u.unsafe_metadata),
                _ => Cow::Owned(Value::Null),
            }
        }
    }
}

/// Steps into objects (by key) and arrays (by index); anything missing is `null`.
fn lookup<'d>(value: Cow<'d, Value>, steps: &[String]) -> Cow<'d, Value> {
    if steps.is_empty() {
        return value;
    }
    let step_into = |v: &Value| -> Value {
        let mut current = v;
        for step in steps {
            let next = match current {
                Value::Object(map) => map.get(step),
                Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => current = n,
                None => return Value::Null,
            }
        }
        current.clone()
    };
    Cow::Owned(step_into(value.as_ref()))
}
