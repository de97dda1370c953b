//! One-time codes: 6 digits from a CSPRNG, stored hashed, valid 10 minutes,
//! single use, 5 attempts, a 30 s resend cooldown per attempt and identifier.

use crate::app::App;
use crate::crypto::digest::{ct_eq, token_hash};
use crate::crypto::{ids, random};
use crate::delivery::{self, CodeEmail};
use crate::domain::model::{Verification, VERIFIED};
use crate::error::Error;
use crate::store::StoredCode;

pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
pub const MAX_ATTEMPTS: i64 = 5;
pub const RESEND_COOLDOWN_MS: i64 = 30 * 1000;

/// The hash stored for a code: bound to what it verifies, so a code for one attempt can
/// never verify another.
fn code_hash(subject: &str, target: &str, code: &str) -> String {
    token_hash(&format!("{subject}\u{0}{target}\u{0}{code}"))
}

/// Where a code is sent, and how.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// By email, with the template for what the code is for.
    Email(&'a str, CodeEmail),
    /// By SMS to an E.164 number.
    Sms(&'a str),
    /// Nowhere: the code is stored, bound to this address or number, and no message is
    /// sent (an identifier that matches no account, under enumeration protection), so
    /// the flow answers exactly as for an account.
    Withheld(&'a str),
}

impl Via<'_> {
    /// The address or number the code is bound to.
    pub fn target(&self) -> &str {
        match self {
            Via::Email(to, _) | Via::Sms(to) | Via::Withheld(to) => to,
        }
    }
}

/// Creates a new code for `subject` (an attempt or identifier id) and queues the message
/// carrying it, in one transaction; returns the code's expiry. Within the resend
/// cooldown for the same subject and target: `rate_limit_exceeded`.
pub async fn send(app: &App, subject: &str, strategy: &str, via: Via<'_>) -> Result<i64, Error> {
    let now = app.now();
    let target = via.target();
    if let Some(previous) = app.store.current_code(subject, strategy).await? {
        let unused_to_target = previous.target == target && previous.consumed_at.is_none();
        check_cooldown(now, previous.created_at, unused_to_target)?;
    }
    let code = random::random_digits(6);
    let expire_at = now + CODE_LIFETIME_MS;
    let mut tx = app.store.begin().await?;
    app.store
        .replace_code(
            &mut tx,
            &StoredCode {
                id: ids::new_id("vcode"),
                subject: subject.into(),
                strategy: strategy.into(),
                target: target.into(),
                code_hash: code_hash(subject, target, &code),
                attempts: 0,
                expire_at,
                consumed_at: None,
                created_at: now,
            },
        )
        .await?;
    let queued = match via {
        Via::Email(to, what) => {
            delivery::enqueue_code_email(app, &mut tx, to, what, &code, expire_at).await?
        }
        Via::Sms(to) => delivery::enqueue_sms(app, &mut tx, to, &code, expire_at).await?,
        Via::Withheld(_) => delivery::Queued::nothing(),
    };
    queued.commit(tx).await?;
    Ok(expire_at)
}

/// The resend cooldown: another code (or link) for the same attempt and target within
/// 30 s of an unused one is `rate_limit_exceeded`, with the seconds left.
pub fn check_cooldown(now: i64, previous_at: i64, unused_to_target: bool) -> Result<(), Error> {
    let wait = previous_at + RESEND_COOLDOWN_MS - now;
    if unused_to_target && wait > 0 {
        return Err(Error::rate_limited((wait as u64).div_ceil(1000)));
    }
    Ok(())
}

/// What a code attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    Verified,
    Incorrect { attempts: i64 },
}

/// Checks a code for `subject` and `target`; a correct code is consumed (once, even under
/// concurrent attempts). Errors: `verification_expired`, `verification_failed` (too many
/// attempts, or no code was sent).
pub async fn attempt(
    app: &App,
    subject: &str,
    strategy: &str,
    target: &str,
    code: &str,
) -> Result<CodeOutcome, Error> {
    let now = app.now();
    let stored = app
        .store
        .current_code(subject, strategy)
        .await?
        .filter(|c| c.target == target)
        .ok_or_else(|| {
            Error::new(
                "verification_failed",
                "No code was sent, or it was already used. Request a new code.",
            )
        })?;
    if stored.consumed_at.is_some() {
        return Err(Error::new(
            "verification_failed",
            "This code was already used. Request a new code.",
        ));
    }
    if now >= stored.expire_at {
        return Err(Error::new(
            "verification_expired",
            "This code has expired. Request a new code.",
        ));
    }
    let attempts = app
        .store
        .count_code_attempt(&stored.id)
        .await?
        .ok_or_else(|| {
            Error::new(
                "verification_failed",
                "This code was already used. Request a new code.",
            )
        })?;
    if attempts > MAX_ATTEMPTS {
        return Err(Error::new(
            "verification_failed",
            "Too many failed attempts. Request a new code.",
        ));
    }
    let given = code_hash(subject, target, code.trim());
    if !ct_eq(given.as_bytes(), stored.code_hash.as_bytes()) {
        return Ok(CodeOutcome::Incorrect { attempts });
    }
    if !app.store.consume_code(&stored.id, now).await? {
        return Err(Error::new(
            "verification_failed",
            "This code was already used. Request a new code.",
        ));
    }
    Ok(CodeOutcome::Verified)
}

pub fn incorrect_error() -> Error {
    Error::new("form_code_incorrect", "Incorrect code.").with_param("code")
}

/// Applies what a code attempt came to onto the verification it belongs to: verified,
/// an incorrect code (`form_code_incorrect`, with the attempts so far), or `expired` /
/// `failed` with the attempt's error.
pub fn record(v: &mut Verification, outcome: Result<CodeOutcome, Error>) -> Result<(), Error> {
    match outcome {
        Ok(CodeOutcome::Verified) => {
            v.status = VERIFIED.into();
            v.attempts += 1;
            Ok(())
        }
        Ok(CodeOutcome::Incorrect { attempts }) => {
            v.attempts = attempts;
            Err(incorrect_error())
        }
        Err(e) => {
            v.status = if e.code == "verification_expired" {
                "expired"
            } else {
                "failed"
            }
            .into();
            Err(e)
        }
    }
}

/// The error for an attempt at a code that was never asked for.
pub fn not_sent() -> Error {
    Error::new(
        "verification_failed",
        "No code was sent. Request a code first.",
    )
}
