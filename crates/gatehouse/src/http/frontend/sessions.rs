use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::app::AppRef;
use crate::crypto::digest::token_hash;
use crate::domain::model::{Client, TokenSubject, SESSION_ENDED};
use crate::domain::{sessions, tokens};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::{apply_cookies, finish};
use crate::http::extract::{Frontend, FrontendRequest};
use crate::http::{cookies, render};
use crate::store::TokenSession;

const ACTIVITY_GRANULARITY_MS: i64 = 60_000;

/// Which token a mint request asks for.
enum Wanted {
    Session,
    /// A JWT template's, by name.
    Template(String),
}

/// `POST /v1/client/sessions/{sid}/tokens`: the hot path. One indexed read (the session
/// joined to the client holding the request's token) and one signature; anything else
/// (no client, another client's session, an ended session) takes the general path, which
/// answers with the right error and cookies.
pub async fn mint_token(
    State(app): State<AppRef>,
    req: FrontendRequest,
    Path(sid): Path<String>,
) -> Response {
    mint(&app, req, &sid, &Wanted::Session).await
}

/// `POST /v1/client/sessions/{sid}/tokens/{template}`: a token from a JWT template, for
/// a session found as for session tokens.
pub async fn mint_template_token(
    State(app): State<AppRef>,
    req: FrontendRequest,
    Path((sid, template)): Path<(String, String)>,
) -> Response {
    mint(&app, req, &sid, &Wanted::Template(template)).await
}

async fn mint(app: &AppRef, req: FrontendRequest, sid: &str, wanted: &Wanted) -> Response {
    if let Some(found) = active_session_of_token(app, &req, sid).await {
        return match found {
            Ok(ts) => {
                let subject = ts.token_subject();
                let origin = req.request.origin.as_deref();
                respond_with_token(
                    app,
                    &subject,
                    ts.last_active_at,
                    ts.client_uat(),
                    origin,
                    wanted,
                )
                .await
            }
            Err(e) => e.into_response(),
        };
    }
    let mut fe = match req.load(app).await {
        Ok(fe) => fe,
        Err(e) => return e.into_response(),
    };
    match sessions::active_client_session(app, &fe.ctx, sid).await {
        Ok(session) => {
            let uat = fe.ctx.client.as_ref().map(Client::uat).unwrap_or(0);
            let subject = session.token_subject();
            let origin = fe.ctx.request.origin.as_deref();
            respond_with_token(app, &subject, session.last_active_at, uat, origin, wanted).await
        }
        Err(e) => {
            // A client whose session ended learns it here: it is signed out.
            fe.ctx.auth_changed = fe.ctx.client.is_some();
            let mut response = e.into_response();
            apply_cookies(app, &fe.ctx, &mut response).await;
            response
        }
    }
}

/// The session `sid` if the request's client token holds it and it is active now; `None`
/// sends the request down the general path.
async fn active_session_of_token(
    app: &AppRef,
    req: &FrontendRequest,
    sid: &str,
) -> Option<Result<TokenSession, Error>> {
    let token = req.client_token.as_deref()?;
    if token.is_empty() || token.len() > 256 {
        return None;
    }
    match app.store.token_session(sid, &token_hash(token)).await {
        Ok(Some(ts)) if ts.is_active_at(app.now(), app.inactivity_ms()) => Some(Ok(ts)),
        Ok(_) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// Signs the wanted token for an active session and sets `__client_uat` (and, for a
/// session token, `__session`).
async fn respond_with_token(
    app: &AppRef,
    subject: &TokenSubject<'_>,
    last_active_at: i64,
    client_uat: i64,
    origin: Option<&str>,
    wanted: &Wanted,
) -> Response {
    if let Err(e) = tokens::ensure_mintable(app, subject.user_id).await {
        return e.into_response();
    }
    // Token refreshes count as activity, recorded at most once a minute per session so
    // the hot path stays read-only.
    if app.now() - last_active_at > ACTIVITY_GRANULARITY_MS {
        if let Err(e) = app
            .store
            .touch_session(subject.session_id, None, app.now())
            .await
        {
            return Error::from(e).into_response();
        }
    }
    let mut headers = HeaderMap::new();
    let body = match wanted {
        Wanted::Session => match tokens::mint(app, subject, origin).await {
            Ok(token) => {
                cookies::append(&mut headers, cookies::session(&app.config, &token.jwt));
                render::token(&token.jwt, &token.warnings)
            }
            Err(e) => return e.into_response(),
        },
        Wanted::Template(name) => {
            match tokens::mint_from_template(app, name, subject, origin).await {
                Ok(jwt) => render::token(&jwt, &[]),
                Err(e) => return e.into_response(),
            }
        }
    };
    cookies::append(&mut headers, cookies::client_uat(&app.config, client_uat));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (headers, body).into_response()
}

#[derive(serde::Deserialize)]
pub struct TouchParams {
    #[allow(dead_code)]
    active_organization_id: Option<String>,
}

/// `POST /v1/client/sessions/{sid}/touch`: marks the session active now.
pub async fn touch(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(sid): Path<String>,
    Body(_p): Body<TouchParams>,
) -> Response {
    let result = async {
        let session = sessions::active_client_session(&app, &fe.ctx, &sid).await?;
        let activity = serde_json::to_string(&fe.ctx.request.activity()).ok();
        app.store
            .touch_session(&session.id, activity.as_deref(), app.now())
            .await?;
        let session = app
            .store
            .get_session(&session.id)
            .await?
            .ok_or_else(|| Error::not_found("session"))?;
        Ok(render::session(&app, &session, None))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

/// `POST /v1/client/sessions/{sid}/end`: signs out one session of this client.
pub async fn end(State(app): State<AppRef>, mut fe: Frontend, Path(sid): Path<String>) -> Response {
    let result = async {
        let session = sessions::active_client_session(&app, &fe.ctx, &sid).await?;
        sessions::end(&app, &mut fe.ctx, &session, SESSION_ENDED).await?;
        let session = app
            .store
            .get_session(&session.id)
            .await?
            .ok_or_else(|| Error::not_found("session"))?;
        Ok(render::session(&app, &session, None))
    }
    .await;
    finish(&app, fe.ctx, result).await
}
