//! The factors a sign-in offers.
//!
//! Without enumeration protection they come from the account: the password when it has
//! one; `email_code` and `email_link` for each email address it signs in with (the one
//! typed first), `phone_code` for each phone number; `reset_password_email_code` for
//! each email address when passwords are enabled. Each names its address
//! (`safe_identifier`, masked) and id (`email_address_id` or `phone_number_id`).
//!
//! Under `protect_against_enumeration` they come from what was typed alone, so an
//! account cannot be told from none: the password; for an email address `email_code`,
//! `email_link` and `reset_password_email_code`; for a phone number `phone_code`; for a
//! username nothing more. They name no address and no id: a code or link goes to the
//! address typed (and nowhere, when it has no account).

use serde_json::{json, Value};

use super::{NEEDS_IDENTIFIER, NEEDS_SECOND_FACTOR};
use crate::app::App;
use crate::domain::identifiers::{guess_kind, mask, IdentifierGuess};
use crate::domain::mfa;
use crate::domain::model::{
    parse_verification, Identifier, SignInAttempt, UserRecord, KIND_EMAIL, KIND_PHONE,
};
use crate::domain::policy::{
    self, EMAIL_CODE, EMAIL_LINK, PASSWORD, PHONE_CODE, RESET_PASSWORD_EMAIL_CODE,
};
use crate::error::Error;

/// Where a code or link of a first factor goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `email_address` or `phone_number`.
    pub kind: &'static str,
    /// The address or number.
    pub value: String,
    /// The account's identifier, when there is an account.
    pub id: Option<String>,
    /// Whether the sign-in object shows the address (masked) and the id.
    pub shown: bool,
}

/// One first factor on offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstFactor {
    pub strategy: &'static str,
    pub target: Option<Target>,
}

/// The first factors an attempt offers (none before it has an identifier).
pub fn first_factors(app: &App, a: &SignInAttempt, user: Option<&UserRecord>) -> Vec<FirstFactor> {
    if a.status == NEEDS_IDENTIFIER {
        return Vec::new();
    }
    let enabled = |s: &str| policy::first_factor_enabled(app, s);
    let mut factors = Vec::new();
    let with = |strategy, target: &Target| FirstFactor {
        strategy,
        target: Some(target.clone()),
    };
    if app.config.auth.protect_against_enumeration {
        if enabled(PASSWORD) {
            factors.push(FirstFactor {
                strategy: PASSWORD,
                target: None,
            });
        }
        let typed = a.identifier.as_deref().unwrap_or("");
        let strategies: &[&'static str] = match guess_kind(typed) {
            IdentifierGuess::Email => &[EMAIL_CODE, EMAIL_LINK, RESET_PASSWORD_EMAIL_CODE],
            IdentifierGuess::Phone => &[PHONE_CODE],
            IdentifierGuess::Username => &[],
        };
        for &strategy in strategies.iter().filter(|s| enabled(s)) {
            factors.push(with(strategy, &typed_target(typed, user)));
        }
        return factors;
    }
    let Some(user) = user else {
        return factors;
    };
    if enabled(PASSWORD) && user.user.password_enabled() {
        factors.push(FirstFactor {
            strategy: PASSWORD,
            target: None,
        });
    }
    let typed = a.identifier.as_deref().unwrap_or("");
    let mut usable: Vec<&Identifier> = user
        .identifiers
        .iter()
        .filter(|i| user.signs_in_with(i))
        .collect();
    usable.sort_by_key(|i| i.value_normalized != typed);
    let target = |i: &Identifier| Target {
        kind: if i.kind == KIND_PHONE {
            KIND_PHONE
        } else {
            KIND_EMAIL
        },
        value: i.value.clone(),
        id: Some(i.id.clone()),
        shown: true,
    };
    let emails = || usable.iter().filter(|i| i.kind == KIND_EMAIL);
    for strategy in [EMAIL_CODE, EMAIL_LINK].into_iter().filter(|s| enabled(s)) {
        factors.extend(emails().map(|i| with(strategy, &target(i))));
    }
    if enabled(PHONE_CODE) {
        let phones = usable.iter().filter(|i| i.kind == KIND_PHONE);
        factors.extend(phones.map(|i| with(PHONE_CODE, &target(i))));
    }
    if enabled(RESET_PASSWORD_EMAIL_CODE) {
        factors.extend(emails().map(|i| with(RESET_PASSWORD_EMAIL_CODE, &target(i))));
    }
    factors
}

/// Under protection: the address typed, and the account's identifier for it if any.
fn typed_target(typed: &str, user: Option<&UserRecord>) -> Target {
    let kind = if guess_kind(typed) == IdentifierGuess::Phone {
        KIND_PHONE
    } else {
        KIND_EMAIL
    };
    let own = user.and_then(|u| {
        u.identifiers
            .iter()
            .find(|i| i.kind == kind && i.value_normalized == typed)
    });
    Target {
        kind,
        value: own.map_or_else(|| typed.to_string(), |i| i.value.clone()),
        id: own.map(|i| i.id.clone()),
        shown: false,
    }
}

/// The parameter that picks the address of a strategy's factor.
pub fn id_param(strategy: &str) -> &'static str {
    if strategy == PHONE_CODE {
        "phone_number_id"
    } else {
        "email_address_id"
    }
}

/// The target of `strategy` with the id `wanted` (or the first one offered when none is
/// given). A strategy not offered is `strategy_for_user_invalid`; an id not offered is
/// `form_param_format_invalid`. Ids given under protection, where none are shown, are
/// ignored.
pub fn choose(
    factors: &[FirstFactor],
    strategy: &str,
    wanted: Option<&str>,
) -> Result<Target, Error> {
    let mut offered = factors
        .iter()
        .filter(|f| f.strategy == strategy)
        .filter_map(|f| f.target.as_ref());
    let first = offered
        .clone()
        .next()
        .ok_or_else(|| policy::not_for_this_user(strategy))?;
    match wanted {
        Some(wanted) if first.shown => offered
            .find(|t| t.id.as_deref() == Some(wanted))
            .cloned()
            .ok_or_else(|| {
                let param = id_param(strategy);
                Error::param_invalid(
                    param,
                    format!(
                        "{param} is not one of the addresses this sign-in offers {strategy} for."
                    ),
                )
            }),
        _ => Ok(first.clone()),
    }
}

/// `supported_first_factors` as the API shows them.
pub fn supported_first_factors(
    app: &App,
    a: &SignInAttempt,
    user: Option<&UserRecord>,
) -> Vec<Value> {
    first_factors(app, a, user)
        .iter()
        .map(|f| {
            let mut v = json!({ "strategy": f.strategy });
            if let Some(t) = f.target.as_ref().filter(|t| t.shown) {
                v["safe_identifier"] = json!(mask(t.kind, &t.value));
                v[format!("{}_id", t.kind)] = json!(t.id);
            }
            v
        })
        .collect()
}

/// One second factor on offer.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactor<'a> {
    pub strategy: &'static str,
    /// The phone number of a `phone_code`.
    pub phone: Option<&'a Identifier>,
}

/// The second factors the user can answer with: TOTP, backup codes while unused ones
/// remain, and a code by SMS to each verified phone number — unless the first factor
/// was already a code by SMS, which a second one would not add to.
pub fn second_factors<'a>(
    app: &App,
    a: &SignInAttempt,
    user: &'a UserRecord,
) -> Vec<SecondFactor<'a>> {
    let enabled = |s: &str| policy::second_factor_enabled(app, s);
    let mut factors = Vec::new();
    if user.user.totp_enabled() && enabled("totp") {
        factors.push(SecondFactor {
            strategy: "totp",
            phone: None,
        });
    }
    if user.user.backup_code_enabled() && enabled("backup_code") {
        factors.push(SecondFactor {
            strategy: "backup_code",
            phone: None,
        });
    }
    let first_by_sms =
        parse_verification(&a.first_factor).is_some_and(|v| v.strategy == PHONE_CODE);
    if !first_by_sms {
        factors.extend(
            mfa::second_factor_phones(app, user)
                .into_iter()
                .map(|p| SecondFactor {
                    strategy: PHONE_CODE,
                    phone: Some(p),
                }),
        );
    }
    factors
}

/// Whether the sign-in goes on to a second factor after the first.
pub fn has_second_factor(app: &App, a: &SignInAttempt, user: &UserRecord) -> bool {
    !second_factors(app, a, user).is_empty()
}

/// `supported_second_factors` as the API shows them (once the first factor is verified).
pub fn supported_second_factors(
    app: &App,
    a: &SignInAttempt,
    user: Option<&UserRecord>,
) -> Vec<Value> {
    let Some(user) = user.filter(|_| a.status == NEEDS_SECOND_FACTOR) else {
        return Vec::new();
    };
    second_factors(app, a, user)
        .iter()
        .map(|f| match f.phone {
            Some(p) => json!({
                "strategy": f.strategy,
                "safe_identifier": mask(KIND_PHONE, &p.value),
                "phone_number_id": p.id,
            }),
            None => json!({ "strategy": f.strategy }),
        })
        .collect()
}
