//! The email addresses and phone numbers of a signed-in user (`/v1/me/email_addresses`,
//! `/v1/me/phone_numbers`): add one (unverified: it signs nobody in until verified),
//! verify it with a code (`email_code`, `phone_code`; the first verified one of its kind
//! becomes primary when there is none), and remove one — never the one whose removal
//! would leave no way to sign in. Making one primary is `PATCH /v1/me`.

use crate::app::App;
use crate::config::IdentifierKind;
use crate::crypto::ids;
use crate::delivery::CodeEmail;
use crate::domain::codes::{self, Via};
use crate::domain::identifiers::{parse_email, parse_phone, Normalized};
use crate::domain::model::{
    parse_verification, verification_json, Identifier, Session, UserRecord, Verification,
    KIND_EMAIL, KIND_PHONE,
};
use crate::domain::policy::{self, EMAIL_CODE, EMAIL_LINK, PASSWORD, PHONE_CODE};
use crate::domain::{mfa, rate_limit};
use crate::error::Error;
use crate::store::{NewIdentifier, StoreError};

/// Identifiers of one kind a user may hold.
pub const MAX_PER_KIND: usize = 10;

/// Email addresses or phone numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email,
    Phone,
}

impl Kind {
    /// `email_address` or `phone_number`: the object, the field and the body parameter.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => KIND_EMAIL,
            Kind::Phone => KIND_PHONE,
        }
    }

    /// The strategy that verifies one.
    fn strategy(self) -> &'static str {
        match self {
            Kind::Email => EMAIL_CODE,
            Kind::Phone => PHONE_CODE,
        }
    }

    fn parse(self, value: &str) -> Result<Normalized, Error> {
        match self {
            Kind::Email => parse_email(value),
            Kind::Phone => parse_phone(value),
        }
    }

    /// Email addresses when they are an identifier; phone numbers when they are an
    /// identifier or `phone_code` is a second factor.
    pub fn allowed(self, app: &App) -> bool {
        let identifiers = &app.config.auth.identifiers;
        match self {
            Kind::Email => identifiers.contains(&IdentifierKind::EmailAddress),
            Kind::Phone => {
                identifiers.contains(&IdentifierKind::PhoneNumber)
                    || policy::second_factor_enabled(app, PHONE_CODE)
            }
        }
    }

    /// Whether adding and verifying one is how a user enrolls a second factor (so it
    /// stays open to users who must still enroll under `require_mfa`).
    pub fn enrolls_second_factor(self, app: &App) -> bool {
        self == Kind::Phone && policy::second_factor_enabled(app, PHONE_CODE)
    }
}

/// Adds an unverified identifier to the user; returns its id.
pub async fn add(
    app: &App,
    user: &UserRecord,
    kind: Kind,
    value: Option<&str>,
) -> Result<String, Error> {
    let param = kind.name();
    if !kind.allowed(app) {
        return Err(Error::new(
            "form_param_unknown",
            format!("{param} is not enabled on this instance."),
        )
        .with_param(param));
    }
    let parsed = kind.parse(value.ok_or_else(|| Error::param_missing(param))?)?;
    let held = user.identifiers.iter().filter(|i| i.kind == param).count();
    if held >= MAX_PER_KIND {
        return Err(Error::new(
            "identifier_limit_reached",
            format!("An account holds at most {MAX_PER_KIND} of these. Remove one first."),
        )
        .with_param(param));
    }
    let new = NewIdentifier {
        id: ids::new_id("idn"),
        kind: param,
        value: parsed.display,
        normalized: parsed.normalized,
        verified: false,
        strategy: None,
    };
    match app
        .store
        .add_identifier(&user.user.id, &new, app.now())
        .await
    {
        Ok(()) => Ok(new.id),
        Err(StoreError::Conflict) => Err(Error::identifier_exists(param)),
        Err(e) => Err(e.into()),
    }
}

/// The user's identifier `id` of this kind, or `404`.
fn find<'a>(user: &'a UserRecord, kind: Kind, id: &str) -> Result<&'a Identifier, Error> {
    user.identifier(id)
        .filter(|i| i.kind == kind.name())
        .ok_or_else(|| Error::not_found(kind.name()))
}

/// One that is verified already cannot be verified again.
fn unverified<'a>(user: &'a UserRecord, kind: Kind, id: &str) -> Result<&'a Identifier, Error> {
    let i = find(user, kind, id)?;
    if i.is_verified() {
        return Err(Error::new(
            "identifier_already_verified",
            format!(
                "This {} is verified already.",
                kind.name().replace('_', " ")
            ),
        ));
    }
    Ok(i)
}

/// Sends a verification code (`strategy` defaults to the kind's one).
pub async fn prepare_verification(
    app: &App,
    ip: &str,
    user: &UserRecord,
    kind: Kind,
    id: &str,
    strategy: Option<&str>,
) -> Result<(), Error> {
    let i = unverified(user, kind, id)?;
    let strategy = strategy.unwrap_or(kind.strategy());
    if strategy != kind.strategy() {
        return Err(Error::param_invalid(
            "strategy",
            format!("strategy must be {}.", kind.strategy()),
        ));
    }
    rate_limit::send(app, ip, &i.value).await?;
    let via = match kind {
        Kind::Email => Via::Email(&i.value, CodeEmail::Verification),
        Kind::Phone => Via::Sms(&i.value),
    };
    let expire_at = codes::send(app, &i.id, strategy, via).await?;
    let sent = Verification::sent(strategy, expire_at, &i.value, Some(&i.id));
    app.store
        .set_identifier_verification(&i.id, &verification_json(&sent), app.now())
        .await?;
    Ok(())
}

/// Checks the code; a right one verifies the identifier.
pub async fn attempt_verification(
    app: &App,
    ip: &str,
    user: &UserRecord,
    kind: Kind,
    id: &str,
    code: Option<&str>,
) -> Result<(), Error> {
    let code = code.ok_or_else(|| Error::param_missing("code"))?;
    let i = unverified(user, kind, id)?;
    let strategy = kind.strategy();
    let mut v = parse_verification(&i.verification)
        .filter(|v| v.strategy == strategy)
        .ok_or_else(codes::not_sent)?;
    rate_limit::factor_attempt(app, ip, Some(&i.value_normalized)).await?;
    let outcome = codes::attempt(app, &i.id, strategy, &i.value, code).await;
    let result = codes::record(&mut v, outcome);
    let now = app.now();
    match result {
        Ok(()) => {
            app.store
                .mark_identifier_verified(&user.user.id, &i.id, &i.kind, strategy, now)
                .await?
        }
        Err(_) => {
            app.store
                .set_identifier_verification(&i.id, &verification_json(&v), now)
                .await?
        }
    }
    result
}

/// Removes an identifier, unless it is the last way to sign in. Removing a phone number
/// that serves as a second factor needs a recent first factor, like removing TOTP.
pub async fn remove(
    app: &App,
    session: &Session,
    user: &UserRecord,
    kind: Kind,
    id: &str,
) -> Result<(), Error> {
    let i = find(user, kind, id)?;
    ensure_not_last(app, user, &i.id)?;
    if mfa::second_factor_phones(app, user)
        .iter()
        .any(|p| p.id == i.id)
    {
        mfa::require_recent_first_factor(app, session)?;
    }
    let next_primary = user
        .is_primary(i)
        .then(|| {
            user.identifiers
                .iter()
                .find(|o| o.kind == i.kind && o.id != i.id && o.is_verified())
        })
        .flatten()
        .map(|o| o.id.as_str());
    app.store
        .remove_identifier(&user.user.id, &i.id, &i.kind, next_primary, app.now())
        .await?;
    Ok(())
}

/// Unlinks an external account (`DELETE /v1/me/external_accounts/{id}`), unless it is
/// the last way to sign in.
pub async fn remove_external_account(app: &App, user: &UserRecord, id: &str) -> Result<(), Error> {
    if !user.external_accounts.iter().any(|a| a.id == id) {
        return Err(Error::not_found("external_account"));
    }
    ensure_not_last(app, user, id)?;
    if !app.store.delete_external_account(&user.user.id, id).await? {
        return Err(Error::not_found("external_account"));
    }
    Ok(())
}

/// `cannot_remove_last_identifier` when removing the identifier or external account
/// `id` would leave the user no way to sign in.
fn ensure_not_last(app: &App, user: &UserRecord, id: &str) -> Result<(), Error> {
    if can_sign_in(app, user, None) && !can_sign_in(app, user, Some(id)) {
        return Err(Error::new(
            "cannot_remove_last_identifier",
            "This is the only way left to sign in to this account.",
        )
        .with_long("Add and verify another email address or phone number, link another account or set a password before removing this one."));
    }
    Ok(())
}

/// Whether the user has a way to sign in without the identifier or external account
/// `without`: the password with a username or any identifier that names them, a code or
/// link to an email address or phone number they sign in with, or a linked account at a
/// configured social provider — each only where this instance enables it.
fn can_sign_in(app: &App, user: &UserRecord, without: Option<&str>) -> bool {
    let kinds = &app.config.auth.identifiers;
    let names = |i: &&Identifier| {
        let kind = if i.kind == KIND_PHONE {
            IdentifierKind::PhoneNumber
        } else {
            IdentifierKind::EmailAddress
        };
        Some(i.id.as_str()) != without && user.signs_in_with(i) && kinds.contains(&kind)
    };
    let remaining: Vec<&Identifier> = user.identifiers.iter().filter(names).collect();
    let enabled = |s: &str| policy::first_factor_enabled(app, s);
    let by_username = user.user.username.is_some() && kinds.contains(&IdentifierKind::Username);
    let by_password =
        enabled(PASSWORD) && user.user.password_enabled() && (by_username || !remaining.is_empty());
    let by_email = (enabled(EMAIL_CODE) || enabled(EMAIL_LINK))
        && remaining.iter().any(|i| i.kind == KIND_EMAIL);
    let by_phone = enabled(PHONE_CODE) && remaining.iter().any(|i| i.kind == KIND_PHONE);
    let by_provider = user
        .external_accounts
        .iter()
        .any(|a| Some(a.id.as_str()) != without && app.oauth.get(&a.provider).is_some());
    by_password || by_email || by_phone || by_provider
}
