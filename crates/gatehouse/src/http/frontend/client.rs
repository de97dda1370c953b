use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppRef;
use crate::domain::{sessions, tokens};
use crate::error::Error;
use crate::http::backend::QueryParams;
use crate::http::cookies;
use crate::http::envelope::finish_with_client;
use crate::http::extract::Frontend;

/// `GET /v1/client`: the current client, created (with its cookie) when absent.
pub async fn get_client(State(app): State<AppRef>, mut fe: Frontend) -> Response {
    let result = fe.ctx.ensure(&app).await.map(|_| ());
    finish_with_client(&app, fe.ctx, result).await
}

/// `DELETE /v1/client/sessions`: signs out every session of this client.
pub async fn sign_out_all(State(app): State<AppRef>, mut fe: Frontend) -> Response {
    let result = sessions::sign_out_client(&app, &mut fe.ctx).await;
    finish_with_client(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct HandshakeQuery {
    redirect_url: Option<String>,
}

/// `GET /v1/client/handshake?redirect_url=`: refreshes `__session` for server-rendered
/// apps and redirects back (allowed origins only).
pub async fn handshake(
    State(app): State<AppRef>,
    fe: Frontend,
    // Not axum's `Query`: its rejections are bare text, not the API's error body.
    QueryParams(q): QueryParams<HandshakeQuery>,
) -> Response {
    let Some(target) = q.redirect_url.filter(|u| app.config.redirect_allowed(u)) else {
        return Error::param_invalid(
            "redirect_url",
            "redirect_url must be an absolute URL on an allowed origin.",
        )
        .into_response();
    };
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, target.clone())]).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    let now = app.now();
    let session = match fe
        .ctx
        .client
        .as_ref()
        .and_then(|c| c.last_active_session_id.clone())
    {
        Some(id) => app
            .store
            .get_session(&id)
            .await
            .ok()
            .flatten()
            .filter(|s| s.is_active_at(now, app.inactivity_ms())),
        None => None,
    };
    // A user who must still enroll MFA gets no token (the app should send them to enroll).
    let session = match session {
        Some(s) if tokens::ensure_mintable(&app, &s.user_id).await.is_ok() => Some(s),
        _ => None,
    };
    match (session, fe.ctx.client.as_ref()) {
        (Some(s), Some(client)) => {
            let azp = crate::config::normalize_origin(&target);
            // A token too large for a cookie is logged by `mint`; a redirect has no body
            // to carry the warning.
            match tokens::mint(&app, &s.token_subject(), azp.as_deref()).await {
                Ok(token) => {
                    cookies::append(headers, cookies::session(&app.config, &token.jwt));
                    cookies::append(headers, cookies::client_uat(&app.config, client.uat()));
                }
                Err(e) => return e.into_response(),
            }
        }
        _ => {
            cookies::append(headers, cookies::clear_session(&app.config));
            cookies::append(headers, cookies::client_uat(&app.config, 0));
        }
    }
    response
}
