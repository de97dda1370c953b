//! Frontend API responses: `{"response": ..., "client": ...}` plus the cookies a flow
//! changed (a new `__client`, a fresh `__client_uat`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::error::Error;
use crate::http::{cookies, render};

/// Renders a flow's result (or error) with the client state and cookie updates.
pub async fn finish(app: &App, ctx: ClientCtx, result: Result<Value, Error>) -> Response {
    let mut response = match result {
        Ok(value) => match client_json(app, &ctx).await {
            Ok(client) => (
                StatusCode::OK,
                axum::Json(json!({ "response": value, "client": client })),
            )
                .into_response(),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    };
    apply_cookies(app, &ctx, &mut response).await;
    response
}

/// Sets `__client` (and the `Gatehouse-Client` header) when the value changed, and
/// `__client_uat` when the signed-in state changed.
pub async fn apply_cookies(app: &App, ctx: &ClientCtx, response: &mut Response) {
    let headers = response.headers_mut();
    if let Some(token) = &ctx.new_token {
        cookies::append(headers, cookies::client(&app.config, token));
        if let Ok(v) = HeaderValue::from_str(token) {
            headers.insert("gatehouse-client", v);
        }
    }
    if ctx.auth_changed {
        let uat = ctx.client_uat(app).await.unwrap_or(0);
        cookies::append(headers, cookies::client_uat(&app.config, uat));
        if uat == 0 {
            cookies::append(headers, cookies::clear_session(&app.config));
        }
    }
}

/// The client object: active sessions (with their users), the current sign-in and sign-up.
pub async fn client_json(app: &App, ctx: &ClientCtx) -> Result<Value, Error> {
    let Some(client) = &ctx.client else {
        return Ok(Value::Null);
    };
    let mut sessions = Vec::new();
    for s in ctx.active_sessions(app).await? {
        let user = app
            .store
            .get_user(&s.user_id)
            .await?
            .map(|u| render::user(app, &u, false));
        sessions.push(render::session(app, &s, user));
    }
    let sign_in = match &client.sign_in_id {
        Some(id) => match app.store.get_sign_in(id).await? {
            Some(a) => {
                let user = match &a.user_id {
                    Some(uid) => app.store.get_user(uid).await?,
                    None => None,
                };
                render::sign_in(app, &a, user.as_ref())
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
