//! The verified claims of a session token.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The claims of a verified Gatehouse session token (or any JWT the verifier accepted).
///
/// The registered and Gatehouse claims are typed fields; everything else (custom session
/// claims, template claims) is read with [`get`](Self::get) or [`all`](Self::all), parsed
/// on first use so that a request that only needs `sub` never pays for it.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Issuer: the Gatehouse public URL.
    pub iss: String,
    /// Subject: the user id (`user_...`).
    pub sub: String,
    /// Session id (`sess_...`).
    #[serde(default)]
    pub sid: Option<String>,
    /// Authorized party: the Origin the token was minted for, when known.
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Not before, seconds since the Unix epoch.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Token id, unique per token.
    #[serde(default)]
    pub jti: Option<String>,
    /// Session status (`active`).
    #[serde(default)]
    pub sts: Option<String>,
    /// Minutes since the first and the second factor (`-1`: no second factor).
    #[serde(default)]
    pub fva: Option<[i64; 2]>,
    /// The active organization, when one is set.
    #[serde(default, rename = "o")]
    pub org: Option<OrgClaims>,
    /// Who is acting for the user, when the session is an impersonation.
    #[serde(default)]
    pub act: Option<ActorClaims>,
    #[serde(skip)]
    payload: String,
    #[serde(skip)]
    all: OnceLock<Map<String, Value>>,
}

/// The `o` claim: the session's active organization.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OrgClaims {
    /// Organization id.
    pub id: String,
    /// Organization slug.
    #[serde(default, rename = "slg")]
    pub slug: Option<String>,
    /// The user's role in it.
    #[serde(default, rename = "rol")]
    pub role: Option<String>,
    /// The user's permissions in it.
    #[serde(default, rename = "per")]
    pub permissions: Vec<String>,
}

/// The `act` claim.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ActorClaims {
    /// Who is acting (for example an administrator's user id).
    pub sub: String,
}

impl Claims {
    /// Parses a payload: a JSON object with at least `iss`, `sub` and `exp`.
    pub(crate) fn parse(payload: Vec<u8>) -> Result<Self, &'static str> {
        if payload.trim_ascii_start().first() != Some(&b'{') {
            return Err("payload is not a JSON object");
        }
        let mut claims: Claims = serde_json::from_slice(&payload)
            .map_err(|_| "sub, iss or exp is missing or mistyped")?;
        // Kept for `all()`; valid JSON is valid UTF-8, and the buffer is moved, not copied.
        claims.payload = String::from_utf8(payload).map_err(|_| "payload is not UTF-8")?;
        Ok(claims)
    }

    /// Every claim of the token, parsed on first use.
    pub fn all(&self) -> &Map<String, Value> {
        self.all
            .get_or_init(|| serde_json::from_str(&self.payload).unwrap_or_default())
    }

    /// One claim by name, typed claims included (`get("sub")`, `get("role")`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.all().get(name)
    }

    /// The payload exactly as signed (JSON).
    pub fn payload_json(&self) -> &str {
        &self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_claims_and_the_rest_on_demand() {
        let payload = br#"{"iss":"https://auth.example.com","sub":"user_1","sid":"sess_1","exp":20,
            "o":{"id":"org_1","slg":"acme","rol":"admin","per":["org:billing:read"]},
            "act":{"sub":"user_admin"},"role":"editor","fva":[3,-1]}"#;
        let claims = Claims::parse(payload.to_vec()).unwrap();
        assert_eq!(claims.sub, "user_1");
        assert_eq!(claims.org.as_ref().unwrap().slug.as_deref(), Some("acme"));
        assert_eq!(claims.act.as_ref().unwrap().sub, "user_admin");
        assert_eq!(claims.fva, Some([3, -1]));
        assert_eq!(claims.get("role"), Some(&Value::from("editor")));
        assert_eq!(claims.clone().get("sid"), Some(&Value::from("sess_1")));
    }

    #[test]
    fn refuses_payloads_without_the_required_claims() {
        for bad in [
            &b"[]"[..],
            b"\"x\"",
            br#"{"iss":"i","exp":1}"#,
            br#"{"iss":"i","sub":"s"}"#,
            br#"{"iss":"i","sub":"s","exp":"soon"}"#,
            br#"{"iss":7,"sub":"s","exp":1}"#,
            b"{",
        ] {
            assert!(
                Claims::parse(bad.to_vec()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
