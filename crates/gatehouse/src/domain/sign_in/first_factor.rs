//! Codes and magic links as first factors: `prepare_first_factor` sends one to an
//! address the sign-in offers; `attempt_first_factor` checks a code (a link is checked
//! where it is opened, see `link`).

use super::factors::{self, Target};
use super::{
    after_first_factor, ensure_may_sign_in, invalid_state, load_open, user_of, NEEDS_FIRST_FACTOR,
    NEEDS_NEW_PASSWORD,
};
use crate::app::App;
use crate::delivery::CodeEmail;
use crate::domain::clients::ClientCtx;
use crate::domain::codes::{self, CodeOutcome, Via};
use crate::domain::links::{self, LinkRequest, FLOW_SIGN_IN};
use crate::domain::model::{parse_verification, verification_json, SignInAttempt, Verification};
use crate::domain::policy::{self, EMAIL_CODE, EMAIL_LINK, PHONE_CODE, RESET_PASSWORD_EMAIL_CODE};
use crate::domain::{passwords, rate_limit};
use crate::error::Error;

/// `POST /v1/client/sign_ins/{id}/prepare_first_factor`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PrepareParams {
    pub strategy: Option<String>,
    pub email_address_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub redirect_url: Option<String>,
    /// Social sign-in: where the browser goes once signed in.
    pub action_complete_redirect_url: Option<String>,
}

/// Sends a code (`email_code`, `phone_code`, `reset_password_email_code`) or a magic
/// link (`email_link`, with `redirect_url`) to one of the addresses the sign-in offers.
pub async fn prepare_first_factor(
    app: &App,
    ctx: &ClientCtx,
    id: &str,
    p: PrepareParams,
) -> Result<SignInAttempt, Error> {
    let strategy = p
        .strategy
        .as_deref()
        .ok_or_else(|| Error::param_missing("strategy"))?;
    if crate::domain::social::is_oauth_strategy(strategy) {
        crate::domain::social::provider_for(app, strategy)?;
        let redirect = p.redirect_url.as_deref();
        let complete = p.action_complete_redirect_url.as_deref();
        return super::oauth::prepare(app, ctx, id, strategy, redirect, complete).await;
    }
    let mut a = load_open(app, ctx, id).await?;
    if a.status != NEEDS_FIRST_FACTOR {
        return Err(invalid_state("a first factor"));
    }
    let strategy = match strategy {
        EMAIL_CODE | EMAIL_LINK | PHONE_CODE | RESET_PASSWORD_EMAIL_CODE => {
            policy::require_first_factor(app, strategy)?;
            factor_name(strategy)
        }
        _ => return Err(policy::not_enabled(strategy)),
    };
    let redirect_url = match strategy {
        EMAIL_LINK => Some(links::check_redirect(app, p.redirect_url.as_deref())?),
        _ => None,
    };
    let user = user_of(app, &a).await?;
    let offered = factors::first_factors(app, &a, user.as_ref());
    let wanted = if strategy == PHONE_CODE {
        p.phone_number_id.as_deref()
    } else {
        p.email_address_id.as_deref()
    };
    let target = factors::choose(&offered, strategy, wanted)?;
    rate_limit::send(app, &ctx.request.ip, &target.value).await?;
    // Nothing goes out for an identifier without an account (enumeration protection);
    // the code or link is stored all the same, so every answer is the same.
    let deliver = user.is_some();
    let expire_at = match redirect_url {
        Some(redirect_url) => {
            let link = LinkRequest {
                flow: FLOW_SIGN_IN,
                subject: &a.id,
                client_id: &a.client_id,
                to: &target.value,
                redirect_url: &redirect_url,
                deliver,
            };
            links::send(app, link).await?
        }
        None => codes::send(app, &a.id, strategy, via(strategy, &target, deliver)).await?,
    };
    a.first_factor = Some(verification_json(&Verification::sent(
        strategy,
        expire_at,
        &target.value,
        target.id.as_deref(),
    )));
    a.updated_at = app.now();
    app.store.save_sign_in(&a).await?;
    Ok(a)
}

/// The strategy as a `'static` name.
fn factor_name(strategy: &str) -> &'static str {
    match strategy {
        EMAIL_CODE => EMAIL_CODE,
        EMAIL_LINK => EMAIL_LINK,
        PHONE_CODE => PHONE_CODE,
        _ => RESET_PASSWORD_EMAIL_CODE,
    }
}

fn via<'a>(strategy: &str, target: &'a Target, deliver: bool) -> Via<'a> {
    match strategy {
        _ if !deliver => Via::Withheld(&target.value),
        PHONE_CODE => Via::Sms(&target.value),
        RESET_PASSWORD_EMAIL_CODE => Via::Email(&target.value, CodeEmail::ResetPassword),
        _ => Via::Email(&target.value, CodeEmail::Verification),
    }
}

/// Checks a code sent by `prepare_first_factor` with the same strategy. A right code
/// proves the address (it becomes verified) and is a first factor, except a password
/// reset code, which leads to `needs_new_password`. Wrong codes count toward the
/// lockout; a reset code is accepted while the user is locked out by failed attempts
/// (the reset ends the lockout), not while an administrator locked or banned them.
pub(super) async fn attempt_code(
    app: &App,
    ctx: &mut ClientCtx,
    a: &mut SignInAttempt,
    strategy: &str,
    code: &str,
) -> Result<(), Error> {
    let mut v = parse_verification(&a.first_factor)
        .filter(|v| v.strategy == strategy && v.target.is_some())
        .ok_or_else(codes::not_sent)?;
    rate_limit::factor_attempt(app, &ctx.request.ip, a.identifier.as_deref()).await?;
    let user = user_of(app, a).await?;
    let now = app.now();
    if let Some(u) = &user {
        let only_failures = !u.user.is_banned() && u.user.admin_locked == 0;
        if !(strategy == RESET_PASSWORD_EMAIL_CODE && only_failures) {
            ensure_may_sign_in(&u.user, now)?;
        }
    }
    let target = v.target.clone().unwrap_or_default();
    let outcome = match codes::attempt(app, &a.id, strategy, &target, code).await {
        // No code went out for an identifier without an account: none can be right.
        Ok(CodeOutcome::Verified) if user.is_none() => Ok(CodeOutcome::Incorrect {
            attempts: v.attempts + 1,
        }),
        other => other,
    };
    let result = codes::record(&mut v, outcome);
    a.first_factor = Some(verification_json(&v));
    a.updated_at = now;
    let user = match (result, user) {
        (Ok(()), Some(user)) => user,
        (result, _) => {
            let e = result.err().unwrap_or_else(codes::incorrect_error);
            if let (Some(uid), "form_code_incorrect") = (&a.user_id, e.code) {
                passwords::record_failure(app, uid).await?;
            }
            app.store.save_sign_in(a).await?;
            metrics::counter!("gatehouse_sign_ins_total", "outcome" => e.code).increment(1);
            return Err(e);
        }
    };
    passwords::record_success(app, &user.user).await?;
    if let Some(identifier) = v.identifier_id.as_deref().and_then(|i| user.identifier(i)) {
        if !identifier.is_verified() {
            app.store
                .mark_identifier_verified(
                    &user.user.id,
                    &identifier.id,
                    &identifier.kind,
                    strategy,
                    now,
                )
                .await?;
        }
    }
    a.first_factor_at = Some(now);
    if strategy == RESET_PASSWORD_EMAIL_CODE {
        a.status = NEEDS_NEW_PASSWORD.into();
        app.store.save_sign_in(a).await?;
        return Ok(());
    }
    after_first_factor(app, ctx, a, &user).await?;
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
    Ok(())
}
