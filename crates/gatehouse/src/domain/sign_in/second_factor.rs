//! A code by SMS as the second factor: sent to one of the user's verified phone numbers
//! by `prepare_second_factor`, checked by `attempt_second_factor` under the rules of
//! every code (10 minutes, single use, 5 attempts, 30 s between sends).

use super::factors;
use super::{invalid_state, load_open, verified_user, NEEDS_SECOND_FACTOR};
use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::codes::{self, Via};
use crate::domain::model::{verification_json, Identifier, SignInAttempt, Verification};
use crate::domain::policy::{self, PHONE_CODE};
use crate::domain::rate_limit;
use crate::error::Error;

/// The code's name among the attempt's codes (its first factor may be a `phone_code`).
const SECOND_FACTOR_CODE: &str = "second_factor_phone_code";

/// `POST /v1/client/sign_ins/{id}/prepare_second_factor` with `strategy: phone_code`
/// and optionally `phone_number_id` (default: the primary verified phone number).
pub async fn prepare_second_factor(
    app: &App,
    ctx: &ClientCtx,
    id: &str,
    strategy: &str,
    phone_number_id: Option<&str>,
) -> Result<SignInAttempt, Error> {
    let mut a = load_open(app, ctx, id).await?;
    if a.status != NEEDS_SECOND_FACTOR {
        return Err(invalid_state("a second factor"));
    }
    if strategy != PHONE_CODE {
        return Err(if policy::second_factor_enabled(app, strategy) {
            Error::param_invalid(
                "strategy",
                format!("strategy `{strategy}` needs no preparation: attempt it directly."),
            )
        } else {
            policy::not_enabled(strategy)
        });
    }
    policy::require_second_factor(app, PHONE_CODE)?;
    let user = verified_user(app, &a).await?;
    let offered = factors::second_factors(app, &a, &user);
    let phones: Vec<&Identifier> = offered.iter().filter_map(|f| f.phone).collect();
    let first = phones
        .first()
        .copied()
        .ok_or_else(|| policy::not_for_this_user(PHONE_CODE))?;
    let phone = match phone_number_id {
        None => first,
        Some(wanted) => phones.into_iter().find(|p| p.id == wanted).ok_or_else(|| {
            Error::param_invalid(
                "phone_number_id",
                "phone_number_id is not one of the phone numbers this sign-in offers.",
            )
        })?,
    };
    rate_limit::send(app, &ctx.request.ip, &phone.value).await?;
    let expire_at = codes::send(app, &a.id, SECOND_FACTOR_CODE, Via::Sms(&phone.value)).await?;
    a.second_factor = Some(verification_json(&Verification::sent(
        PHONE_CODE,
        expire_at,
        &phone.value,
        Some(&phone.id),
    )));
    a.updated_at = app.now();
    app.store.save_sign_in(&a).await?;
    Ok(a)
}

/// Checks an SMS second-factor code against the one sent for this attempt, updating
/// `v` (the attempt's second-factor verification).
pub(super) async fn check_phone_code(
    app: &App,
    a: &SignInAttempt,
    v: &mut Verification,
    code: &str,
) -> Result<(), Error> {
    let target = match (&v.target, v.strategy.as_str()) {
        (Some(target), PHONE_CODE) => target.clone(),
        _ => return Err(codes::not_sent()),
    };
    let outcome = codes::attempt(app, &a.id, SECOND_FACTOR_CODE, &target, code).await;
    codes::record(v, outcome)
}
