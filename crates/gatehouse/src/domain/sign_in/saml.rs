//! Enterprise SSO as a first factor: `strategy: enterprise_sso` with an email whose
//! domain has an active connection starts a trip to the identity provider
//! (`domain::saml::start`); the completion hands the resolved user here. An unsolicited
//! response (a connection with `allow_idp_initiated`) gets a new attempt on the client
//! that completes it.

use super::{
    external_first_factor_verified, fail_pending_first_factor, new_attempt, SignInParams,
    NEEDS_FIRST_FACTOR,
};
use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{
    parse_verification, verification_json, SamlRequest, SignInAttempt, Verification, UNVERIFIED,
};
use crate::domain::saml::start::{self, StartRequest};
use crate::domain::saml::STRATEGY;
use crate::domain::sessions;
use crate::domain::social::{failed_for, Outcome};
use crate::error::Error;

/// Starts the trip for a new attempt.
pub(super) async fn begin(app: &App, a: &mut SignInAttempt, p: &SignInParams) -> Result<(), Error> {
    let (email, v) = start::start(
        app,
        StartRequest {
            sign_in_id: &a.id,
            client_id: &a.client_id,
            identifier: p.identifier.as_deref(),
            redirect_url: p.redirect_url.as_deref(),
            action_complete_redirect_url: p.action_complete_redirect_url.as_deref(),
            not_after: a.abandon_at,
        },
    )
    .await?;
    a.identifier = Some(email);
    a.first_factor = Some(verification_json(&v));
    a.status = NEEDS_FIRST_FACTOR.into();
    a.updated_at = app.now();
    Ok(())
}

/// The identity provider vouched for `user_id` on the trip `request`.
pub async fn saml_verified(
    app: &App,
    ctx: &mut ClientCtx,
    request: &SamlRequest,
    user_id: &str,
    email: Option<&str>,
) -> Result<Outcome, Error> {
    let now = app.now();
    let (a, v) = match request.sign_in_id.as_deref() {
        Some(id) => {
            let Some(a) = app.store.get_sign_in(id).await? else {
                return Ok(Outcome::Failed("sign_in_invalid"));
            };
            if a.status != NEEDS_FIRST_FACTOR {
                return Ok(Outcome::Failed("sign_in_invalid_state"));
            }
            if a.abandon_at <= now {
                return Ok(Outcome::Expired);
            }
            let Some(v) = parse_verification(&a.first_factor)
                .filter(|v| v.saml_request_id.as_deref() == Some(request.id.as_str()))
            else {
                // A newer trip (or another factor) replaced this one.
                return Ok(Outcome::Failed("state_used"));
            };
            (a, v)
        }
        None => {
            if let Err(e) = sessions::ensure_can_sign_in(app, ctx).await {
                return Ok(failed_for(&e));
            }
            let client = ctx.ensure(app).await?;
            let mut v = Verification::new(UNVERIFIED, STRATEGY, Some(request.expire_at));
            v.saml_request_id = Some(request.id.clone());
            let mut a = new_attempt(client.id, now);
            a.status = NEEDS_FIRST_FACTOR.into();
            (a, v)
        }
    };
    let identifier = email.map(str::to_lowercase);
    external_first_factor_verified(app, ctx, a, v, user_id, identifier).await
}

/// Marks the trip's pending verification failed (what the page shows afterwards).
pub async fn saml_failed(app: &App, request: &SamlRequest) -> Result<(), Error> {
    let Some(id) = request.sign_in_id.as_deref() else {
        return Ok(());
    };
    let trip = |v: &Verification| v.saml_request_id.as_deref() == Some(request.id.as_str());
    fail_pending_first_factor(app, id, trip, "saml_failed").await
}
