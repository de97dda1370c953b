//! Who signed in at the provider, read from OpenID Connect claims (and userinfo) or
//! from GitHub's and Discord's user APIs. Only an email address the provider says it
//! verified is marked verified.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OAuthError;
use crate::config::ProviderKind;

/// The longest text kept from a provider for any one field.
const MAX_FIELD: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The provider's stable id for the account (`sub`, GitHub's numeric `id`, ...).
    pub provider_user_id: String,
    pub email_address: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
}

fn field(v: &Value, key: &str) -> Option<String> {
    let s = match v.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= MAX_FIELD).then_some(s)
}

/// `true` or, as Apple sends it, `"true"`.
fn truthy(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// "Ada Lovelace" → ("Ada", "Lovelace").
fn split_name(name: Option<String>) -> (Option<String>, Option<String>) {
    match name {
        Some(n) => match n.split_once(' ') {
            Some((first, last)) => (Some(first.to_string()), Some(last.trim().to_string())),
            None => (Some(n), None),
        },
        None => (None, None),
    }
}

/// From id_token claims, with the userinfo answer (whose `sub` must be the same) taking
/// precedence for everything but the subject.
pub fn openid(
    kind: ProviderKind,
    claims: &Value,
    userinfo: Option<&Value>,
) -> Result<Profile, OAuthError> {
    let sub = field(claims, "sub").ok_or_else(|| OAuthError::new("userinfo", "no sub"))?;
    if let Some(info) = userinfo {
        if field(info, "sub").as_deref() != Some(sub.as_str()) {
            return Err(OAuthError::new(
                "userinfo",
                "its sub differs from the id_token's",
            ));
        }
    }
    let pick = |k: &str| {
        userinfo
            .and_then(|i| field(i, k))
            .or_else(|| field(claims, k))
    };
    let source_of_email = match userinfo.filter(|i| field(i, "email").is_some()) {
        Some(info) => info,
        None => claims,
    };
    // Microsoft's `email` is whatever the tenant typed: verified only with `xms_edov`.
    let email_verified = match kind {
        ProviderKind::Microsoft => truthy(source_of_email, "xms_edov"),
        _ => truthy(source_of_email, "email_verified"),
    };
    let (split_first, split_last) = split_name(pick("name"));
    Ok(Profile {
        provider_user_id: sub,
        email_address: field(source_of_email, "email"),
        email_verified,
        first_name: pick("given_name").or(split_first),
        last_name: pick("family_name").or(split_last),
        username: pick("preferred_username").or_else(|| pick("nickname")),
        avatar_url: pick("picture"),
    })
}

/// GitHub: `/user`, and the primary address of `/user/emails` with its `verified` flag.
pub fn github(user: &Value, emails: &Value) -> Result<Profile, OAuthError> {
    let id = field(user, "id").ok_or_else(|| OAuthError::new("user", "no id"))?;
    let primary = emails
        .as_array()
        .ok_or_else(|| OAuthError::new("emails", "not a list"))?
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    let (first, last) = split_name(field(user, "name"));
    Ok(Profile {
        provider_user_id: id,
        email_address: primary.and_then(|e| field(e, "email")),
        email_verified: primary.is_some_and(|e| truthy(e, "verified")),
        first_name: first,
        last_name: last,
        username: field(user, "login"),
        avatar_url: field(user, "avatar_url"),
    })
}

/// Discord: `/users/@me` (`verified` is about its `email`).
pub fn discord(user: &Value) -> Result<Profile, OAuthError> {
    let id = field(user, "id").ok_or_else(|| OAuthError::new("user", "no id"))?;
    let avatar = field(user, "avatar")
        .map(|hash| format!("https://cdn.discordapp.com/avatars/{id}/{hash}.png"));
    let (first, last) = split_name(field(user, "global_name"));
    Ok(Profile {
        email_address: field(user, "email"),
        email_verified: truthy(user, "verified"),
        first_name: first,
        last_name: last,
        username: field(user, "username"),
        avatar_url: avatar,
        provider_user_id: id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_takes_the_primary_address_and_its_verification() {
        let user = json!({"id": 42, "login": "ada", "name": "Ada Lovelace", "avatar_url": "https://a/x.png"});
        let emails = json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "ada@example.com", "primary": true, "verified": true},
        ]);
        let p = github(&user, &emails).unwrap();
        assert_eq!(p.provider_user_id, "42");
        assert_eq!(p.email_address.as_deref(), Some("ada@example.com"));
        assert!(p.email_verified);
        assert_eq!(p.first_name.as_deref(), Some("Ada"));
        assert_eq!(p.last_name.as_deref(), Some("Lovelace"));
        let unverified = json!([
            {"email": "ada@example.com", "primary": true, "verified": false},
            {"email": "other@example.com", "primary": false, "verified": true},
        ]);
        let p = github(&user, &unverified).unwrap();
        assert_eq!(p.email_address.as_deref(), Some("ada@example.com"));
        assert!(!p.email_verified);
        assert!(github(&json!({"login": "x"}), &emails).is_err());
        assert!(github(&user, &json!({"message": "Bad credentials"})).is_err());
    }

    #[test]
    fn openid_claims_and_userinfo() {
        let claims = json!({"sub": "s1", "email": "a@example.com", "email_verified": "true"});
        let p = openid(ProviderKind::Apple, &claims, None).unwrap();
        assert!(p.email_verified);
        let info = json!({"sub": "s1", "email": "b@example.com", "email_verified": false, "name": "Bea Smith"});
        let p = openid(ProviderKind::Oidc, &claims, Some(&info)).unwrap();
        assert_eq!(p.email_address.as_deref(), Some("b@example.com"));
        assert!(!p.email_verified);
        assert_eq!(p.last_name.as_deref(), Some("Smith"));
        let other = json!({"sub": "s2"});
        assert!(openid(ProviderKind::Oidc, &claims, Some(&other)).is_err());
        let ms = json!({"sub": "s1", "email": "a@example.com", "email_verified": true});
        assert!(
            !openid(ProviderKind::Microsoft, &ms, None)
                .unwrap()
                .email_verified
        );
    }

    #[test]
    fn discord_user() {
        let p = discord(&json!({"id": "80", "username": "nelly", "email": "n@example.com", "verified": true, "avatar": "abc"})).unwrap();
        assert!(p.email_verified);
        assert_eq!(
            p.avatar_url.as_deref(),
            Some("https://cdn.discordapp.com/avatars/80/abc.png")
        );
    }
}
