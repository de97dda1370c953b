//! The sign-in state machine:
//! `needs_identifier` → `needs_first_factor` → (`needs_new_password`) →
//! (`needs_second_factor`) → `complete`.
//! An attempt belongs to the client that started it and expires at `abandon_at`.
//!
//! This file holds the machine and the password factor; the submodules hold the factors
//! offered (`factors`), codes and magic links as first factors (`first_factor`,
//! `link`), the password reset (`reset_password`) and the phone second factor
//! (`second_factor`).

mod factors;
mod first_factor;
mod link;
mod oauth;
mod reset_password;
mod saml;
mod second_factor;

pub use factors::{supported_first_factors, supported_second_factors};
pub use first_factor::{prepare_first_factor, PrepareParams};
pub use link::{link_opened, poll};
pub use oauth::{oauth_failed, oauth_verified, transferable};
pub use reset_password::reset_password;
pub use saml::{saml_failed, saml_verified};
pub use second_factor::prepare_second_factor;

use crate::app::App;
use crate::config::IdentifierKind;
use crate::crypto::ids;
use crate::domain::clients::ClientCtx;
use crate::domain::identifiers::{
    guess_kind, parse_email, parse_phone, parse_username, IdentifierGuess,
};
use crate::domain::model::{
    parse_verification, verification_json, SignInAttempt, User, UserRecord, Verification, FAILED,
    UNVERIFIED, VERIFIED,
};
use crate::domain::sessions::{self, FactorTimes};
use crate::domain::{codes, mfa, passwords, policy, rate_limit, social};
use crate::error::Error;
use crate::store::{Batch, StoreError};

pub const NEEDS_IDENTIFIER: &str = "needs_identifier";
pub const NEEDS_FIRST_FACTOR: &str = "needs_first_factor";
pub const NEEDS_NEW_PASSWORD: &str = "needs_new_password";
pub const NEEDS_SECOND_FACTOR: &str = "needs_second_factor";
pub const COMPLETE: &str = "complete";
const ATTEMPT_LIFETIME_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignInParams {
    pub identifier: Option<String>,
    pub strategy: Option<String>,
    pub password: Option<String>,
    /// Social sign-in: where the browser comes back to (refusals too).
    pub redirect_url: Option<String>,
    /// Social sign-in: where the browser goes once signed in (default `redirect_url`).
    pub action_complete_redirect_url: Option<String>,
}

/// `POST /v1/client/sign_ins`.
pub async fn create(
    app: &App,
    ctx: &mut ClientCtx,
    params: SignInParams,
) -> Result<SignInAttempt, Error> {
    rate_limit::per_ip(
        app,
        "sign_in_create",
        &ctx.request.ip,
        app.config.rate_limits.sign_in_create,
    )
    .await?;
    sessions::ensure_can_sign_in(app, ctx).await?;
    let social_strategy = params
        .strategy
        .as_deref()
        .filter(|s| social::is_oauth_strategy(s));
    let enterprise = params.strategy.as_deref() == Some(crate::domain::saml::STRATEGY);
    if let Some(s) = social_strategy {
        social::provider_for(app, s)?;
    } else if enterprise {
        // Refuse an unknown domain before anything is stored.
        crate::domain::saml::start::connection_for(app, params.identifier.as_deref()).await?;
    } else if let Some(s) = params.strategy.as_deref() {
        if s != "password" {
            return Err(Error::param_invalid(
                "strategy",
                format!("strategy `{s}` is not enabled on this instance."),
            ));
        }
    }
    let password_path = params.password.is_some() && social_strategy.is_none() && !enterprise;
    let client = if password_path {
        passwords::refuse_early_if_overloaded(app)?;
        // Stored with the attempt's outcome, in the same commit.
        ctx.ensure_unstored(app)
    } else {
        ctx.ensure(app).await?
    };
    let now = app.now();
    let mut attempt = new_attempt(client.id.clone(), now);
    if let Some(strategy) = social_strategy {
        let redirect = params.redirect_url.as_deref();
        let complete = params.action_complete_redirect_url.as_deref();
        oauth::begin(app, &mut attempt, strategy, redirect, complete).await?;
        app.store.save_sign_in_for_client(&attempt).await?;
        ctx.reload(app).await?;
        return Ok(attempt);
    }
    if enterprise {
        saml::begin(app, &mut attempt, &params).await?;
        app.store.save_sign_in_for_client(&attempt).await?;
        ctx.reload(app).await?;
        return Ok(attempt);
    }
    if let Some(identifier) = params.identifier.as_deref() {
        identify(app, &mut attempt, identifier).await?;
    }
    if params.strategy.as_deref() != Some("password") && params.password.is_none() {
        app.store.save_sign_in_for_client(&attempt).await?;
        ctx.reload(app).await?;
        return Ok(attempt);
    }
    let password = params
        .password
        .ok_or_else(|| Error::param_missing("password"))?;
    // The attempt is saved with its outcome: one commit when the password is wrong, the
    // completing transaction when it is right.
    attempt_password(app, ctx, &mut attempt, &password).await?;
    Ok(attempt)
}

/// A new attempt of this client, waiting for its identifier.
fn new_attempt(client_id: String, now: i64) -> SignInAttempt {
    SignInAttempt {
        id: ids::new_id("sia"),
        client_id,
        status: NEEDS_IDENTIFIER.into(),
        identifier: None,
        user_id: None,
        first_factor: None,
        second_factor: None,
        created_session_id: None,
        abandon_at: now + ATTEMPT_LIFETIME_MS,
        created_at: now,
        updated_at: now,
        first_factor_at: None,
    }
}

/// An external identity provider (social or enterprise SSO) vouched for `user_id` on the
/// pending first factor `v` of `a`: unless the user may not sign in here, the factor is
/// verified and the sign-in goes on to its second factor or completes.
async fn external_first_factor_verified(
    app: &App,
    ctx: &mut ClientCtx,
    mut a: SignInAttempt,
    mut v: Verification,
    user_id: &str,
    identifier: Option<String>,
) -> Result<social::Outcome, Error> {
    use social::{failed_for, Outcome};
    let now = app.now();
    let Some(user) = app.store.get_user(user_id).await? else {
        return Ok(Outcome::Failed("sign_in_failed"));
    };
    if let Err(e) = ensure_may_sign_in(&user.user, now) {
        return Ok(failed_for(&e));
    }
    if let Err(e) = sessions::ensure_can_sign_in(app, ctx).await {
        return Ok(failed_for(&e));
    }
    v.status = VERIFIED.into();
    a.first_factor = Some(verification_json(&v));
    a.user_id = Some(user_id.to_string());
    a.identifier = identifier.or(a.identifier.take());
    a.first_factor_at = Some(now);
    after_first_factor(app, ctx, &mut a, &user).await?;
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
    Ok(if a.status == COMPLETE {
        Outcome::Complete
    } else {
        Outcome::Continue("needs_second_factor")
    })
}

/// Marks the pending first factor of sign-in `id` failed, when it is the verification
/// `is_trip` recognizes and still pending (a trip to an external identity provider that
/// was refused); counted as `outcome` in the sign-in metrics.
async fn fail_pending_first_factor(
    app: &App,
    id: &str,
    is_trip: impl Fn(&Verification) -> bool,
    outcome: &'static str,
) -> Result<(), Error> {
    let Some(mut a) = app.store.get_sign_in(id).await? else {
        return Ok(());
    };
    let Some(mut v) = parse_verification(&a.first_factor).filter(|v| is_trip(v)) else {
        return Ok(());
    };
    if a.status != NEEDS_FIRST_FACTOR || v.is_verified() {
        return Ok(());
    }
    v.status = FAILED.into();
    a.first_factor = Some(verification_json(&v));
    a.updated_at = app.now();
    app.store.save_sign_in(&a).await?;
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => outcome).increment(1);
    Ok(())
}

/// Resolves the identifier to a user. Unknown identifiers are an error unless
/// `protect_against_enumeration`, where the attempt proceeds with no user and fails
/// at the password exactly like a wrong password.
async fn identify(app: &App, a: &mut SignInAttempt, identifier: &str) -> Result<(), Error> {
    let enabled = |k: IdentifierKind| app.config.auth.identifiers.contains(&k);
    let invalid = || {
        Error::param_invalid(
            "identifier",
            "identifier is not a valid email address, phone number or username.",
        )
    };
    let (kind, parsed) = match guess_kind(identifier) {
        IdentifierGuess::Email if enabled(IdentifierKind::EmailAddress) => (
            "email_address",
            parse_email(identifier).map_err(|_| invalid())?,
        ),
        IdentifierGuess::Phone if enabled(IdentifierKind::PhoneNumber) => (
            "phone_number",
            parse_phone(identifier).map_err(|_| invalid())?,
        ),
        IdentifierGuess::Username if enabled(IdentifierKind::Username) => (
            "username",
            parse_username(identifier).map_err(|_| invalid())?,
        ),
        _ => return Err(invalid()),
    };
    let user_id = if kind == "username" {
        app.store
            .find_user_id_by_identifier(kind, &parsed.normalized)
            .await?
    } else {
        app.store
            .find_sign_in_user_id(kind, &parsed.normalized)
            .await?
    };
    if user_id.is_none() && !app.config.auth.protect_against_enumeration {
        return Err(Error::identifier_not_found());
    }
    a.identifier = Some(parsed.normalized);
    a.user_id = user_id;
    a.status = NEEDS_FIRST_FACTOR.into();
    Ok(())
}

/// Loads an attempt of this client that is still in progress.
pub async fn load_open(app: &App, ctx: &ClientCtx, id: &str) -> Result<SignInAttempt, Error> {
    let attempt = load(app, ctx, id).await?;
    if attempt.status == COMPLETE {
        return Err(already_complete());
    }
    if attempt.abandon_at <= app.now() {
        return Err(Error::new(
            "sign_in_expired",
            "This sign-in has expired. Please start again.",
        ));
    }
    Ok(attempt)
}

pub async fn load(app: &App, ctx: &ClientCtx, id: &str) -> Result<SignInAttempt, Error> {
    let client = ctx.require()?;
    match app.store.get_sign_in(id).await? {
        Some(a) if a.client_id == client.id => Ok(a),
        _ => Err(Error::not_found("sign_in")),
    }
}

/// `POST /v1/client/sign_ins/{id}/attempt_first_factor`: a password, or a code sent by
/// `prepare_first_factor`.
pub async fn attempt_first_factor(
    app: &App,
    ctx: &mut ClientCtx,
    id: &str,
    strategy: &str,
    secret: FactorSecret,
) -> Result<SignInAttempt, Error> {
    let mut attempt = load_open(app, ctx, id).await?;
    if attempt.status != NEEDS_FIRST_FACTOR {
        return Err(invalid_state("a first factor"));
    }
    match strategy {
        policy::PASSWORD => {
            let password = secret
                .password
                .ok_or_else(|| Error::param_missing("password"))?;
            attempt_password(app, ctx, &mut attempt, &password).await?;
        }
        policy::EMAIL_CODE | policy::PHONE_CODE | policy::RESET_PASSWORD_EMAIL_CODE => {
            policy::require_first_factor(app, strategy)?;
            let code = secret.code.ok_or_else(|| Error::param_missing("code"))?;
            first_factor::attempt_code(app, ctx, &mut attempt, strategy, &code).await?;
        }
        _ => return Err(policy::not_enabled(strategy)),
    }
    Ok(attempt)
}

/// What an `attempt_first_factor` carries.
#[derive(Debug, Default)]
pub struct FactorSecret {
    pub password: Option<String>,
    pub code: Option<String>,
}

/// `sign_in_invalid_state`: the attempt is not waiting for `what`.
fn invalid_state(what: &str) -> Error {
    Error::new(
        "sign_in_invalid_state",
        format!("This sign-in is not waiting for {what}."),
    )
}

async fn attempt_password(
    app: &App,
    ctx: &mut ClientCtx,
    a: &mut SignInAttempt,
    password: &str,
) -> Result<(), Error> {
    if a.status != NEEDS_FIRST_FACTOR {
        return Err(Error::param_missing("identifier"));
    }
    policy::require_first_factor(app, policy::PASSWORD)?;
    rate_limit::factor_attempt(app, &ctx.request.ip, a.identifier.as_deref()).await?;
    let mut verification = parse_verification(&a.first_factor)
        .filter(|v| v.strategy == policy::PASSWORD)
        .unwrap_or_else(|| Verification::new(UNVERIFIED, policy::PASSWORD, None));
    verification.attempts += 1;
    let user = user_of(app, a).await?;
    let outcome = check_password(app, user.as_ref(), password).await;
    let now = app.now();
    match outcome {
        Ok(()) => {
            verification.status = VERIFIED.into();
            a.first_factor = Some(verification_json(&verification));
            let user = user.expect("a verified password has a user");
            a.first_factor_at = Some(now);
            after_first_factor(app, ctx, a, &user).await?;
            metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
            Ok(())
        }
        Err(e) => {
            a.first_factor = Some(verification_json(&verification));
            a.updated_at = now;
            save_for_client(app, ctx, a).await?;
            metrics::counter!("gatehouse_sign_ins_total", "outcome" => e.code).increment(1);
            Err(e)
        }
    }
}

/// After a verified first factor: on to the second factor when the user has one to
/// offer, else complete (a session on this client).
async fn after_first_factor(
    app: &App,
    ctx: &mut ClientCtx,
    a: &mut SignInAttempt,
    user: &UserRecord,
) -> Result<(), Error> {
    let now = app.now();
    let first = *a.first_factor_at.get_or_insert(now);
    if factors::has_second_factor(app, a, user) {
        a.status = NEEDS_SECOND_FACTOR.into();
        a.updated_at = now;
        save_for_client(app, ctx, a).await?;
        ctx.reload(app).await?;
        return Ok(());
    }
    complete(
        app,
        ctx,
        a,
        user,
        FactorTimes {
            first,
            second: None,
        },
    )
    .await
}

/// `POST /v1/client/sign_ins/{id}/attempt_second_factor`: a TOTP, backup or SMS code.
/// Failures count toward the lockout like wrong passwords.
pub async fn attempt_second_factor(
    app: &App,
    ctx: &mut ClientCtx,
    id: &str,
    strategy: &str,
    code: &str,
) -> Result<SignInAttempt, Error> {
    let mut a = load_open(app, ctx, id).await?;
    if a.status != NEEDS_SECOND_FACTOR {
        return Err(invalid_state("a second factor"));
    }
    policy::require_second_factor(app, strategy)?;
    rate_limit::factor_attempt(app, &ctx.request.ip, a.identifier.as_deref()).await?;
    let user = verified_user(app, &a).await?;
    let user_id = user.user.id.clone();
    let now = app.now();
    ensure_may_sign_in(&user.user, now)?;
    let mut verification = parse_verification(&a.second_factor)
        .unwrap_or_else(|| Verification::new(UNVERIFIED, strategy, None));
    let checked = if strategy == policy::PHONE_CODE {
        second_factor::check_phone_code(app, &a, &mut verification, code).await
    } else {
        verification.strategy = strategy.to_string();
        verification.attempts += 1;
        match mfa::verify_second_factor(app, &user.user, strategy, code).await? {
            true => Ok(()),
            false => Err(codes::incorrect_error()),
        }
    };
    if let Err(e) = checked {
        if e.code == "form_code_incorrect" {
            passwords::record_failure(app, &user_id).await?;
        }
        a.second_factor = Some(verification_json(&verification));
        a.updated_at = now;
        app.store.save_sign_in(&a).await?;
        metrics::counter!("gatehouse_sign_ins_total", "outcome" => e.code).increment(1);
        return Err(e);
    }
    app.store.record_successful_password(&user_id).await?;
    verification.status = VERIFIED.into();
    a.second_factor = Some(verification_json(&verification));
    let first = a.first_factor_at.unwrap_or(now);
    complete(
        app,
        ctx,
        &mut a,
        &user,
        FactorTimes {
            first,
            second: Some(now),
        },
    )
    .await?;
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
    Ok(a)
}

/// The attempt's user; none for an identifier without an account (under enumeration
/// protection).
async fn user_of(app: &App, a: &SignInAttempt) -> Result<Option<UserRecord>, Error> {
    match &a.user_id {
        Some(id) => Ok(app.store.get_user(id).await?),
        None => Ok(None),
    }
}

/// The user of an attempt past its first factor (such an attempt always has one).
async fn verified_user(app: &App, a: &SignInAttempt) -> Result<UserRecord, Error> {
    user_of(app, a)
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

/// Banned users get `user_banned`, locked ones `user_locked`.
fn ensure_may_sign_in(user: &User, now: i64) -> Result<(), Error> {
    if user.is_banned() {
        return Err(Error::banned());
    }
    if user.is_locked(now) {
        return Err(Error::locked(user.lockout_expires_in_seconds(now)));
    }
    Ok(())
}

/// The password check with lockout. Unknown users pay a dummy verification and get the
/// same answer as a wrong password.
async fn check_password(app: &App, user: Option<&UserRecord>, password: &str) -> Result<(), Error> {
    let Some(record) = user else {
        passwords::dummy(app, password).await?;
        return Err(Error::password_incorrect());
    };
    let user = &record.user;
    ensure_may_sign_in(user, app.now())?;
    let too_long = password.chars().count() > app.config.auth.password.max_length;
    let ok = if too_long {
        false
    } else {
        passwords::verify(app, user, password).await?
    };
    if !ok {
        passwords::record_failure(app, &user.id).await?;
        return Err(Error::password_incorrect());
    }
    passwords::record_success(app, user).await?;
    Ok(())
}

/// Creates the session and marks the attempt complete, atomically.
async fn complete(
    app: &App,
    ctx: &mut ClientCtx,
    a: &mut SignInAttempt,
    user: &UserRecord,
    factors: FactorTimes,
) -> Result<(), Error> {
    let mut batch = Batch::default();
    ctx.store_unstored(app, &mut batch).await?;
    let session = sessions::create_in_tx(app, &mut batch, ctx, &user.user.id, factors).await?;
    a.status = COMPLETE.into();
    a.created_session_id = Some(session.id);
    a.updated_at = app.now();
    app.store.save_completing_sign_in_tx(&mut batch, a).await?;
    match app.store.commit_batch(batch).await {
        Err(StoreError::Unchanged) => {
            // Another request completed it first (a tab polling while a link is opened).
            ctx.new_token = None;
            ctx.auth_changed = false;
            return Err(already_complete());
        }
        committed => committed?,
    }
    ctx.reload(app).await?;
    Ok(())
}

/// Saves an attempt as its client's current sign-in, storing the client first if this
/// request made it (one commit).
async fn save_for_client(app: &App, ctx: &mut ClientCtx, a: &SignInAttempt) -> Result<(), Error> {
    let mut batch = Batch::default();
    ctx.store_unstored(app, &mut batch).await?;
    app.store.save_sign_in_for_client_tx(&mut batch, a).await?;
    app.store.commit_batch(batch).await?;
    Ok(())
}

fn already_complete() -> Error {
    Error::new("sign_in_complete", "This sign-in is already complete.")
}
