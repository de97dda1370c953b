//! The `[oauth.<name>]` sections: social sign-in providers.
//!
//! `google`, `github`, `microsoft`, `gitlab`, `discord` and `apple` are presets implied by
//! their names; any other name needs `kind = "oidc"` and `issuer` (its discovery document
//! supplies the endpoints). Every endpoint can be overridden. Apple's client secret is a
//! JWT signed with the team's ES256 key (`team_id`, `key_id`, `private_key`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// What kind of provider a section configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Google,
    Github,
    Microsoft,
    Gitlab,
    Discord,
    Apple,
    /// Any OpenID Connect provider, found through `issuer`'s discovery document.
    Oidc,
}

impl ProviderKind {
    /// The preset a provider name implies, if any.
    pub fn from_name(name: &str) -> Option<ProviderKind> {
        Some(match name {
            "google" => ProviderKind::Google,
            "github" => ProviderKind::Github,
            "microsoft" => ProviderKind::Microsoft,
            "gitlab" => ProviderKind::Gitlab,
            "discord" => ProviderKind::Discord,
            "apple" => ProviderKind::Apple,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Google => "google",
            ProviderKind::Github => "github",
            ProviderKind::Microsoft => "microsoft",
            ProviderKind::Gitlab => "gitlab",
            ProviderKind::Discord => "discord",
            ProviderKind::Apple => "apple",
            ProviderKind::Oidc => "oidc",
        }
    }
}

/// One `[oauth.<name>]` section.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthProviderConfig {
    pub kind: Option<ProviderKind>,
    pub client_id: String,
    /// Not for Apple, whose secret is made from `team_id`, `key_id` and `private_key`.
    pub client_secret: Option<String>,
    /// Replaces the preset's scopes (a list or a space- or comma-separated string).
    #[serde(deserialize_with = "scopes_list")]
    pub scopes: Option<Vec<String>>,
    /// The shown name ("Continue with ..."); defaults to the preset's or the section name.
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
    /// Apple: the developer team id (the `iss` of the client secret).
    pub team_id: Option<String>,
    /// Apple: the id of the Sign in with Apple key.
    pub key_id: Option<String>,
    /// Apple: the key itself, a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_key: Option<String>,
}

impl std::fmt::Debug for OAuthProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthProviderConfig")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("issuer", &self.issuer)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .field("jwks_url", &self.jwks_url)
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .field("private_key", &self.private_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl OAuthProviderConfig {
    /// The kind in effect: the configured one, else the one the name implies.
    pub fn kind_for(&self, name: &str) -> Option<ProviderKind> {
        self.kind.or_else(|| ProviderKind::from_name(name))
    }
}

/// Longest provider name (the strategy is `oauth_<name>`).
const MAX_NAME: usize = 32;

/// Checks every `[oauth.<name>]` section; errors name the key.
pub fn validate(providers: &mut BTreeMap<String, OAuthProviderConfig>) -> Result<(), ConfigError> {
    for (name, p) in providers.iter_mut() {
        let key = |field: &str| format!("oauth.{name}.{field}");
        let bad =
            |field: &str, expected: &str| Err(ConfigError(format!("`{}`: {expected}", key(field))));
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(ConfigError(format!(
                "`oauth.{name}`: provider names are 1 to {MAX_NAME} characters from a-z, 0-9, `_` and `-`"
            )));
        }
        let Some(kind) = p.kind_for(name) else {
            return bad(
                "kind",
                "expected one of \"google\", \"github\", \"microsoft\", \"gitlab\", \"discord\", \"apple\", or \"oidc\" with `issuer` (only those six names imply a kind)",
            );
        };
        p.client_id = p.client_id.trim().to_string();
        if p.client_id.is_empty() {
            return bad("client_id", "expected the client id the provider issued");
        }
        if kind == ProviderKind::Apple {
            for (field, value) in [
                ("team_id", &p.team_id),
                ("key_id", &p.key_id),
                ("private_key", &p.private_key),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return bad(
                        field,
                        "Sign in with Apple needs `team_id`, `key_id` and `private_key` (the .p8 key's PEM)",
                    );
                }
            }
            let pem = p.private_key.as_deref().unwrap_or_default();
            if crate::crypto::pem::es256_signing_key(pem, "check").is_err() {
                return bad(
                    "private_key",
                    "expected the PKCS#8 PEM of a P-256 key (-----BEGIN PRIVATE KEY-----)",
                );
            }
        } else if p
            .client_secret
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return bad(
                "client_secret",
                "expected the client secret the provider issued",
            );
        }
        if kind == ProviderKind::Oidc && p.issuer.is_none() {
            return bad(
                "issuer",
                "a provider of kind \"oidc\" needs `issuer`, e.g. \"https://accounts.example.com\" (its /.well-known/openid-configuration supplies the endpoints)",
            );
        }
        for (field, value) in [
            ("issuer", &mut p.issuer),
            ("authorize_url", &mut p.authorize_url),
            ("token_url", &mut p.token_url),
            ("userinfo_url", &mut p.userinfo_url),
            ("jwks_url", &mut p.jwks_url),
        ] {
            if let Some(v) = value {
                let trimmed = v.trim().trim_end_matches('/').to_string();
                match url::Url::parse(&trimmed) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        *v = trimmed;
                    }
                    _ => return bad(field, "expected an absolute http(s) URL"),
                }
            }
        }
        if let Some(scopes) = &p.scopes {
            if scopes.is_empty() || scopes.iter().any(|s| s.is_empty() || s.len() > 256) {
                return bad("scopes", "expected a non-empty list of scopes");
            }
        }
    }
    Ok(())
}

/// Accepts a TOML list or a space- or comma-separated string (as environment variables give).
fn scopes_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::List(v)) => Some(v.into_iter().map(|s| s.trim().to_string()).collect()),
        Some(Either::One(s)) => Some(
            s.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn err(toml: &str) -> String {
        Config::from_toml_str(toml).unwrap_err().0
    }

    #[test]
    fn presets_need_only_credentials() {
        let c = Config::from_toml_str(
            "[oauth.google]\nclient_id = \"g\"\nclient_secret = \"s\"\n\
             [oauth.github]\nclient_id = \"h\"\nclient_secret = \"t\"\nscopes = \"read:user user:email\"\n",
        )
        .unwrap();
        assert_eq!(c.oauth.len(), 2);
        assert_eq!(
            c.oauth["github"].scopes.as_deref(),
            Some(&["read:user".to_string(), "user:email".to_string()][..])
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = err("[oauth.google]\nclient_secret = \"s\"\n");
        assert!(e.contains("oauth.google.client_id"), "{e}");
        let e = err("[oauth.google]\nclient_id = \"g\"\n");
        assert!(e.contains("oauth.google.client_secret"), "{e}");
        let e = err("[oauth.acme]\nclient_id = \"a\"\nclient_secret = \"s\"\n");
        assert!(e.contains("oauth.acme.kind"), "{e}");
        let e = err("[oauth.acme]\nkind = \"oidc\"\nclient_id = \"a\"\nclient_secret = \"s\"\n");
        assert!(e.contains("oauth.acme.issuer"), "{e}");
        let e = err("[oauth.acme]\nkind = \"oidc\"\nclient_id = \"a\"\nclient_secret = \"s\"\nissuer = \"ftp://x\"\n");
        assert!(e.contains("oauth.acme.issuer"), "{e}");
        let e = err("[oauth.acme]\nkind = \"saml\"\nclient_id = \"a\"\n");
        assert!(e.contains("oauth.acme.kind"), "{e}");
        let e =
            err("[oauth.google]\nclient_id = \"g\"\nclient_secret = \"s\"\ntoken_url = \"nope\"\n");
        assert!(e.contains("oauth.google.token_url"), "{e}");
        let e = err(
            "[oauth.google]\nclient_id = \"g\"\nclient_secret = \"s\"\nclient_sekret = \"x\"\n",
        );
        assert!(e.contains("client_sekret"), "{e}");
        let e = err("[oauth.Bad_Name]\nkind = \"oidc\"\nclient_id = \"a\"\nclient_secret = \"s\"\nissuer = \"https://x\"\n");
        assert!(e.contains("oauth.Bad_Name"), "{e}");
        let e = err(
            "[oauth.apple]\nclient_id = \"com.example.web\"\nteam_id = \"T\"\nkey_id = \"K\"\n",
        );
        assert!(e.contains("oauth.apple.private_key"), "{e}");
        let e = err("[oauth.apple]\nclient_id = \"com.example.web\"\nteam_id = \"T\"\nkey_id = \"K\"\nprivate_key = \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\"\n");
        assert!(e.contains("oauth.apple.private_key"), "{e}");
    }

    #[test]
    fn environment_variables_configure_providers() {
        // Only this test reads the environment (the others parse TOML text).
        std::env::set_var("GATEHOUSE_OAUTH__GITLAB__CLIENT_ID", "env-client");
        std::env::set_var("GATEHOUSE_OAUTH__GITLAB__CLIENT_SECRET", "env-secret");
        std::env::set_var("GATEHOUSE_OAUTH__GITLAB__SCOPES", "openid email");
        let c = Config::load(None);
        for k in ["CLIENT_ID", "CLIENT_SECRET", "SCOPES"] {
            std::env::remove_var(format!("GATEHOUSE_OAUTH__GITLAB__{k}"));
        }
        let c = c.unwrap();
        let gitlab = &c.oauth["gitlab"];
        assert_eq!(gitlab.client_id, "env-client");
        assert_eq!(gitlab.client_secret.as_deref(), Some("env-secret"));
        assert_eq!(gitlab.scopes.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let c = Config::from_toml_str(
            "[oauth.google]\nclient_id = \"g\"\nclient_secret = \"very-secret-value\"\n",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("very-secret-value"));
    }
}
