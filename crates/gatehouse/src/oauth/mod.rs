//! Talking to social sign-in providers (OAuth 2.0 and OpenID Connect): the configured
//! providers and their endpoints (presets, overrides, discovery), the authorization URL,
//! the code exchange and refresh, `id_token` validation against the provider's JWKS,
//! and reading who signed in (OpenID Connect claims and userinfo, GitHub's and Discord's
//! user APIs). No flow state lives here: `domain::social` drives the flows and stores
//! what they need.
//!
//! Hand-written over the shared hyper client rather than the `oauth2`/`openidconnect`
//! crates: what is needed is a handful of requests, the id_token goes through our own
//! JWS layer (`crypto::jws`), and every request here has the same time and size limits.

mod apple;
mod fetch;
mod id_token;
mod jwks;
mod profile;
mod provider;

pub use fetch::{ClientAuth, Fetcher, MAX_RESPONSE_BYTES};
pub use id_token::IdTokenCheck;
pub use profile::Profile;
pub use provider::{Endpoints, Provider, Tokens};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;

/// Why talking to a provider failed: a reason code a page may show (never a secret) and
/// a detail for the logs (never a token, secret or response body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub reason: &'static str,
    pub detail: String,
}

pub const REASON_PROVIDER_UNREACHABLE: &str = "provider_unreachable";
pub const REASON_TOKEN_EXCHANGE_FAILED: &str = "token_exchange_failed";
pub const REASON_ID_TOKEN_INVALID: &str = "id_token_invalid";
pub const REASON_PROFILE_UNAVAILABLE: &str = "profile_unavailable";
pub const REASON_RESPONSE_TOO_LARGE: &str = "response_too_large";

impl OAuthError {
    /// A failure of the request `what` (`discovery`, `jwks`, `token`, `userinfo`, ...).
    pub fn new(what: &'static str, detail: impl std::fmt::Display) -> Self {
        let reason = match what {
            "token" | "refresh" => REASON_TOKEN_EXCHANGE_FAILED,
            "id_token" => REASON_ID_TOKEN_INVALID,
            "discovery" | "jwks" => REASON_PROVIDER_UNREACHABLE,
            _ => REASON_PROFILE_UNAVAILABLE,
        };
        OAuthError {
            reason,
            detail: format!("{what}: {detail}"),
        }
    }

    pub fn unreachable(what: &'static str) -> Self {
        Self::new(what, "the provider could not be reached")
            .with_reason(REASON_PROVIDER_UNREACHABLE)
    }

    pub fn too_large(what: &'static str) -> Self {
        Self::new(
            what,
            format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
        )
        .with_reason(REASON_RESPONSE_TOO_LARGE)
    }

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.reason)
    }
}

/// The providers this instance offers, by name, sharing one HTTP client.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<Provider>>,
}

impl Providers {
    /// Builds every `[oauth.<name>]` provider (the configuration was validated).
    pub fn from_config(config: &Config) -> anyhow::Result<Providers> {
        if config.oauth.is_empty() {
            return Ok(Providers::default());
        }
        let fetcher = Fetcher::new()?;
        let mut by_name = BTreeMap::new();
        for (name, section) in &config.oauth {
            let provider = Provider::new(name, section, fetcher.clone())
                .map_err(|e| anyhow::anyhow!("`oauth.{name}`: {e}"))?;
            by_name.insert(name.clone(), Arc::new(provider));
        }
        Ok(Providers { by_name })
    }

    /// The provider of a strategy `oauth_<name>`.
    pub fn for_strategy(&self, strategy: &str) -> Option<&Arc<Provider>> {
        self.by_name.get(strategy.strip_prefix("oauth_")?)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.by_name.values()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
