//! Social sign-up: `strategy: oauth_<provider>` at `POST /v1/client/sign_ups` starts a
//! trip to the provider; the callback fills the sign-up from the verified account (its
//! email address, verified when the provider verified it, and names) and completes it
//! when nothing else is missing. `transfer: true` takes over the account of a
//! `transferable` social sign-in of the same client instead. The external account is
//! linked in the transaction that creates the user.

use super::{complete_if_ready, ensure_free, STATUS_COMPLETE, STATUS_MISSING};
use crate::app::App;
use crate::config::IdentifierKind;
use crate::domain::clients::ClientCtx;
use crate::domain::identifiers::parse_email;
use crate::domain::model::{
    parse_verification, verification_json, OAuthState, SignUpAttempt, Verification, FAILED,
    VERIFIED,
};
use crate::domain::sessions;
use crate::domain::social::accounts::{self, Resolution};
use crate::domain::social::{self, failed_for, Outcome, StartRequest, VerifiedResult};
use crate::error::Error;

/// Starts the trip for a new sign-up.
pub(super) async fn begin(
    app: &App,
    a: &mut SignUpAttempt,
    strategy: &str,
    redirect_url: Option<&str>,
    action_complete_redirect_url: Option<&str>,
) -> Result<(), Error> {
    let v = social::start(
        app,
        StartRequest {
            flow: social::FLOW_SIGN_UP,
            subject: &a.id,
            client_id: &a.client_id,
            strategy,
            redirect_url,
            action_complete_redirect_url,
            not_after: a.abandon_at,
        },
    )
    .await?;
    a.external_verification = Some(verification_json(&v));
    Ok(())
}

/// Fills the sign-up from a verified account kept on the state `state_id`.
pub(super) async fn apply_external(
    app: &App,
    a: &mut SignUpAttempt,
    state_id: &str,
    r: &VerifiedResult,
) -> Result<(), Error> {
    let strategy = format!("oauth_{}", r.provider);
    let emails_enabled = app
        .config
        .auth
        .identifiers
        .contains(&IdentifierKind::EmailAddress);
    if let (Some(email), true) = (r.profile.email_address.as_deref(), emails_enabled) {
        if let Ok(email) = parse_email(email) {
            ensure_free(app, "email_address", &email.normalized).await?;
            if a.email_address.as_deref() != Some(&email.display) {
                a.email_verification = None;
            }
            a.email_address = Some(email.display);
            if r.profile.email_verified {
                a.email_verification = Some(verification_json(&Verification::new(
                    VERIFIED, &strategy, None,
                )));
            }
        }
    }
    if a.first_name.is_none() {
        a.first_name = r.profile.first_name.clone();
    }
    if a.last_name.is_none() {
        a.last_name = r.profile.last_name.clone();
    }
    let mut v = Verification::new(VERIFIED, &strategy, None);
    v.oauth_state_id = Some(state_id.to_string());
    a.external_verification = Some(verification_json(&v));
    a.updated_at = app.now();
    Ok(())
}

/// The provider vouched for an account; `row` is this trip's state.
pub async fn oauth_verified(
    app: &App,
    ctx: &mut ClientCtx,
    row: &OAuthState,
    result: VerifiedResult,
) -> Result<Outcome, Error> {
    let Some(mut a) = app.store.get_sign_up(&row.subject).await? else {
        return Ok(Outcome::Failed("state_invalid"));
    };
    if a.status != STATUS_MISSING {
        return Ok(Outcome::Failed("sign_up_invalid_state"));
    }
    if a.abandon_at <= app.now() {
        return Ok(Outcome::Expired);
    }
    let current = parse_verification(&a.external_verification)
        .is_some_and(|v| v.oauth_state_id.as_deref() == Some(row.id.as_str()));
    if !current {
        return Ok(Outcome::Failed("state_used"));
    }
    match accounts::resolve(app, &result).await? {
        Resolution::New => {}
        Resolution::Known(_) => return Ok(Outcome::Failed("external_account_exists")),
        Resolution::ByVerifiedEmail(_) => return Ok(Outcome::Failed("identifier_exists")),
        Resolution::EmailTaken { provider_verified } => {
            return Ok(Outcome::Failed(accounts::email_taken_reason(
                provider_verified,
            )))
        }
    }
    if let Err(e) = sessions::ensure_can_sign_in(app, ctx).await {
        return Ok(failed_for(&e));
    }
    social::keep_result(app, &row.id, &result).await?;
    if let Err(e) = apply_external(app, &mut a, &row.id, &result).await {
        return Ok(failed_for(&e));
    }
    app.store.save_sign_up(&a).await?;
    match complete_if_ready(app, ctx, &mut a).await {
        Ok(()) => {}
        Err(e) if e.status() >= 500 => return Err(e),
        Err(e) => return Ok(failed_for(&e)),
    }
    Ok(if a.status == STATUS_COMPLETE {
        Outcome::Complete
    } else {
        Outcome::Continue(STATUS_MISSING)
    })
}

/// Marks this trip's pending verification failed.
pub async fn oauth_failed(app: &App, row: &OAuthState) -> Result<(), Error> {
    let Some(mut a) = app.store.get_sign_up(&row.subject).await? else {
        return Ok(());
    };
    let Some(mut v) = parse_verification(&a.external_verification)
        .filter(|v| v.oauth_state_id.as_deref() == Some(row.id.as_str()))
    else {
        return Ok(());
    };
    if a.status != STATUS_MISSING || v.is_verified() {
        return Ok(());
    }
    v.status = FAILED.into();
    a.external_verification = Some(verification_json(&v));
    a.updated_at = app.now();
    app.store.save_sign_up(&a).await?;
    Ok(())
}

/// The verified external account a sign-up will link when it completes: its state id
/// and what the provider said. Read before the completing transaction begins.
pub(super) async fn pending_account(
    app: &App,
    a: &SignUpAttempt,
) -> Result<Option<(String, VerifiedResult)>, Error> {
    let Some(state_id) = parse_verification(&a.external_verification)
        .filter(Verification::is_verified)
        .and_then(|v| v.oauth_state_id)
    else {
        return Ok(None);
    };
    let result = social::kept_result(app, &state_id).await?.ok_or_else(|| {
        Error::new(
            "verification_failed",
            "The social sign-in can no longer be used.",
        )
    })?;
    Ok(Some((state_id, result)))
}

/// In the transaction creating `user_id`: links the pending external account.
pub(super) async fn link_in_tx(
    app: &App,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    pending: Option<&(String, VerifiedResult)>,
    user_id: &str,
) -> Result<(), Error> {
    if let Some((_, result)) = pending {
        let account = accounts::new_account(app, user_id, result);
        accounts::link_in_tx(app, tx, &account).await?;
    }
    Ok(())
}

/// The verified result has been used: forget the tokens kept on the state.
pub(super) async fn forget(app: &App, state_id: &str) -> Result<(), Error> {
    Ok(app.store.set_oauth_result(state_id, None).await?)
}

/// Whether the sign-up has a verified external account (no password needed then).
pub fn has_external(a: &SignUpAttempt) -> bool {
    parse_verification(&a.external_verification).is_some_and(|v| v.is_verified())
}
