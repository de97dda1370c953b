//! Creating, ending and checking sessions.

use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::{ids, random};
use crate::domain::clients::ClientCtx;
use crate::domain::model::{
    Session, TokenSubject, SESSION_ACTIVE, SESSION_ENDED, SESSION_REMOVED, SESSION_REVOKED,
};
use crate::error::Error;
use crate::store::Writes;

/// How the user proved who they are, for `fva`.
#[derive(Debug, Clone, Copy)]
pub struct FactorTimes {
    pub first: i64,
    pub second: Option<i64>,
}

/// Creates an active session for `user_id` on the request's client inside `tx`, rotates
/// the client's cookie value (no session fixation) and records the sign-in time.
pub async fn create_in_tx(
    app: &App,
    tx: &mut impl Writes,
    ctx: &mut ClientCtx,
    user_id: &str,
    factors: FactorTimes,
) -> Result<Session, Error> {
    let client = ctx.require()?.clone();
    let now = app.now();
    let session = Session {
        id: ids::new_id("sess"),
        client_id: client.id.clone(),
        user_id: user_id.to_string(),
        status: SESSION_ACTIVE.into(),
        first_factor_at: factors.first,
        second_factor_at: factors.second,
        last_active_at: now,
        expire_at: now + app.config.session.lifetime.as_millis(),
        ended_at: None,
        last_active_organization_id: None,
        actor: None,
        latest_activity: serde_json::to_string(&ctx.request.activity())
            .unwrap_or_else(|_| "{}".into()),
        created_at: now,
        updated_at: now,
    };
    app.store.insert_session(tx, &session).await?;
    let token = random::random_token();
    app.store
        .client_signed_in(tx, &client.id, &token_hash(&token), &session.id, now)
        .await?;
    app.store.touch_user_sign_in(tx, user_id, now).await?;
    ctx.new_token = Some(token);
    ctx.auth_changed = true;
    metrics::counter!("gatehouse_sessions_created_total").increment(1);
    Ok(session)
}

/// Refuses a new sign-in on a single-session client that already has one.
pub async fn ensure_can_sign_in(app: &App, ctx: &ClientCtx) -> Result<(), Error> {
    if !app.config.session.multi_session && !ctx.active_sessions(app).await?.is_empty() {
        return Err(Error::new("session_exists", "You're already signed in."));
    }
    Ok(())
}

/// A session of the request's client that is active now, or 404/401.
pub async fn active_client_session(
    app: &App,
    ctx: &ClientCtx,
    session_id: &str,
) -> Result<Session, Error> {
    let client = ctx.require()?;
    let session = app.store.get_session(session_id).await?;
    match session {
        Some(s) if s.client_id == client.id => {
            if s.is_active_at(app.now(), app.inactivity_ms()) {
                Ok(s)
            } else {
                Err(Error::unauthenticated().with_long("The session is no longer active."))
            }
        }
        _ => Err(Error::new("session_not_found", "Session not found.").with_param("session_id")),
    }
}

/// Ends one session and moves the client's active session along.
pub async fn end(
    app: &App,
    ctx: &mut ClientCtx,
    session: &Session,
    status: &str,
) -> Result<(), Error> {
    let now = app.now();
    app.store.end_session(&session.id, status, now).await?;
    after_client_sessions_changed(app, ctx, &session.client_id).await
}

/// Signs out every session of the request's client (`DELETE /v1/client/sessions`, the
/// sign-out page).
pub async fn sign_out_client(app: &App, ctx: &mut ClientCtx) -> Result<(), Error> {
    let client_id = ctx.require()?.id.clone();
    app.store
        .end_client_sessions(&client_id, SESSION_ENDED, app.now())
        .await?;
    after_client_sessions_changed(app, ctx, &client_id).await
}

/// Revokes one of the user's sessions (`POST /v1/me/sessions/{id}/revoke`, the device
/// list): `removed` when it is the current one, else `revoked`. Another user's session
/// is not found.
pub async fn revoke_user_session(
    app: &App,
    ctx: &mut ClientCtx,
    current: &Session,
    target_id: &str,
) -> Result<Session, Error> {
    let target = app
        .store
        .get_session(target_id)
        .await?
        .filter(|s| s.user_id == current.user_id)
        .ok_or_else(|| Error::not_found("session"))?;
    let status = if target.id == current.id {
        SESSION_REMOVED
    } else {
        SESSION_REVOKED
    };
    app.store.end_session(&target.id, status, app.now()).await?;
    after_client_sessions_changed(app, ctx, &target.client_id).await?;
    app.store
        .get_session(target_id)
        .await?
        .ok_or_else(|| Error::not_found("session"))
}

/// Signs the user out on every device: their other sessions are revoked, this one ends.
pub async fn sign_out_everywhere(
    app: &App,
    ctx: &mut ClientCtx,
    current: &Session,
) -> Result<(), Error> {
    let now = app.now();
    app.store
        .end_user_sessions(&current.user_id, SESSION_REVOKED, Some(&current.id), now)
        .await?;
    app.store
        .end_session(&current.id, SESSION_ENDED, now)
        .await?;
    after_client_sessions_changed(app, ctx, &current.client_id).await
}

/// After sessions of a client ended: point `last_active_session_id` at a remaining one.
pub async fn after_client_sessions_changed(
    app: &App,
    ctx: &mut ClientCtx,
    client_id: &str,
) -> Result<(), Error> {
    let now = app.now();
    let inactivity = app.inactivity_ms();
    let remaining = app.store.client_sessions(client_id).await?;
    let next = remaining
        .iter()
        .rev()
        .find(|s| s.is_active_at(now, inactivity))
        .map(|s| s.id.clone());
    app.store
        .set_client_active_session(client_id, next.as_deref(), now)
        .await?;
    if ctx.client.as_ref().is_some_and(|c| c.id == client_id) {
        ctx.auth_changed = true;
        ctx.reload(app).await?;
    }
    Ok(())
}

/// Minutes since the first and second factor, `-1` when there was none.
pub fn factor_ages(subject: &TokenSubject<'_>, now: i64) -> [i64; 2] {
    let minutes = |t: i64| ((now - t).max(0)) / 60_000;
    [
        minutes(subject.first_factor_at),
        subject.second_factor_at.map(minutes).unwrap_or(-1),
    ]
}
