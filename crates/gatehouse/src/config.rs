//! One typed configuration, loaded from an optional TOML file and `GATEHOUSE_*`
//! environment variables (environment wins), validated before anything starts.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize};

use crate::crypto::jws::Algorithm;

mod delivery;
mod oauth;
mod pages;
pub use delivery::{
    DeliveryConfig, EmailConfig, EmailTransport, SmsConfig, SmsTransport, SmtpTls, SmtpUrl,
};
pub use oauth::{OAuthProviderConfig, ProviderKind};
pub use pages::PagesConfig;

/// Environment variables with the `GATEHOUSE_` prefix that are not configuration keys
/// (`user_password` is read by `gatehouse users create`).
const NON_CONFIG_ENV: &[&str] = &[
    "config",
    "log",
    "log_format",
    "test_database_url",
    "user_password",
];

/// The whole configuration of one Gatehouse instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The URL browsers reach the public listener at; the `iss` of every token.
    pub public_url: String,
    pub listen: String,
    pub admin_listen: String,
    /// `sqlite://...` or `postgres://...`; defaults to a file in `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    /// 32 bytes, base64. Generated into `data_dir` on first start when absent.
    pub master_key: Option<String>,
    /// A bootstrap Backend API key (at least 24 characters).
    pub secret_key: Option<String>,
    #[serde(deserialize_with = "list_or_comma_string")]
    pub allowed_origins: Vec<String>,
    /// The name shown in emails and pages.
    pub application_name: String,
    pub session: SessionConfig,
    pub tokens: TokensConfig,
    pub auth: AuthConfig,
    pub email: EmailConfig,
    pub sms: SmsConfig,
    pub delivery: DeliveryConfig,
    pub rate_limits: RateLimitsConfig,
    pub limits: LimitsConfig,
    /// `[oauth.<name>]`: social sign-in providers, by name (the strategy is `oauth_<name>`).
    pub oauth: std::collections::BTreeMap<String, OAuthProviderConfig>,
    pub pages: PagesConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub lifetime: Span,
    pub inactivity_timeout: OptionalSpan,
    pub token_lifetime: Span,
    pub multi_session: bool,
    pub cookie_domain: Option<String>,
    pub session_cookie_http_only: bool,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    pub algorithm: Algorithm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    EmailAddress,
    Username,
    PhoneNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpMode {
    Public,
    Restricted,
    Disabled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub identifiers: Vec<IdentifierKind>,
    pub first_factors: Vec<String>,
    pub second_factors: Vec<String>,
    pub sign_up: SignUpMode,
    pub verify_email_at_sign_up: bool,
    pub verify_phone_at_sign_up: bool,
    pub protect_against_enumeration: bool,
    pub require_mfa: bool,
    pub password: PasswordConfig,
    pub lockout: LockoutConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub max_length: usize,
    pub min_strength: u8,
    pub reject_breached: bool,
    /// Password hashes computed at once; 0 means the number of CPUs.
    pub hash_concurrency: usize,
    /// Hashes allowed to wait; 0 means 4 × concurrency.
    pub hash_queue: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub max_failed_attempts: u32,
    pub duration: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    pub enabled: bool,
    pub sign_in_create: Rate,
    pub sign_up_create: Rate,
    pub factor_attempts: Rate,
    /// Codes and magic links sent, per IP.
    pub code_sends: Rate,
    pub per_identifier: Rate,
    pub trusted_proxies: Vec<String>,
}

/// Resource limits of the HTTP layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Requests served at once per listener; beyond that, 503 at once.
    pub max_concurrent_requests: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://localhost:3000".into(),
            listen: "127.0.0.1:3000".into(),
            admin_listen: "127.0.0.1:3001".into(),
            database_url: None,
            data_dir: PathBuf::from("./gatehouse-data"),
            master_key: None,
            secret_key: None,
            allowed_origins: Vec::new(),
            application_name: "Gatehouse".into(),
            session: SessionConfig::default(),
            tokens: TokensConfig::default(),
            auth: AuthConfig::default(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            delivery: DeliveryConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            limits: LimitsConfig::default(),
            oauth: Default::default(),
            pages: PagesConfig::default(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            lifetime: Span::from_secs(7 * 24 * 3600),
            inactivity_timeout: OptionalSpan(None),
            token_lifetime: Span::from_secs(60),
            multi_session: false,
            cookie_domain: None,
            session_cookie_http_only: true,
            claims: Default::default(),
        }
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            algorithm: Algorithm::RS256,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            identifiers: vec![IdentifierKind::EmailAddress, IdentifierKind::Username],
            first_factors: vec!["password".into(), "email_code".into(), "email_link".into()],
            second_factors: vec!["totp".into(), "backup_code".into()],
            sign_up: SignUpMode::Public,
            verify_email_at_sign_up: true,
            verify_phone_at_sign_up: true,
            protect_against_enumeration: false,
            require_mfa: false,
            password: PasswordConfig::default(),
            lockout: LockoutConfig::default(),
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            min_length: 8,
            max_length: 256,
            min_strength: 2,
            reject_breached: true,
            hash_concurrency: 0,
            hash_queue: 0,
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failed_attempts: 100,
            duration: Span::from_secs(3600),
        }
    }
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        RateLimitsConfig {
            enabled: true,
            sign_in_create: Rate::new(5, 10),
            sign_up_create: Rate::new(5, 10),
            factor_attempts: Rate::new(3, 10),
            code_sends: Rate::new(10, 600),
            per_identifier: Rate::new(10, 60),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 1024 * 1024,
            max_concurrent_requests: 4096,
        }
    }
}

/// A configuration that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then the TOML file (if any), then `GATEHOUSE_*` variables.
    /// A file given explicitly must exist.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist (run `gatehouse init` to write one)",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(
            Env::prefixed("GATEHOUSE_")
                .ignore(NON_CONFIG_ENV)
                // Keys keep the variable's case here: `GATEHOUSE_TEST_...` is `TEST_...`.
                .filter(|k| !k.as_str().to_ascii_lowercase().starts_with("test_"))
                .split("__"),
        );
        Self::from_figment(figment)
    }

    /// Parses a TOML document on top of the defaults (no environment); for tests.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let mut config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| describe_figment_error(&e)).collect();
            ConfigError(messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot, and normalises (`public_url` loses a trailing `/`).
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let bad = |key: &str, expected: &str| Err(ConfigError(format!("`{key}`: {expected}")));
        while self.public_url.ends_with('/') {
            self.public_url.pop();
        }
        match url::Url::parse(&self.public_url) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
            _ => {
                return bad(
                    "public_url",
                    "expected an absolute http(s) URL, e.g. \"https://auth.example.com\"",
                )
            }
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad("listen", "expected host:port, e.g. \"127.0.0.1:3000\"");
        }
        if self.admin_listen.parse::<SocketAddr>().is_err() {
            return bad(
                "admin_listen",
                "expected host:port, e.g. \"127.0.0.1:3001\"",
            );
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return bad("database_url", "expected a sqlite:// or postgres:// URL");
            }
        }
        if let Some(key) = &self.secret_key {
            if key.chars().count() < 24 {
                return bad("secret_key", "expected at least 24 characters");
            }
        }
        if let Some(key) = &self.master_key {
            if crate::crypto::sealed::MasterKey::from_base64(key).is_err() {
                return bad(
                    "master_key",
                    "expected 32 bytes, base64-encoded (`openssl rand -base64 32`)",
                );
            }
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for origin in &self.allowed_origins {
            match normalize_origin(origin) {
                Some(o) => origins.push(o),
                None => {
                    return bad(
                        "allowed_origins",
                        &format!("`{origin}` is not an origin; expected scheme://host[:port], e.g. \"https://app.example.com\""),
                    )
                }
            }
        }
        self.allowed_origins = origins;
        self.pages
            .validate(&self.public_url, &self.allowed_origins)?;
        if self.auth.identifiers.is_empty() {
            return bad(
                "auth.identifiers",
                "expected at least one of \"email_address\", \"username\", \"phone_number\"",
            );
        }
        let known_first: BTreeSet<&str> =
            ["password", "email_code", "email_link", "phone_code"].into();
        for f in &self.auth.first_factors {
            if !known_first.contains(f.as_str()) {
                return bad(
                    "auth.first_factors",
                    &format!("unknown factor `{f}`; expected some of {known_first:?}"),
                );
            }
        }
        let known_second: BTreeSet<&str> = ["totp", "backup_code", "phone_code"].into();
        for f in &self.auth.second_factors {
            if !known_second.contains(f.as_str()) {
                return bad(
                    "auth.second_factors",
                    &format!("unknown factor `{f}`; expected some of {known_second:?}"),
                );
            }
        }
        let p = &self.auth.password;
        if p.min_length < 1 || p.min_length > p.max_length || p.max_length > 4096 {
            return bad(
                "auth.password",
                "expected 1 <= min_length <= max_length <= 4096",
            );
        }
        if p.min_strength > 4 {
            return bad(
                "auth.password.min_strength",
                "expected a zxcvbn score from 0 to 4",
            );
        }
        if self.auth.lockout.max_failed_attempts == 0 {
            return bad("auth.lockout.max_failed_attempts", "expected at least 1");
        }
        if self.session.token_lifetime.0 < Duration::from_secs(1) {
            return bad("session.token_lifetime", "expected at least \"1s\"");
        }
        if self.session.lifetime.0 < Duration::from_secs(60) {
            return bad("session.lifetime", "expected at least \"1m\"");
        }
        if let Err(e) = crate::domain::session_claims::compile(&self.session.claims) {
            return Err(ConfigError(e.at("session.claims")));
        }
        if self.application_name.trim().is_empty() {
            return bad("application_name", "expected a non-empty name");
        }
        if self.limits.max_body_bytes < 1024 {
            return bad("limits.max_body_bytes", "expected at least 1024");
        }
        self.email.validate()?;
        self.sms.validate()?;
        self.delivery.validate()?;
        oauth::validate(&mut self.oauth)?;
        for cidr in &self.rate_limits.trusted_proxies {
            if crate::http::client_ip::Cidr::parse(cidr).is_none() {
                return bad(
                    "rate_limits.trusted_proxies",
                    &format!("`{cidr}` is not a CIDR such as \"10.0.0.0/8\""),
                );
            }
        }
        Ok(())
    }

    /// The database URL in effect: the configured one or a SQLite file in `data_dir`.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gatehouse.db").display()
            ),
        }
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) of the public URL.
    pub fn public_origin(&self) -> String {
        normalize_origin(&self.public_url).unwrap_or_default()
    }

    /// Whether a normalized origin is the public one or an allowed one.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        origin == self.public_origin() || self.allowed_origins.iter().any(|o| o == origin)
    }

    /// Whether `url` may be redirected to: an absolute http(s) URL on the public or an
    /// allowed origin.
    pub fn redirect_allowed(&self, url: &str) -> bool {
        normalize_origin(url).is_some_and(|o| self.origin_allowed(&o))
    }

    /// A `[pages]` URL (a path on the public URL or an absolute URL) made absolute.
    pub fn page_url(&self, value: &str) -> String {
        pages::resolve(&self.public_url, value).unwrap_or_else(|| self.public_url.clone())
    }

    pub fn hash_concurrency(&self) -> usize {
        match self.auth.password.hash_concurrency {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        }
    }

    pub fn hash_queue(&self) -> usize {
        match self.auth.password.hash_queue {
            0 => 4 * self.hash_concurrency(),
            n => n,
        }
    }
}

/// `scheme://host[:port]` of a URL, with default ports dropped; `None` if not an http(s) URL.
pub fn normalize_origin(input: &str) -> Option<String> {
    let url = url::Url::parse(input.trim()).ok()?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return None;
    }
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn describe_figment_error(e: &figment::Error) -> String {
    let key = if e.path.is_empty() {
        String::new()
    } else {
        format!("`{}`: ", e.path.join("."))
    };
    let source = match &e.metadata {
        Some(m) => match &m.source {
            Some(src) => format!(" (from {src})"),
            None => format!(" (from {})", m.name),
        },
        None => String::new(),
    };
    format!("{key}{}{source}", e.kind)
}

/// A duration written as `"60s"`, `"30m"`, `"7d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn from_secs(s: u64) -> Self {
        Span(Duration::from_secs(s))
    }
    pub fn as_millis(&self) -> i64 {
        self.0.as_millis() as i64
    }
}

fn parse_span(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("`{s}` is not a duration; expected e.g. \"60s\", \"30m\", \"7d\""))
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_span(&s).map(Span).map_err(serde::de::Error::custom)
    }
}

/// A duration or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalSpan(pub Option<Duration>);

impl OptionalSpan {
    pub fn as_millis(&self) -> Option<i64> {
        self.0.map(|d| d.as_millis() as i64)
    }
}

impl Serialize for OptionalSpan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_str("off"),
            Some(d) => Span(d).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OptionalSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim() == "off" {
            return Ok(OptionalSpan(None));
        }
        parse_span(&s)
            .map(|d| OptionalSpan(Some(d)))
            .map_err(|e| serde::de::Error::custom(format!("{e} or \"off\"")))
    }
}

/// A rate such as `"5/10s"`: at most `count` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Duration,
}

impl Rate {
    pub const fn new(count: u32, window_secs: u64) -> Self {
        Rate {
            count,
            window: Duration::from_secs(window_secs),
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "{}/{}",
            self.count,
            humantime::format_duration(self.window)
        ))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let err =
            || serde::de::Error::custom(format!("`{s}` is not a rate; expected e.g. \"5/10s\""));
        let (count, window) = s.split_once('/').ok_or_else(err)?;
        let count: u32 = count.trim().parse().map_err(|_| err())?;
        let window = parse_span(window).map_err(|_| err())?;
        if count == 0 || window.is_zero() {
            return Err(err());
        }
        Ok(Rate { count, window })
    }
}

/// Accepts a TOML list or a comma-separated string (as environment variables give).
fn list_or_comma_string<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(v) => v,
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.public_url, "http://localhost:3000");
        assert_eq!(c.session.token_lifetime.0, Duration::from_secs(60));
        assert_eq!(c.auth.lockout.max_failed_attempts, 100);
        assert_eq!(c.rate_limits.factor_attempts, Rate::new(3, 10));
    }

    #[test]
    fn durations_and_rates_parse() {
        let c = Config::from_toml_str(
            "[session]\nlifetime = \"30d\"\ninactivity_timeout = \"30m\"\n[rate_limits]\nsign_in_create = \"7/1m\"\n",
        )
        .unwrap();
        assert_eq!(c.session.lifetime.0, Duration::from_secs(30 * 86400));
        assert_eq!(
            c.session.inactivity_timeout.0,
            Some(Duration::from_secs(1800))
        );
        assert_eq!(c.rate_limits.sign_in_create, Rate::new(7, 60));
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::from_toml_str("[session]\nlifetime = \"soon\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("session.lifetime"), "{e}");
        assert!(e.contains("expected e.g."), "{e}");
        let e = Config::from_toml_str("[auth.password]\nmin_strength = 9\n")
            .unwrap_err()
            .0;
        assert!(e.contains("auth.password.min_strength"), "{e}");
        let e = Config::from_toml_str("public_url = \"ftp://x\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("public_url"), "{e}");
        let e = Config::from_toml_str("[rate_limits]\nsign_in_create = \"five\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("rate_limits.sign_in_create"), "{e}");
    }

    #[test]
    fn session_claims_are_checked_at_start() {
        let c = Config::from_toml_str(
            "[session]\nclaims = { role = \"{{user.public_metadata.role || 'user'}}\", app = \"x\" }\n",
        )
        .unwrap();
        assert_eq!(c.session.claims.len(), 2);
        for (toml, words) in [
            (
                "claims = { iss = \"x\" }",
                ["`session.claims.iss`", "reserved"],
            ),
            ("claims = { fva = 1 }", ["`session.claims.fva`", "reserved"]),
            (
                "claims = { role = \"{{user.public_metadata.role\" }",
                ["`session.claims.role`", "at character 1"],
            ),
            (
                "claims = { a = { b = [\"{{user.nope}}\"] } }",
                ["`session.claims.a.b[0]`", "unknown field `user.nope`"],
            ),
            (
                "claims = { p = \"{{user.private_metadata.x}}\" }",
                ["`session.claims.p`", "private_metadata"],
            ),
        ] {
            let e = Config::from_toml_str(&format!("[session]\n{toml}\n"))
                .unwrap_err()
                .0;
            for w in words {
                assert!(e.contains(w), "{toml}: {e}");
            }
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = Config::from_toml_str("publik_url = \"http://x\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("publik_url"), "{e}");
        let e = Config::from_toml_str("[session]\nlifetim = \"1d\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("lifetim"), "{e}");
    }

    #[test]
    fn public_url_loses_trailing_slash_and_origins_normalise() {
        let c = Config::from_toml_str(
            "public_url = \"https://auth.example.com/\"\nallowed_origins = [\"https://app.example.com:443/\"]\n",
        )
        .unwrap();
        assert_eq!(c.public_url, "https://auth.example.com");
        assert_eq!(
            c.allowed_origins,
            vec!["https://app.example.com".to_string()]
        );
        assert!(c.is_https());
    }
}
