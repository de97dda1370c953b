//! Verifying a sign-up's email address (`email_code`, or `email_link` when magic links
//! are an enabled first factor) or phone number (`phone_code`). A verified sign-up with
//! nothing missing completes at once; one verified by a link opened in another browser
//! completes when the browser that asked for the link polls
//! `GET /v1/client/sign_ups/{id}`.

use super::{complete_if_ready, is_ready, load, load_open, STATUS_MISSING};
use crate::app::App;
use crate::delivery::CodeEmail;
use crate::domain::clients::ClientCtx;
use crate::domain::codes::{self, Via};
use crate::domain::links::{self, LinkRequest, FLOW_SIGN_UP};
use crate::domain::model::{parse_verification, verification_json, SignUpAttempt, Verification};
use crate::domain::policy::{self, EMAIL_CODE, EMAIL_LINK, PHONE_CODE};
use crate::domain::{rate_limit, sessions};
use crate::error::Error;
use crate::store::StoredLink;

/// The field a strategy verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    Phone,
}

impl Field {
    fn of(strategy: &str) -> Result<Field, Error> {
        match strategy {
            EMAIL_CODE | EMAIL_LINK => Ok(Field::Email),
            PHONE_CODE => Ok(Field::Phone),
            _ => Err(Error::param_invalid(
                "strategy",
                "strategy must be email_code, email_link or phone_code.",
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Email => "email_address",
            Field::Phone => "phone_number",
        }
    }

    /// The field's value, or `form_param_missing` when the sign-up has none.
    fn value(self, a: &SignUpAttempt) -> Result<String, Error> {
        match self {
            Field::Email => a.email_address.clone(),
            Field::Phone => a.phone_number.clone(),
        }
        .ok_or_else(|| Error::param_missing(self.name()))
    }

    fn verification(self, a: &mut SignUpAttempt) -> &mut Option<String> {
        match self {
            Field::Email => &mut a.email_verification,
            Field::Phone => &mut a.phone_verification,
        }
    }
}

/// `prepare_verification`: sends a code, or a link to `redirect_url`'s origin.
pub async fn prepare_verification(
    app: &App,
    ctx: &ClientCtx,
    id: &str,
    strategy: &str,
    redirect_url: Option<&str>,
) -> Result<SignUpAttempt, Error> {
    let mut a = load_open(app, ctx, id).await?;
    let field = Field::of(strategy)?;
    let redirect_url = if strategy == EMAIL_LINK {
        policy::require_first_factor(app, EMAIL_LINK)?;
        Some(links::check_redirect(app, redirect_url)?)
    } else {
        None
    };
    let to = field.value(&a)?;
    rate_limit::send(app, &ctx.request.ip, &to).await?;
    let expire_at = match (redirect_url, field) {
        (Some(redirect_url), _) => {
            let link = LinkRequest {
                flow: FLOW_SIGN_UP,
                subject: &a.id,
                client_id: &a.client_id,
                to: &to,
                redirect_url: &redirect_url,
                deliver: true,
            };
            links::send(app, link).await?
        }
        (None, Field::Email) => {
            let via = Via::Email(&to, CodeEmail::Verification);
            codes::send(app, &a.id, strategy, via).await?
        }
        (None, Field::Phone) => codes::send(app, &a.id, strategy, Via::Sms(&to)).await?,
    };
    let sent = Verification::sent(strategy, expire_at, &to, None);
    *field.verification(&mut a) = Some(verification_json(&sent));
    a.updated_at = app.now();
    app.store.save_sign_up(&a).await?;
    Ok(a)
}

/// `attempt_verification`: checks a code; a right one verifies the field and may
/// complete the sign-up.
pub async fn attempt_verification(
    app: &App,
    ctx: &mut ClientCtx,
    id: &str,
    strategy: &str,
    code: &str,
) -> Result<SignUpAttempt, Error> {
    let mut a = load_open(app, ctx, id).await?;
    let field = Field::of(strategy)?;
    if strategy == EMAIL_LINK {
        return Err(Error::param_invalid(
            "strategy",
            "email_link is verified by opening the link, not with a code.",
        ));
    }
    let to = field.value(&a)?;
    rate_limit::factor_attempt(app, &ctx.request.ip, Some(&to.to_lowercase())).await?;
    let mut v = parse_verification(field.verification(&mut a))
        .filter(|v| v.strategy == strategy)
        .ok_or_else(codes::not_sent)?;
    let outcome = codes::attempt(app, &a.id, strategy, &to, code).await;
    let result = codes::record(&mut v, outcome);
    *field.verification(&mut a) = Some(verification_json(&v));
    a.updated_at = app.now();
    app.store.save_sign_up(&a).await?;
    result?;
    complete_if_ready(app, ctx, &mut a).await?;
    Ok(a)
}

/// A link of a sign-up was opened (and used up) by the request of `ctx`: the email
/// address is verified; in the browser that asked for it, the sign-up completes there
/// when nothing else is missing. Errors mean the link counts as failed.
pub async fn link_opened(app: &App, ctx: &mut ClientCtx, link: &StoredLink) -> Result<(), Error> {
    let gone = || Error::new("verification_failed", "This sign-up can no longer go on.");
    let mut a = app
        .store
        .get_sign_up(&link.subject)
        .await?
        .ok_or_else(gone)?;
    let open = a.status == STATUS_MISSING && a.abandon_at > app.now();
    if !open || a.email_address.as_deref() != Some(link.target.as_str()) {
        return Err(gone());
    }
    let mut v = links::awaiting(&a.email_verification).ok_or_else(gone)?;
    let same = links::mark_opened(&mut v, ctx, link);
    a.email_verification = Some(verification_json(&v));
    a.updated_at = app.now();
    if same && is_ready(app, &a) && sessions::ensure_can_sign_in(app, ctx).await.is_ok() {
        return complete_if_ready(app, ctx, &mut a).await;
    }
    app.store.save_sign_up(&a).await?;
    Ok(())
}

/// `GET /v1/client/sign_ups/{id}`: the attempt; one whose email address was verified
/// by a link opened in another browser completes here once nothing else is missing.
pub async fn poll(app: &App, ctx: &mut ClientCtx, id: &str) -> Result<SignUpAttempt, Error> {
    let mut a = load(app, ctx, id).await?;
    let verified_by_link = links::was_opened(&a.email_verification);
    let open = a.status == STATUS_MISSING && a.abandon_at > app.now();
    if !(open && verified_by_link && is_ready(app, &a)) {
        return Ok(a);
    }
    match complete_if_ready(app, ctx, &mut a).await {
        Ok(()) => Ok(a),
        // Another poll of this client completed it first.
        Err(e) => match load(app, ctx, id).await? {
            done if done.status != STATUS_MISSING => Ok(done),
            _ => Err(e),
        },
    }
}
