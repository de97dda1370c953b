//! Linking another provider account from `/v1/me`: `POST /v1/me/external_accounts`
//! starts a trip to the provider for the signed-in user on this client; the callback
//! links the account (whatever its email address: the user is signed in and proved the
//! account is theirs), unless it is linked to someone else.

use super::accounts::{self, Resolution};
use super::{start, Outcome, StartRequest, VerifiedResult, FLOW_LINK};
use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{OAuthState, UserRecord, Verification};
use crate::error::Error;

/// How long a link trip may take at most (the state's own limit is shorter).
const LINK_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// Starts linking `strategy` to `user`, who is signed in on the client of `ctx`.
pub async fn begin(
    app: &App,
    ctx: &ClientCtx,
    user: &UserRecord,
    strategy: Option<&str>,
    redirect_url: Option<&str>,
) -> Result<Verification, Error> {
    let strategy = strategy
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::param_missing("strategy"))?;
    let client = ctx.require()?;
    start(
        app,
        StartRequest {
            flow: FLOW_LINK,
            subject: &user.user.id,
            client_id: &client.id,
            strategy,
            redirect_url,
            action_complete_redirect_url: None,
            not_after: app.now() + LINK_LIFETIME_MS,
        },
    )
    .await
}

/// The provider vouched for an account: link it to the user who asked, if they are
/// still signed in here.
pub async fn verified(
    app: &App,
    ctx: &ClientCtx,
    row: &OAuthState,
    result: VerifiedResult,
) -> Result<Outcome, Error> {
    let signed_in = ctx
        .active_sessions(app)
        .await?
        .iter()
        .any(|s| s.user_id == row.subject);
    if !signed_in {
        return Ok(Outcome::Failed("session_not_found"));
    }
    if app.store.get_user(&row.subject).await?.is_none() {
        return Ok(Outcome::Failed("session_not_found"));
    }
    match accounts::resolve(app, &result).await? {
        Resolution::Known(mut account) if account.user_id == row.subject => {
            accounts::refresh_from(app, &mut account, &result);
            app.store.update_external_account(&account).await?;
        }
        Resolution::Known(_) => return Ok(Outcome::Failed("external_account_exists")),
        _ => {
            let account = accounts::new_account(app, &row.subject, &result);
            match accounts::link(app, &account).await {
                Ok(()) => {}
                Err(e) if e.status() >= 500 => return Err(e),
                Err(e) => return Ok(super::failed_for(&e)),
            }
        }
    }
    Ok(Outcome::Continue("verified"))
}
