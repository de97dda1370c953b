//! One configured provider: its preset, overrides and discovered endpoints, and the
//! requests of a sign-in (authorization URL, code exchange, refresh, profile).

use serde_json::Value;
use tokio::sync::Mutex;

use super::apple::AppleSecret;
use super::fetch::{ClientAuth, Fetcher};
use super::id_token::{self, IdTokenCheck};
use super::jwks::JwksCache;
use super::profile::{self, Profile};
use super::OAuthError;
use crate::config::{OAuthProviderConfig, ProviderKind};

/// A discovery document is used for this long before it is fetched again.
const DISCOVERY_TTL_MS: i64 = 3600 * 1000;

/// Where a provider's endpoints are and how to authenticate at its token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
    /// The `iss` its id_tokens carry (`{tenantid}` stands for the token's `tid`).
    pub issuer: Option<String>,
    pub client_auth: ClientAuth,
}

/// What a token endpoint answered.
#[derive(Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// When the access token expires (epoch ms), if the provider said.
    pub expires_at: Option<i64>,
    pub id_token: Option<String>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The fixed facts of a preset.
struct Preset {
    display_name: &'static str,
    issuer: Option<&'static str>,
    authorize_url: &'static str,
    token_url: &'static str,
    userinfo_url: Option<&'static str>,
    jwks_url: Option<&'static str>,
    scopes: &'static [&'static str],
    client_auth: ClientAuth,
}

fn preset(kind: ProviderKind) -> Option<Preset> {
    use ClientAuth::{Basic, Post};
    Some(match kind {
        ProviderKind::Google => Preset {
            display_name: "Google",
            issuer: Some("https://accounts.google.com"),
            authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
            token_url: "https://oauth2.googleapis.com/token",
            userinfo_url: Some("https://openidconnect.googleapis.com/v1/userinfo"),
            jwks_url: Some("https://www.googleapis.com/oauth2/v3/certs"),
            scopes: &["openid", "email", "profile"],
            client_auth: Basic,
        },
        ProviderKind::Github => Preset {
            display_name: "GitHub",
            issuer: None,
            authorize_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            userinfo_url: Some("https://api.github.com/user"),
            jwks_url: None,
            scopes: &["read:user", "user:email"],
            client_auth: Post,
        },
        ProviderKind::Microsoft => Preset {
            display_name: "Microsoft",
            issuer: Some("https://login.microsoftonline.com/{tenantid}/v2.0"),
            authorize_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            userinfo_url: Some("https://graph.microsoft.com/oidc/userinfo"),
            jwks_url: Some("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
            scopes: &["openid", "email", "profile"],
            client_auth: Post,
        },
        ProviderKind::Gitlab => Preset {
            display_name: "GitLab",
            issuer: Some("https://gitlab.com"),
            authorize_url: "https://gitlab.com/oauth/authorize",
            token_url: "https://gitlab.com/oauth/token",
            userinfo_url: Some("https://gitlab.com/oauth/userinfo"),
            jwks_url: Some("https://gitlab.com/oauth/discovery/keys"),
            scopes: &["openid", "email", "profile"],
            client_auth: Post,
        },
        ProviderKind::Discord => Preset {
            display_name: "Discord",
            issuer: None,
            authorize_url: "https://discord.com/oauth2/authorize",
            token_url: "https://discord.com/api/oauth2/token",
            userinfo_url: Some("https://discord.com/api/users/@me"),
            jwks_url: None,
            scopes: &["identify", "email"],
            client_auth: Post,
        },
        ProviderKind::Apple => Preset {
            display_name: "Apple",
            issuer: Some("https://appleid.apple.com"),
            authorize_url: "https://appleid.apple.com/auth/authorize",
            token_url: "https://appleid.apple.com/auth/token",
            userinfo_url: None,
            jwks_url: Some("https://appleid.apple.com/auth/keys"),
            scopes: &["name", "email"],
            client_auth: Post,
        },
        ProviderKind::Oidc => return None,
    })
}

enum Secret {
    Static(String),
    Apple(AppleSecret),
}

/// A configured provider.
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    pub display_name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    secret: Secret,
    config: OAuthProviderConfig,
    fetcher: Fetcher,
    discovered: Mutex<Option<(Endpoints, i64)>>,
    jwks: JwksCache,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Provider {
    pub fn new(
        name: &str,
        config: &OAuthProviderConfig,
        fetcher: Fetcher,
    ) -> Result<Provider, String> {
        let kind = config.kind_for(name).ok_or_else(|| "no kind".to_string())?;
        let preset = preset(kind);
        let secret = match kind {
            ProviderKind::Apple => Secret::Apple(
                AppleSecret::new(
                    config.team_id.as_deref().unwrap_or_default(),
                    config.key_id.as_deref().unwrap_or_default(),
                    &config.client_id,
                    config.private_key.as_deref().unwrap_or_default(),
                )
                .map_err(|e| format!("private_key: {e}"))?,
            ),
            _ => Secret::Static(config.client_secret.clone().unwrap_or_default()),
        };
        let scopes = match &config.scopes {
            Some(s) => s.clone(),
            None => preset
                .as_ref()
                .map(|p| p.scopes.iter().map(|s| s.to_string()).collect())
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]),
        };
        let display_name = config.name.clone().unwrap_or_else(|| match &preset {
            Some(p) => p.display_name.to_string(),
            None => name.to_string(),
        });
        Ok(Provider {
            name: name.to_string(),
            kind,
            display_name,
            client_id: config.client_id.clone(),
            scopes,
            secret,
            config: config.clone(),
            fetcher,
            discovered: Mutex::new(None),
            jwks: JwksCache::default(),
        })
    }

    /// `oauth_<name>`.
    pub fn strategy(&self) -> String {
        format!("oauth_{}", self.name)
    }

    /// Whether sign-in goes through OpenID Connect (an id_token with a nonce) rather
    /// than a user API.
    pub fn is_openid(&self) -> bool {
        match self.kind {
            ProviderKind::Github | ProviderKind::Discord => false,
            ProviderKind::Apple => true,
            _ => self.scopes.iter().any(|s| s == "openid"),
        }
    }

    /// Whether the endpoints come from the issuer's discovery document: always for
    /// `oidc`, and for a preset whose `issuer` was changed (a self-hosted GitLab).
    fn needs_discovery(&self) -> bool {
        match (self.kind, preset(self.kind)) {
            (ProviderKind::Oidc, _) => true,
            (_, Some(p)) => self
                .config
                .issuer
                .as_deref()
                .is_some_and(|i| Some(i) != p.issuer),
            _ => false,
        }
    }

    /// The endpoints in effect: an override, else discovery (cached an hour), else the
    /// preset.
    pub async fn endpoints(&self, now: i64) -> Result<Endpoints, OAuthError> {
        let c = &self.config;
        let base = match preset(self.kind) {
            Some(p) if !self.needs_discovery() => Endpoints {
                authorize_url: p.authorize_url.into(),
                token_url: p.token_url.into(),
                userinfo_url: p.userinfo_url.map(String::from),
                jwks_url: p.jwks_url.map(String::from),
                issuer: c.issuer.clone().or(p.issuer.map(String::from)),
                client_auth: p.client_auth,
            },
            _ => self.discover(now).await?,
        };
        Ok(Endpoints {
            authorize_url: c.authorize_url.clone().unwrap_or(base.authorize_url),
            token_url: c.token_url.clone().unwrap_or(base.token_url),
            userinfo_url: c.userinfo_url.clone().or(base.userinfo_url),
            jwks_url: c.jwks_url.clone().or(base.jwks_url),
            issuer: base.issuer,
            client_auth: base.client_auth,
        })
    }

    async fn discover(&self, now: i64) -> Result<Endpoints, OAuthError> {
        let mut cached = self.discovered.lock().await;
        if let Some((endpoints, at)) = cached.as_ref() {
            if now - at < DISCOVERY_TTL_MS {
                return Ok(endpoints.clone());
            }
        }
        let issuer = self.config.issuer.clone().unwrap_or_default();
        let url = format!("{issuer}/.well-known/openid-configuration");
        let doc = self.fetcher.get_json("discovery", &url, None).await?;
        let endpoints = endpoints_from_discovery(&issuer, &doc)?;
        *cached = Some((endpoints.clone(), now));
        Ok(endpoints)
    }

    /// The URL the browser is sent to.
    pub fn authorization_url(
        &self,
        e: &Endpoints,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
        nonce: Option<&str>,
    ) -> String {
        let scope = self.scopes.join(" ");
        let mut url = match url::Url::parse(&e.authorize_url) {
            Ok(u) => u,
            Err(_) => return e.authorize_url.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", state)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(nonce) = nonce {
                q.append_pair("nonce", nonce);
            }
            if self.kind == ProviderKind::Apple {
                // Apple sends the name and email scopes' answer only as a form POST.
                q.append_pair("response_mode", "form_post");
            }
        }
        url.to_string()
    }

    fn client_secret(&self, now: i64) -> Result<String, OAuthError> {
        match &self.secret {
            Secret::Static(s) => Ok(s.clone()),
            Secret::Apple(a) => a.client_secret(now),
        }
    }

    /// Exchanges an authorization code (with the PKCE verifier) for tokens.
    pub async fn exchange_code(
        &self,
        e: &Endpoints,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        now: i64,
    ) -> Result<Tokens, OAuthError> {
        let secret = self.client_secret(now)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let answer = self
            .fetcher
            .post_form(
                "token",
                &e.token_url,
                &form,
                Some((e.client_auth, &self.client_id, &secret)),
            )
            .await?;
        tokens_from("token", &answer, now)
    }

    /// A new access token from a refresh token. A provider that sends no new refresh
    /// token keeps the old one valid.
    pub async fn refresh(
        &self,
        e: &Endpoints,
        refresh_token: &str,
        now: i64,
    ) -> Result<Tokens, OAuthError> {
        let secret = self.client_secret(now)?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let answer = self
            .fetcher
            .post_form(
                "refresh",
                &e.token_url,
                &form,
                Some((e.client_auth, &self.client_id, &secret)),
            )
            .await?;
        let mut tokens = tokens_from("refresh", &answer, now)?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.to_string());
        }
        Ok(tokens)
    }

    /// Who signed in: the validated id_token (OpenID Connect, with userinfo when the
    /// provider has it), or the provider's user API.
    pub async fn profile(
        &self,
        e: &Endpoints,
        tokens: &Tokens,
        check: &IdTokenCheck<'_>,
    ) -> Result<Profile, OAuthError> {
        match self.kind {
            ProviderKind::Github => {
                let url = e.userinfo_url.as_deref().unwrap_or_default();
                let user = self
                    .fetcher
                    .get_json("user", url, Some(&tokens.access_token))
                    .await?;
                let emails = self
                    .fetcher
                    .get_json(
                        "emails",
                        &format!("{url}/emails"),
                        Some(&tokens.access_token),
                    )
                    .await?;
                profile::github(&user, &emails)
            }
            ProviderKind::Discord => {
                let url = e.userinfo_url.as_deref().unwrap_or_default();
                let user = self
                    .fetcher
                    .get_json("user", url, Some(&tokens.access_token))
                    .await?;
                profile::discord(&user)
            }
            _ if self.is_openid() => {
                let token = tokens
                    .id_token
                    .as_deref()
                    .ok_or_else(|| OAuthError::new("id_token", "the token answer has none"))?;
                let claims = self.validate_id_token(e, token, check).await?;
                let userinfo = match e.userinfo_url.as_deref() {
                    Some(url) => Some(
                        self.fetcher
                            .get_json("userinfo", url, Some(&tokens.access_token))
                            .await?,
                    ),
                    None => None,
                };
                profile::openid(self.kind, &claims, userinfo.as_ref())
            }
            _ => {
                let url = e.userinfo_url.as_deref().ok_or_else(|| {
                    OAuthError::new("userinfo", "the provider has no userinfo endpoint")
                })?;
                let info = self
                    .fetcher
                    .get_json("userinfo", url, Some(&tokens.access_token))
                    .await?;
                profile::openid(self.kind, &info, None)
            }
        }
    }

    async fn validate_id_token(
        &self,
        e: &Endpoints,
        token: &str,
        check: &IdTokenCheck<'_>,
    ) -> Result<Value, OAuthError> {
        let jwks_url = e
            .jwks_url
            .as_deref()
            .ok_or_else(|| OAuthError::new("id_token", "the provider has no jwks_uri"))?;
        let issuer = e
            .issuer
            .as_deref()
            .ok_or_else(|| OAuthError::new("id_token", "the provider has no issuer"))?;
        let kid = id_token::kid(token)?;
        let keys = self
            .jwks
            .keys_for(kid.as_deref(), check.now, || {
                self.fetcher.get_json("jwks", jwks_url, None)
            })
            .await?;
        id_token::validate(token, &keys, issuer, &self.client_id, self.kind, check)
    }
}

/// Reads a token endpoint's answer.
fn tokens_from(what: &'static str, v: &Value, now: i64) -> Result<Tokens, OAuthError> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::new(what, "the answer has no access_token"))?;
    let expires_in = v.get("expires_in").and_then(|e| match e {
        Value::Number(n) => n.as_i64(),
        // Some providers send the number as a string.
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Ok(Tokens {
        access_token,
        refresh_token: text("refresh_token").filter(|t| !t.is_empty()),
        expires_at: expires_in
            .filter(|s| *s > 0)
            .map(|s| now + s.min(10 * 365 * 86400) * 1000),
        id_token: text("id_token"),
        scope: text("scope"),
    })
}

/// Endpoints from an OpenID Connect discovery document, which must name `issuer`.
pub fn endpoints_from_discovery(issuer: &str, doc: &Value) -> Result<Endpoints, OAuthError> {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(String::from);
    let declared = text("issuer").unwrap_or_default();
    if declared.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OAuthError::new(
            "discovery",
            "the document's issuer differs from the configured one",
        ));
    }
    let required = |k: &str| {
        text(k).ok_or_else(|| OAuthError::new("discovery", format!("the document has no {k}")))
    };
    let methods: Vec<&str> = doc
        .get("token_endpoint_auth_methods_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // The default when the list is absent is client_secret_basic (OpenID Connect Discovery §3).
    let client_auth = if methods.is_empty() || methods.contains(&"client_secret_basic") {
        ClientAuth::Basic
    } else if methods.contains(&"client_secret_post") {
        ClientAuth::Post
    } else {
        return Err(OAuthError::new(
            "discovery",
            "the provider offers neither client_secret_basic nor client_secret_post",
        ));
    };
    Ok(Endpoints {
        authorize_url: required("authorization_endpoint")?,
        token_url: required("token_endpoint")?,
        userinfo_url: text("userinfo_endpoint"),
        jwks_url: Some(required("jwks_uri")?),
        issuer: Some(declared),
        client_auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovery_must_name_the_issuer_and_its_endpoints() {
        let doc = json!({
            "issuer": "https://id.example.com",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
            "jwks_uri": "https://id.example.com/jwks",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        });
        let e = endpoints_from_discovery("https://id.example.com", &doc).unwrap();
        assert_eq!(e.client_auth, ClientAuth::Post);
        assert_eq!(e.userinfo_url, None);
        assert!(endpoints_from_discovery("https://other.example.com", &doc).is_err());
        let mut missing = doc.clone();
        missing.as_object_mut().unwrap().remove("jwks_uri");
        assert!(endpoints_from_discovery("https://id.example.com", &missing).is_err());
        let mut only_jwt = doc.clone();
        only_jwt["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        assert!(endpoints_from_discovery("https://id.example.com", &only_jwt).is_err());
    }

    #[test]
    fn token_answers() {
        let t = tokens_from(
            "token",
            &json!({"access_token": "a", "expires_in": "60", "refresh_token": ""}),
            1000,
        )
        .unwrap();
        assert_eq!(t.expires_at, Some(61_000));
        assert_eq!(t.refresh_token, None);
        assert!(tokens_from("token", &json!({"token_type": "bearer"}), 0).is_err());
        assert!(tokens_from("token", &json!({"access_token": ""}), 0).is_err());
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_and_nonce() {
        let config = OAuthProviderConfig {
            client_id: "client id".into(),
            client_secret: Some("s".into()),
            ..Default::default()
        };
        let p = Provider::new("google", &config, Fetcher::new().unwrap()).unwrap();
        let e = Endpoints {
            authorize_url: "https://accounts.example.com/auth?prompt=select_account".into(),
            token_url: "https://accounts.example.com/token".into(),
            userinfo_url: None,
            jwks_url: None,
            issuer: None,
            client_auth: ClientAuth::Basic,
        };
        let url = p.authorization_url(
            &e,
            "https://gh.example.com/v1/oauth_callback",
            "st",
            "ch",
            Some("no"),
        );
        let parsed = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["prompt"], "select_account");
        assert_eq!(q["client_id"], "client id");
        assert_eq!(q["state"], "st");
        assert_eq!(q["code_challenge"], "ch");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["nonce"], "no");
        assert_eq!(q["scope"], "openid email profile");
        assert_eq!(q["response_type"], "code");
    }
}
