//! `GET /v1/saml/complete?token`: the browser, back from the ACS in a top-level
//! navigation that carries `__client`. Only the client that started the trip gets the
//! verified result (another client's visit changes nothing and leaves the token usable
//! by its own browser); the token works once. Then the identity is resolved to a user
//! (`accounts`) and the sign-in goes on (`sign_in::saml_verified`).

use super::accounts::{self, Resolution};
use super::{aad, connections};
use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::domain::clients::ClientCtx;
use crate::domain::model::SamlRequest;
use crate::domain::sign_in;
use crate::domain::social::{failed_url, redirect_for, Outcome};
use crate::error::Error;
use crate::saml::response::Verified;

const MAX_TOKEN: usize = 256;

pub async fn handle(app: &App, ctx: &mut ClientCtx, token: Option<&str>) -> Result<String, Error> {
    let unknown = || {
        tracing::info!(
            reason = "token_invalid",
            "an enterprise SSO completion with an unknown token"
        );
        failed_url(
            &format!("{}/sign-in", app.config.public_url),
            "saml_response_invalid",
        )
    };
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN) else {
        return Ok(unknown());
    };
    let Some(request) = app
        .store
        .saml_request_by_completion(&token_hash(token))
        .await?
    else {
        return Ok(unknown());
    };
    let outcome = run(app, ctx, &request).await?;
    Ok(redirect_for(
        &request.redirect_url,
        &request.action_complete_redirect_url,
        &outcome,
    ))
}

async fn run(app: &App, ctx: &mut ClientCtx, request: &SamlRequest) -> Result<Outcome, Error> {
    let refuse = |reason: &'static str| {
        tracing::info!(connection = %request.connection_id, reason, "an enterprise SSO sign-in was refused");
        Ok(Outcome::Failed(reason))
    };
    if let Some(client_id) = request.client_id.as_deref() {
        if ctx.client.as_ref().map(|c| c.id.as_str()) != Some(client_id) {
            return refuse("client_mismatch");
        }
    }
    let now = app.now();
    if request.completed_at.is_some() || request.sealed_result.is_none() {
        return refuse("response_used");
    }
    if request.expire_at <= now {
        sign_in::saml_failed(app, request).await?;
        return Ok(Outcome::Expired);
    }
    if !app.store.complete_saml_request(&request.id, now).await? {
        return refuse("response_used");
    }
    let sealed = request.sealed_result.as_deref().unwrap_or_default();
    let verified: Verified = app
        .master_key
        .open_text(sealed, &aad(&request.id, "result"))
        .ok()
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(Error::internal)?;
    let Ok(connection) = connections::get(app, &request.connection_id).await else {
        return refuse("connection_deleted");
    };
    match accounts::resolve(app, &connection, &verified).await? {
        Resolution::Refused(reason) => {
            sign_in::saml_failed(app, request).await?;
            refuse(reason)
        }
        Resolution::User(user_id) => {
            let outcome =
                sign_in::saml_verified(app, ctx, request, &user_id, verified.email.as_deref())
                    .await?;
            if let Outcome::Failed(reason) = outcome {
                sign_in::saml_failed(app, request).await?;
                return refuse(reason);
            }
            Ok(outcome)
        }
    }
}
