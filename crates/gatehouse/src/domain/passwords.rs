//! Password checks on the bounded hashing pool: hashing new passwords, verifying stored
//! (possibly imported) digests with a transparent upgrade to argon2id, and paying the same
//! cost for unknown identifiers.

use crate::app::App;
use crate::crypto::password::{self, DigestKind};
use crate::domain::model::User;
use crate::domain::password_policy::PolicyViolation;
use crate::error::Error;

/// Seconds a client is told to wait when the hashing pool is full.
const OVERLOAD_RETRY_SECS: u64 = 1;

fn overloaded() -> Error {
    metrics::counter!("gatehouse_password_hash_rejected_total").increment(1);
    Error::rate_limited(OVERLOAD_RETRY_SECS)
}

/// Answers the overload refusal at once when the hashing pool would refuse a hash now, so
/// that a request bound to be refused stores nothing (no client, no attempt) and costs
/// the admitted ones as little as possible.
pub fn refuse_early_if_overloaded(app: &App) -> Result<(), Error> {
    if app.hashes.refuses_now() {
        return Err(overloaded());
    }
    Ok(())
}

/// Checks the policy and hashes a new password with argon2id.
pub async fn hash_new(
    app: &App,
    password: &str,
    user_inputs: &[&str],
    skip_strength_checks: bool,
) -> Result<String, Error> {
    check_policy(app, password, user_inputs, skip_strength_checks)?;
    let password = password.to_string();
    app.hashes
        .run(move || password::hash_password(&password))
        .await
        .map_err(|_| overloaded())
}

pub fn check_policy(
    app: &App,
    password: &str,
    user_inputs: &[&str],
    skip_strength_checks: bool,
) -> Result<(), Error> {
    app.password_policy
        .check(password, user_inputs, skip_strength_checks)
        .map_err(policy_error)
}

fn policy_error(v: PolicyViolation) -> Error {
    let e = match v {
        PolicyViolation::TooShort { min } => Error::new(
            "form_password_length_too_short",
            format!("Passwords must be {min} characters or more."),
        ),
        PolicyViolation::TooLong { max } => Error::new(
            "form_password_length_too_long",
            format!("Passwords must be {max} characters or fewer."),
        ),
        PolicyViolation::Pwned => Error::new(
            "form_password_pwned",
            "This password has been found in a data breach and can't be used. Please choose another.",
        ),
        PolicyViolation::NotStrongEnough { .. } => Error::new(
            "form_password_not_strong_enough",
            "This password is too easy to guess. Please choose a stronger one.",
        ),
    };
    e.with_param("password")
}

/// Verifies a password against the user's stored digest; an imported digest that
/// matches is replaced by an argon2id one.
pub async fn verify(app: &App, user: &User, password: &str) -> Result<bool, Error> {
    let (Some(digest), hasher) = (user.password_digest.clone(), user.password_hasher.clone())
    else {
        dummy(app, password).await?;
        return Ok(false);
    };
    let kind: DigestKind = hasher
        .as_deref()
        .unwrap_or("argon2id")
        .parse()
        .unwrap_or(DigestKind::Argon2id);
    let candidate = password.to_string();
    let (ok, upgraded) = app
        .hashes
        .run(move || {
            let ok = password::verify_password(&candidate, kind, &digest);
            let upgraded = (ok && password::needs_rehash(kind, &digest))
                .then(|| password::hash_password(&candidate));
            (ok, upgraded.map(|new| (digest, new)))
        })
        .await
        .map_err(|_| overloaded())?;
    if let Some((old, new)) = upgraded {
        app.store
            .replace_password_digest(&user.id, &old, &new)
            .await?;
    }
    Ok(ok)
}

/// Spends what a real verification costs, for identifiers that match no user.
pub async fn dummy(app: &App, password: &str) -> Result<(), Error> {
    let candidate = password.to_string();
    app.hashes
        .run(move || password::dummy_verify(&candidate))
        .await
        .map_err(|_| overloaded())
}

/// A successful factor ends the run of failures. Most users read just before have nothing
/// to reset, and then the write (a round trip to the single writer) is skipped.
pub async fn record_success(app: &App, user: &User) -> Result<(), Error> {
    if user.failed_password_attempts == 0 && user.lockout_until.is_none() {
        return Ok(());
    }
    app.store.record_successful_password(&user.id).await?;
    Ok(())
}

/// Counts a failed factor (password, code) toward the lockout: after
/// `max_failed_attempts` consecutive failures the user is locked for `duration`.
pub async fn record_failure(app: &App, user_id: &str) -> Result<(), Error> {
    let lockout = &app.config.auth.lockout;
    let until = app.now() + lockout.duration.as_millis();
    app.store
        .record_failed_password(user_id, lockout.max_failed_attempts as i64, until)
        .await?;
    Ok(())
}
