//! Magic links as a first factor. Opening the link verifies the attempt's
//! `email_link` factor: in the browser that asked for it (`same_client`) the sign-in
//! goes on there at once; in another one (`other_client`) only the verification is
//! recorded, and the asking browser, polling `GET /v1/client/sign_ins/{id}`, goes on.

use super::{
    after_first_factor, ensure_may_sign_in, load, user_of, verified_user, NEEDS_FIRST_FACTOR,
};
use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{verification_json, SignInAttempt};
use crate::domain::policy::EMAIL_LINK;
use crate::domain::sessions;
use crate::domain::{links, passwords};
use crate::error::Error;
use crate::store::StoredLink;

/// A link of a sign-in was opened (and used up) by the request of `ctx`. Errors mean
/// the sign-in cannot go on (finished, expired, banned...): the link counts as failed.
pub async fn link_opened(app: &App, ctx: &mut ClientCtx, link: &StoredLink) -> Result<(), Error> {
    let now = app.now();
    let gone = || Error::new("verification_failed", "This sign-in can no longer go on.");
    let mut a = app
        .store
        .get_sign_in(&link.subject)
        .await?
        .ok_or_else(gone)?;
    if a.status != NEEDS_FIRST_FACTOR || a.abandon_at <= now {
        return Err(gone());
    }
    let mut v = links::awaiting(&a.first_factor).ok_or_else(gone)?;
    let user = user_of(app, &a).await?.ok_or_else(gone)?;
    let user_id = user.user.id.clone();
    ensure_may_sign_in(&user.user, now)?;
    let same = links::mark_opened(&mut v, ctx, link);
    a.first_factor = Some(verification_json(&v));
    a.first_factor_at = Some(now);
    passwords::record_success(app, &user.user).await?;
    if let Some(identifier) = v.identifier_id.as_deref().and_then(|i| user.identifier(i)) {
        if !identifier.is_verified() {
            app.store
                .mark_identifier_verified(
                    &user_id,
                    &identifier.id,
                    &identifier.kind,
                    EMAIL_LINK,
                    now,
                )
                .await?;
        }
    }
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => "success").increment(1);
    if same {
        sessions::ensure_can_sign_in(app, ctx).await?;
        return after_first_factor(app, ctx, &mut a, &user).await;
    }
    a.updated_at = now;
    app.store.save_sign_in(&a).await?;
    Ok(())
}

/// `GET /v1/client/sign_ins/{id}`: the attempt; one whose link was opened in another
/// browser goes on here (to the second factor, or complete with a session on this
/// client).
pub async fn poll(app: &App, ctx: &mut ClientCtx, id: &str) -> Result<SignInAttempt, Error> {
    let mut a = load(app, ctx, id).await?;
    let verified_elsewhere = links::was_opened(&a.first_factor);
    if a.status != NEEDS_FIRST_FACTOR || a.abandon_at <= app.now() || !verified_elsewhere {
        return Ok(a);
    }
    let user = verified_user(app, &a).await?;
    ensure_may_sign_in(&user.user, app.now())?;
    let finished = match sessions::ensure_can_sign_in(app, ctx).await {
        Ok(()) => after_first_factor(app, ctx, &mut a, &user).await,
        Err(e) => Err(e),
    };
    match finished {
        Ok(()) => Ok(a),
        // Another poll of this client may have finished it first.
        Err(e) => match load(app, ctx, id).await? {
            done if done.status != NEEDS_FIRST_FACTOR => Ok(done),
            _ => Err(e),
        },
    }
}
