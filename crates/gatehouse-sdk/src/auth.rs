//! [`Auth`]: who made a request, as the tower layers hand it to handlers.

use std::sync::Arc;

use serde::Serialize;

use crate::claims::Claims;

/// The signed-in state of one request.
///
/// [`with_auth`](crate::with_auth) puts one in every request's extensions; a signed-out
/// request gets [`Auth::signed_out`], whose fields are all `None` (serialized as `null`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Auth {
    /// The user (`sub`).
    pub user_id: Option<String>,
    /// The session (`sid`).
    pub session_id: Option<String>,
    /// The active organization's id.
    pub org_id: Option<String>,
    /// The user's role in the active organization.
    pub org_role: Option<String>,
    /// The active organization's slug.
    pub org_slug: Option<String>,
    /// The user's permissions in the active organization (empty without one).
    pub org_permissions: Vec<String>,
    /// Who acts for the user when the session is an impersonation (`act.sub`).
    pub actor: Option<String>,
    /// Every claim of the verified token.
    #[serde(serialize_with = "serialize_claims")]
    pub claims: Option<Arc<Claims>>,
}

impl Auth {
    /// A request without a valid token.
    pub fn signed_out() -> Self {
        Self::default()
    }

    /// The state a verified token describes.
    pub fn from_claims(claims: Arc<Claims>) -> Self {
        let org = claims.org.as_ref();
        Self {
            user_id: Some(claims.sub.clone()),
            session_id: claims.sid.clone(),
            org_id: org.map(|org| org.id.clone()),
            org_role: org.and_then(|org| org.role.clone()),
            org_slug: org.and_then(|org| org.slug.clone()),
            org_permissions: org.map(|org| org.permissions.clone()).unwrap_or_default(),
            actor: claims.act.as_ref().map(|act| act.sub.clone()),
            claims: Some(claims),
        }
    }

    /// Whether a valid token came with the request.
    pub fn is_signed_in(&self) -> bool {
        self.user_id.is_some()
    }

    /// Whether the user has `role`: as their role in the active organization, or in a
    /// custom session claim `role` (a string, or an array of strings), such as one set
    /// by `[session] claims = {role = "{{user.public_metadata.role || 'user'}}"}`.
    pub fn has_role(&self, role: &str) -> bool {
        if self.org_role.as_deref() == Some(role) {
            return true;
        }
        match self.claims.as_ref().and_then(|claims| claims.get("role")) {
            Some(serde_json::Value::String(value)) => value == role,
            Some(serde_json::Value::Array(values)) => values.iter().any(|v| v == role),
            _ => false,
        }
    }

    /// Whether the user has `permission` in the active organization.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.org_permissions.iter().any(|p| p == permission)
    }
}

fn serialize_claims<S: serde::Serializer>(
    claims: &Option<Arc<Claims>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match claims {
        Some(claims) => claims.all().serialize(serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(json: &str) -> Auth {
        Auth::from_claims(Arc::new(Claims::parse(json.as_bytes().to_vec()).unwrap()))
    }

    #[test]
    fn signed_out_is_all_null() {
        let json = serde_json::to_value(Auth::signed_out()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"user_id": null, "session_id": null, "org_id": null,
                "org_role": null, "org_slug": null, "org_permissions": [], "actor": null,
                "claims": null})
        );
        assert!(!Auth::signed_out().is_signed_in());
        assert!(!Auth::signed_out().has_role("admin"));
    }

    #[test]
    fn roles_come_from_the_org_or_a_custom_claim() {
        let a = auth(r#"{"iss":"i","sub":"u","exp":1,"role":"admin"}"#);
        assert!(a.is_signed_in() && a.has_role("admin") && !a.has_role("user"));
        let a = auth(r#"{"iss":"i","sub":"u","exp":1,"role":["a","b"]}"#);
        assert!(a.has_role("b") && !a.has_role("c"));
        let a = auth(
            r#"{"iss":"i","sub":"u","sid":"s","exp":1,"o":{"id":"org_1","slg":"acme","rol":"org:admin","per":["org:read"]}}"#,
        );
        assert!(a.has_role("org:admin") && a.has_permission("org:read") && !a.has_permission("x"));
        assert_eq!(a.org_slug.as_deref(), Some("acme"));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["claims"]["o"]["id"], "org_1");
        assert_eq!(json["session_id"], "s");
    }
}
