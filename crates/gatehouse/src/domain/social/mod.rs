//! Social sign-in: trips to OAuth 2.0 / OpenID Connect providers for sign-ins, sign-ups
//! and linking accounts from `/v1/me`.
//!
//! `start` stores a single-use `state` (hashed), the PKCE verifier (sealed) and the
//! OpenID Connect nonce (hashed), bound to the flow, its subject and the client, and
//! returns the verification with the provider's authorization URL. `callback` takes
//! the browser back from the provider, checks all of that, exchanges the code, reads who
//! signed in, and hands the result to the flow (`sign_in::oauth_verified`,
//! `sign_up::oauth_verified`, `link::verified`); `accounts` decides which user an
//! external account is and keeps the provider's tokens sealed.

pub mod accounts;
pub mod callback;
pub mod link;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::{ids, pkce, random};
use crate::domain::links;
use crate::domain::model::{OAuthState, Verification, UNVERIFIED};
use crate::error::Error;
use crate::oauth::{OAuthError, Profile, Provider, Tokens};

pub const FLOW_SIGN_IN: &str = "sign_in";
pub const FLOW_SIGN_UP: &str = "sign_up";
pub const FLOW_LINK: &str = "link";

/// A trip to the provider must come back within this.
const STATE_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// Whether `strategy` names a social provider (`oauth_<name>`), configured or not.
pub fn is_oauth_strategy(strategy: &str) -> bool {
    strategy.starts_with("oauth_")
}

/// The configured provider of `oauth_<name>`, or `422 form_param_format_invalid`.
pub fn provider_for(app: &App, strategy: &str) -> Result<Arc<Provider>, Error> {
    app.oauth
        .for_strategy(strategy)
        .cloned()
        .ok_or_else(|| crate::domain::policy::not_enabled(strategy))
}

/// The callback URL registered at every provider.
pub fn callback_url(app: &App) -> String {
    format!("{}/v1/oauth_callback", app.config.public_url)
}

/// `502 provider_unavailable`: the provider could not be reached before the trip began.
fn unavailable(e: &OAuthError) -> Error {
    tracing::warn!(reason = e.reason, detail = %e.detail, "a social sign-in provider could not be used");
    Error::new(
        "provider_unavailable",
        "The sign-in provider could not be reached. Please try again later.",
    )
}

/// What starts a trip to a provider.
#[derive(Debug, Clone, Copy)]
pub struct StartRequest<'a> {
    pub flow: &'static str,
    /// The attempt id (the user id when linking).
    pub subject: &'a str,
    pub client_id: &'a str,
    pub strategy: &'a str,
    pub redirect_url: Option<&'a str>,
    pub action_complete_redirect_url: Option<&'a str>,
    /// The trip ends no later than this (the attempt's own end).
    pub not_after: i64,
}

/// Checks the redirect URLs, stores the state and returns the pending verification
/// carrying the (sealed) authorization URL.
pub async fn start(app: &App, req: StartRequest<'_>) -> Result<Verification, Error> {
    let provider = provider_for(app, req.strategy)?;
    let (redirect_url, complete_url) =
        links::check_redirect_pair(app, req.redirect_url, req.action_complete_redirect_url)?;
    let now = app.now();
    let endpoints = provider.endpoints(now).await.map_err(|e| unavailable(&e))?;
    let state = random::random_token();
    let verifier = pkce::new_verifier();
    let nonce = provider.is_openid().then(random::random_token);
    let id = ids::new_id("oas");
    let expire_at = (now + STATE_LIFETIME_MS).min(req.not_after);
    app.store
        .insert_oauth_state(&OAuthState {
            id: id.clone(),
            state_hash: token_hash(&state),
            flow: req.flow.into(),
            subject: req.subject.into(),
            client_id: req.client_id.into(),
            provider: provider.name.clone(),
            sealed_verifier: app.master_key.seal_text(&verifier, &aad(&id, "verifier")),
            nonce_hash: nonce.as_deref().map(token_hash),
            redirect_url,
            action_complete_redirect_url: complete_url,
            expire_at,
            consumed_at: None,
            sealed_result: None,
            created_at: now,
        })
        .await?;
    let url = provider.authorization_url(
        &endpoints,
        &callback_url(app),
        &state,
        &pkce::s256_challenge(&verifier),
        nonce.as_deref(),
    );
    let mut v = Verification::new(UNVERIFIED, &provider.strategy(), Some(expire_at));
    v.external_verification_redirect_url = Some(app.master_key.seal_text(&url, &aad(&id, "url")));
    v.oauth_state_id = Some(id);
    Ok(v)
}

/// The authorization URL of a verification still waiting for its provider.
/// (Social sign-in or enterprise SSO.)
pub fn pending_redirect_url(app: &App, v: &Verification) -> Option<String> {
    if v.status_at(app.now()) != UNVERIFIED {
        return None;
    }
    let sealed = v.external_verification_redirect_url.as_deref()?;
    let aad = match (&v.oauth_state_id, &v.saml_request_id) {
        (Some(id), _) => aad(id, "url"),
        (None, Some(id)) => crate::domain::saml::aad(id, "url"),
        (None, None) => return None,
    };
    app.master_key.open_text(sealed, &aad).ok()
}

/// The associated data binding a sealed field to its `oauth_states` row.
fn aad(state_id: &str, field: &str) -> String {
    format!("oauth_state:{state_id}:{field}")
}

/// What the provider said about the person who came back, kept sealed on the state
/// while a sign-in waits to be transferred to a sign-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifiedResult {
    pub provider: String,
    pub profile: Profile,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
}

impl VerifiedResult {
    pub fn new(provider: &str, profile: Profile, tokens: Tokens) -> Self {
        VerifiedResult {
            provider: provider.to_string(),
            profile,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_at,
            scope: tokens.scope,
        }
    }
}

/// Keeps a verified result on its state, sealed.
pub async fn keep_result(app: &App, state_id: &str, r: &VerifiedResult) -> Result<(), Error> {
    let json = serde_json::to_string(r).map_err(|_| Error::internal())?;
    let sealed = app.master_key.seal_text(&json, &aad(state_id, "result"));
    app.store.set_oauth_result(state_id, Some(&sealed)).await?;
    Ok(())
}

/// The verified result kept on a state, if any.
pub async fn kept_result(app: &App, state_id: &str) -> Result<Option<VerifiedResult>, Error> {
    let Some(state) = app.store.oauth_state(state_id).await? else {
        return Ok(None);
    };
    let Some(sealed) = state.sealed_result else {
        return Ok(None);
    };
    let json = app
        .master_key
        .open_text(&sealed, &aad(state_id, "result"))
        .map_err(|_| Error::internal())?;
    Ok(serde_json::from_str(&json).ok())
}

/// How a trip to the provider ended for its flow, which decides where the browser goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in (or up): to `action_complete_redirect_url`.
    Complete,
    /// The flow goes on in the page: to `redirect_url` with this `__gatehouse_status`
    /// (`needs_second_factor`, `transferable`, `missing_requirements`, `verified`).
    Continue(&'static str),
    /// Refused: to `redirect_url` with `__gatehouse_status=failed` and this reason.
    Failed(&'static str),
    /// The attempt or the trip expired: `__gatehouse_status=expired`.
    Expired,
}

/// A refusal for an error a flow returned (`user_banned`, `session_exists`, ...).
pub fn failed_for(e: &Error) -> Outcome {
    Outcome::Failed(match e.code {
        "user_banned" => "user_banned",
        "user_locked" => "user_locked",
        "session_exists" => "session_exists",
        "sign_up_disabled" => "sign_up_disabled",
        "form_identifier_exists" => "identifier_exists",
        "external_account_exists" => "external_account_exists",
        _ => "sign_in_failed",
    })
}

/// Where the browser goes after a trip to an external identity provider: on to
/// `complete_url` when signed in, else back to `redirect_url` with the status.
pub fn redirect_for(redirect_url: &str, complete_url: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Complete => complete_url.to_string(),
        Outcome::Continue(status) => links::with_status(redirect_url, status),
        Outcome::Failed(reason) => failed_url(redirect_url, reason),
        Outcome::Expired => with_reason(&links::with_status(redirect_url, "expired"), "expired"),
    }
}

/// `url` with `__gatehouse_status=failed` and the reason.
pub fn failed_url(url: &str, reason: &str) -> String {
    with_reason(&links::with_status(url, "failed"), reason)
}

/// `url` with `__gatehouse_reason`.
pub fn with_reason(url: &str, reason: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("__gatehouse_reason", reason);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}
