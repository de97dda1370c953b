//! `GET /v1/oauth_callback?code&state`: the browser back from the provider.
//!
//! The state must be known, unused, unexpired and belong to the client of this request
//! (a top-level navigation carries the `SameSite=Lax` `__client` cookie); another
//! client's callback signs nobody in and leaves the state usable by its own browser.
//! Then the code is exchanged with the PKCE verifier, the id_token or user API says who
//! signed in, and the flow decides. Every refusal sends the browser to the flow's
//! `redirect_url` with `__gatehouse_status=failed` (or `expired`) and a reason code.

use super::{
    failed_url, link, redirect_for, Outcome, VerifiedResult, FLOW_LINK, FLOW_SIGN_IN, FLOW_SIGN_UP,
};
use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::domain::clients::ClientCtx;
use crate::domain::model::OAuthState;
use crate::domain::{sign_in, sign_up};
use crate::error::Error;
use crate::oauth::IdTokenCheck;

/// Longer values are not ours (states are 43 characters).
const MAX_STATE: usize = 256;
const MAX_CODE: usize = 4096;

/// The query of the callback (or the form of a `form_post` callback).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// Handles the callback; returns where to send the browser.
pub async fn handle(app: &App, ctx: &mut ClientCtx, p: CallbackParams) -> Result<String, Error> {
    let state = p
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::param_missing("state"))?;
    let unknown = || {
        let page = format!("{}/sign-in", app.config.public_url);
        failed_url(&page, "state_invalid")
    };
    if state.len() > MAX_STATE {
        tracing::info!(
            reason = "state_invalid",
            "a social sign-in callback with an unknown state"
        );
        return Ok(unknown());
    }
    let Some(row) = app.store.oauth_state_by_hash(&token_hash(state)).await? else {
        tracing::info!(
            reason = "state_invalid",
            "a social sign-in callback with an unknown state"
        );
        return Ok(unknown());
    };
    let outcome = run(app, ctx, &row, &p).await?;
    Ok(location(&row, &outcome))
}

async fn run(
    app: &App,
    ctx: &mut ClientCtx,
    row: &OAuthState,
    p: &CallbackParams,
) -> Result<Outcome, Error> {
    let refuse = |reason: &'static str| {
        tracing::info!(provider = %row.provider, flow = %row.flow, reason, "a social sign-in was refused");
        Ok(Outcome::Failed(reason))
    };
    if ctx.client.as_ref().map(|c| c.id.as_str()) != Some(row.client_id.as_str()) {
        return refuse("client_mismatch");
    }
    let now = app.now();
    if row.consumed_at.is_some() {
        return refuse("state_used");
    }
    if row.expire_at <= now {
        app.store.consume_oauth_state(&row.id, now).await?;
        fail_flow(app, row).await?;
        tracing::info!(provider = %row.provider, flow = %row.flow, reason = "expired", "a social sign-in came back too late");
        return Ok(Outcome::Expired);
    }
    if !app.store.consume_oauth_state(&row.id, now).await? {
        return refuse("state_used");
    }
    match verify(app, row, p).await {
        Ok(result) => {
            let outcome = match row.flow.as_str() {
                FLOW_SIGN_IN => sign_in::oauth_verified(app, ctx, row, result).await?,
                FLOW_SIGN_UP => sign_up::oauth_verified(app, ctx, row, result).await?,
                FLOW_LINK => link::verified(app, ctx, row, result).await?,
                _ => Outcome::Failed("state_invalid"),
            };
            if let Outcome::Failed(reason) = outcome {
                fail_flow(app, row).await?;
                return refuse(reason);
            }
            if outcome == Outcome::Expired {
                fail_flow(app, row).await?;
            }
            Ok(outcome)
        }
        Err(reason) => {
            fail_flow(app, row).await?;
            refuse(reason)
        }
    }
}

/// The provider's answer: error, code exchange, and who signed in.
async fn verify(
    app: &App,
    row: &OAuthState,
    p: &CallbackParams,
) -> Result<VerifiedResult, &'static str> {
    if let Some(error) = p.error.as_deref() {
        let shown: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        tracing::info!(provider = %row.provider, error = %shown, "the provider answered with an error");
        return Err(if error == "access_denied" {
            "access_denied"
        } else {
            "provider_error"
        });
    }
    let code = p
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= MAX_CODE)
        .ok_or("provider_error")?;
    let provider = app.oauth.get(&row.provider).ok_or("provider_error")?;
    let verifier = app
        .master_key
        .open_text(&row.sealed_verifier, &super::aad(&row.id, "verifier"))
        .map_err(|_| "state_invalid")?;
    let now = app.now();
    let logged = |e: crate::oauth::OAuthError| {
        tracing::warn!(provider = %row.provider, reason = e.reason, detail = %e.detail, "a social sign-in failed at the provider");
        e.reason
    };
    let endpoints = provider.endpoints(now).await.map_err(logged)?;
    let redirect_uri = super::callback_url(app);
    let tokens = provider
        .exchange_code(&endpoints, code, &verifier, &redirect_uri, now)
        .await
        .map_err(logged)?;
    let check = IdTokenCheck {
        nonce_hash: row.nonce_hash.as_deref(),
        now,
    };
    let profile = provider
        .profile(&endpoints, &tokens, &check)
        .await
        .map_err(logged)?;
    Ok(VerifiedResult::new(&provider.name, profile, tokens))
}

/// Marks the flow's pending verification failed (what the page shows afterwards).
async fn fail_flow(app: &App, row: &OAuthState) -> Result<(), Error> {
    match row.flow.as_str() {
        FLOW_SIGN_IN => sign_in::oauth_failed(app, row).await,
        FLOW_SIGN_UP => sign_up::oauth_failed(app, row).await,
        _ => Ok(()),
    }
}

fn location(row: &OAuthState, outcome: &Outcome) -> String {
    redirect_for(
        &row.redirect_url,
        &row.action_complete_redirect_url,
        outcome,
    )
}
