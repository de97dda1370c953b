//! Frontend API responses: `{"response": ..., "client": ...}` plus the cookies a flow
//! changed (a new `__client`, a fresh `__client_uat`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::model::{Session, UserRecord};
use crate::error::Error;
use crate::http::{cookies, render};

/// Renders a flow's result (or error) with the client state and cookie updates.
pub async fn finish(app: &App, ctx: ClientCtx, result: Result<Value, Error>) -> Response {
    respond(app, &ctx, result.map(Some)).await
}

/// Renders a response that is the client object itself (`{"response": client, "client":
/// client}`), built once.
pub async fn finish_with_client(app: &App, ctx: ClientCtx, result: Result<(), Error>) -> Response {
    respond(app, &ctx, result.map(|()| None)).await
}

/// `Ok(None)` answers with the client object as the response.
async fn respond(app: &App, ctx: &ClientCtx, result: Result<Option<Value>, Error>) -> Response {
    // The client's active sessions, read once for the body and for `__client_uat`.
    let sessions = if result.is_ok() || ctx.auth_changed {
        ctx.active_sessions(app).await
    } else {
        Ok(Vec::new())
    };
    let uat = sessions.as_ref().map_or(0, |s| ctx.uat_with(s));
    let mut response = match (result, sessions) {
        (Ok(value), Ok(sessions)) => match client_json(app, ctx, &sessions).await {
            Ok(client) => {
                let value = value.unwrap_or_else(|| client.clone());
                (
                    StatusCode::OK,
                    axum::Json(json!({ "response": value, "client": client })),
                )
                    .into_response()
            }
            Err(e) => e.into_response(),
        },
        (Ok(_), Err(e)) | (Err(e), _) => e.into_response(),
    };
    set_cookies(app, ctx, uat, &mut response);
    response
}

/// Sets `__client` (and the `Gatehouse-Client` header) when the value changed, and
/// `__client_uat` when the signed-in state changed.
pub async fn apply_cookies(app: &App, ctx: &ClientCtx, response: &mut Response) {
    let uat = if ctx.auth_changed {
        ctx.client_uat(app).await.unwrap_or(0)
    } else {
        0
    };
    set_cookies(app, ctx, uat, response);
}

/// [`apply_cookies`] with `__client_uat` already known.
fn set_cookies(app: &App, ctx: &ClientCtx, uat: i64, response: &mut Response) {
    let headers = response.headers_mut();
    if let Some(token) = &ctx.new_token {
        cookies::append(headers, cookies::client(&app.config, token));
        if let Ok(v) = HeaderValue::from_str(token) {
            headers.insert("gatehouse-client", v);
        }
    }
    if ctx.auth_changed {
        cookies::append(headers, cookies::client_uat(&app.config, uat));
        if uat == 0 {
            cookies::append(headers, cookies::clear_session(&app.config));
        }
    }
}

/// The client object: its `active` sessions (with their users), the current sign-in and
/// sign-up.
async fn client_json(app: &App, ctx: &ClientCtx, active: &[Session]) -> Result<Value, Error> {
    let Some(client) = &ctx.client else {
        return Ok(Value::Null);
    };
    let mut users = UsersRead::default();
    let mut sessions = Vec::new();
    for s in active {
        let user = users
            .get(app, &s.user_id)
            .await?
            .map(|u| render::user(app, u, false));
        sessions.push(render::session(app, s, user));
    }
    let sign_in = match &client.sign_in_id {
        Some(id) => match app.store.get_sign_in(id).await? {
            Some(a) => {
                let user = match &a.user_id {
                    Some(uid) => users.get(app, uid).await?,
                    None => None,
                };
                render::sign_in(app, &a, user)
            }
            None => Value::Null,
        },
        None => Value::Null,
    };
    let sign_up = match &client.sign_up_id {
        Some(id) => app
            .store
            .get_sign_up(id)
            .await?
            .map(|a| render::sign_up(app, &a))
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let active_ids: Vec<&str> = sessions.iter().filter_map(|s| s["id"].as_str()).collect();
    let last_active = client
        .last_active_session_id
        .as_deref()
        .filter(|id| active_ids.contains(id));
    Ok(json!({
        "object": "client",
        "id": client.id,
        "sessions": sessions,
        "last_active_session_id": last_active,
        "sign_in": sign_in,
        "sign_up": sign_up,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    }))
}

/// The users one client object shows, each read once: a signed-in client's session and
/// its sign-in are usually the same user.
#[derive(Default)]
struct UsersRead {
    read: Vec<(String, Option<UserRecord>)>,
}

impl UsersRead {
    async fn get(&mut self, app: &App, id: &str) -> Result<Option<&UserRecord>, Error> {
        let at = match self.read.iter().position(|(read_id, _)| read_id == id) {
            Some(at) => at,
            None => {
                let user = app.store.get_user(id).await?;
                self.read.push((id.to_owned(), user));
                self.read.len() - 1
            }
        };
        Ok(self.read[at].1.as_ref())
    }
}
