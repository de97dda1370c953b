//! `POST /v1/client/sign_ins/{id}/reset_password`: after a `reset_password_email_code`
//! was verified (`needs_new_password`), sets the new password and goes on like any
//! first factor (to the second factor, or complete).

use super::{after_first_factor, invalid_state, load_open, verified_user, NEEDS_NEW_PASSWORD};
use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{SignInAttempt, SESSION_REVOKED};
use crate::domain::users;
use crate::error::Error;

/// Sets the new password (checked against the password policy). With
/// `sign_out_of_other_sessions`, every session the user had is revoked first.
pub async fn reset_password(
    app: &App,
    ctx: &mut ClientCtx,
    id: &str,
    password: Option<&str>,
    sign_out_of_other_sessions: bool,
) -> Result<SignInAttempt, Error> {
    let password = password.ok_or_else(|| Error::param_missing("password"))?;
    let mut a = load_open(app, ctx, id).await?;
    if a.status != NEEDS_NEW_PASSWORD {
        return Err(invalid_state("a new password"));
    }
    let user = verified_user(app, &a).await?;
    let user_id = user.user.id.clone();
    if user.user.is_banned() {
        return Err(Error::banned());
    }
    users::set_password(app, &user, password).await?;
    if sign_out_of_other_sessions {
        app.store
            .end_user_sessions(&user_id, SESSION_REVOKED, None, app.now())
            .await?;
    }
    after_first_factor(app, ctx, &mut a, &user).await?;
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
    Ok(a)
}
