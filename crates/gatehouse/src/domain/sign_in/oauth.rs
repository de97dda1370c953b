//! Social sign-in as a first factor: `strategy: oauth_<provider>` at
//! `POST /v1/client/sign_ins` (or `prepare_first_factor`) starts a trip to the provider;
//! the callback hands the verified account here. A linked account signs its user in; an
//! unlinked one whose email address the provider verified and a user signs in with is
//! linked to that user and signs them in; any other becomes `transferable` (a sign-up
//! with `transfer: true` takes it over), unless sign-ups are closed.

use super::{
    ensure_may_sign_in, external_first_factor_verified, fail_pending_first_factor, invalid_state,
    load_open, NEEDS_FIRST_FACTOR,
};
use crate::app::App;
use crate::config::SignUpMode;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{
    parse_verification, verification_json, OAuthState, SignInAttempt, Verification, TRANSFERABLE,
};
use crate::domain::social::accounts::{self, Resolution};
use crate::domain::social::{self, failed_for, Outcome, StartRequest, VerifiedResult};
use crate::error::Error;

/// Starts the trip for `a` (a new attempt, or one waiting for its first factor) and
/// records the pending verification.
pub(super) async fn begin(
    app: &App,
    a: &mut SignInAttempt,
    strategy: &str,
    redirect_url: Option<&str>,
    action_complete_redirect_url: Option<&str>,
) -> Result<(), Error> {
    let v = social::start(
        app,
        StartRequest {
            flow: social::FLOW_SIGN_IN,
            subject: &a.id,
            client_id: &a.client_id,
            strategy,
            redirect_url,
            action_complete_redirect_url,
            not_after: a.abandon_at,
        },
    )
    .await?;
    a.first_factor = Some(verification_json(&v));
    a.status = NEEDS_FIRST_FACTOR.into();
    a.updated_at = app.now();
    Ok(())
}

/// `prepare_first_factor` with `strategy: oauth_<provider>`.
pub async fn prepare(
    app: &App,
    ctx: &ClientCtx,
    id: &str,
    strategy: &str,
    redirect_url: Option<&str>,
    action_complete_redirect_url: Option<&str>,
) -> Result<SignInAttempt, Error> {
    let mut a = load_open(app, ctx, id).await?;
    if a.status != NEEDS_FIRST_FACTOR {
        return Err(invalid_state("a first factor"));
    }
    begin(
        app,
        &mut a,
        strategy,
        redirect_url,
        action_complete_redirect_url,
    )
    .await?;
    app.store.save_sign_in(&a).await?;
    Ok(a)
}

/// The provider vouched for an account; `row` is this trip's state.
pub async fn oauth_verified(
    app: &App,
    ctx: &mut ClientCtx,
    row: &OAuthState,
    result: VerifiedResult,
) -> Result<Outcome, Error> {
    let now = app.now();
    let Some(mut a) = app.store.get_sign_in(&row.subject).await? else {
        return Ok(Outcome::Failed("state_invalid"));
    };
    if a.status != NEEDS_FIRST_FACTOR {
        return Ok(Outcome::Failed("sign_in_invalid_state"));
    }
    if a.abandon_at <= now {
        return Ok(Outcome::Expired);
    }
    let Some(mut v) = parse_verification(&a.first_factor)
        .filter(|v| v.oauth_state_id.as_deref() == Some(row.id.as_str()))
    else {
        // A newer trip (or another factor) replaced this one.
        return Ok(Outcome::Failed("state_used"));
    };
    let user_id = match accounts::resolve(app, &result).await? {
        Resolution::Known(mut account) => {
            accounts::refresh_from(app, &mut account, &result);
            app.store.update_external_account(&account).await?;
            account.user_id
        }
        Resolution::ByVerifiedEmail(user_id) => {
            // Refuse before linking: a banned or locked user gets nothing linked.
            if let Some(user) = app.store.get_user(&user_id).await? {
                if let Err(e) = ensure_may_sign_in(&user.user, now) {
                    return Ok(failed_for(&e));
                }
            }
            let account = accounts::new_account(app, &user_id, &result);
            match accounts::link(app, &account).await {
                Ok(()) => {}
                Err(e) if e.status() >= 500 => return Err(e),
                Err(e) => return Ok(failed_for(&e)),
            }
            tracing::info!(provider = %result.provider, "an external account was linked by its verified email address");
            user_id
        }
        Resolution::EmailTaken { provider_verified } => {
            return Ok(Outcome::Failed(accounts::email_taken_reason(
                provider_verified,
            )));
        }
        Resolution::New => {
            if app.config.auth.sign_up != SignUpMode::Public {
                return Ok(Outcome::Failed("sign_up_disabled"));
            }
            social::keep_result(app, &row.id, &result).await?;
            v.status = TRANSFERABLE.into();
            a.first_factor = Some(verification_json(&v));
            a.updated_at = now;
            app.store.save_sign_in(&a).await?;
            return Ok(Outcome::Continue(TRANSFERABLE));
        }
    };
    let identifier = accounts::normalized_email(&result);
    external_first_factor_verified(app, ctx, a, v, &user_id, identifier).await
}

/// Marks this trip's pending verification failed.
pub async fn oauth_failed(app: &App, row: &OAuthState) -> Result<(), Error> {
    let trip = |v: &Verification| v.oauth_state_id.as_deref() == Some(row.id.as_str());
    fail_pending_first_factor(app, &row.subject, trip, "oauth_failed").await
}

/// The verified account a transferable sign-in of this client holds, for a sign-up
/// with `transfer: true`.
pub async fn transferable(app: &App, ctx: &ClientCtx) -> Result<(String, VerifiedResult), Error> {
    let not_transferable = || {
        Error::new(
            "sign_in_not_transferable",
            "There is no social sign-in to continue as a sign-up.",
        )
        .with_param("transfer")
    };
    let client = ctx.client.as_ref().ok_or_else(not_transferable)?;
    let id = client.sign_in_id.clone().ok_or_else(not_transferable)?;
    let a = load_open(app, ctx, &id)
        .await
        .map_err(|_| not_transferable())?;
    let v = parse_verification(&a.first_factor)
        .filter(|v| v.status == TRANSFERABLE)
        .ok_or_else(not_transferable)?;
    let state_id = v.oauth_state_id.ok_or_else(not_transferable)?;
    let result = social::kept_result(app, &state_id)
        .await?
        .ok_or_else(not_transferable)?;
    Ok((state_id, result))
}
