use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppRef;
use crate::domain::model::SESSION_ENDED;
use crate::domain::{sessions, tokens};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::{apply_cookies, finish};
use crate::http::extract::Frontend;
use crate::http::{cookies, render};

const ACTIVITY_GRANULARITY_MS: i64 = 60_000;

/// `POST /v1/client/sessions/{sid}/tokens`: the hot path. Two indexed reads (client by
/// cookie hash, session by id) and one signature.
pub async fn mint_token(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(sid): Path<String>,
) -> Response {
    let session = match sessions::active_client_session(&app, &fe.ctx, &sid).await {
        Ok(s) => s,
        Err(e) => {
            // A client whose session ended learns it here: it is signed out.
            fe.ctx.auth_changed = fe.ctx.client.is_some();
            let mut response = e.into_response();
            apply_cookies(&app, &fe.ctx, &mut response).await;
            return response;
        }
    };
    if let Err(e) = tokens::ensure_mintable(&app, &session).await {
        return e.into_response();
    }
    // Token refreshes count as activity, recorded at most once a minute per session so
    // the hot path stays read-only.
    if app.now() - session.last_active_at > ACTIVITY_GRANULARITY_MS {
        if let Err(e) = app.store.touch_session(&session.id, None, app.now()).await {
            return Error::from(e).into_response();
        }
    }
    let jwt = match tokens::mint(&app, &session, fe.ctx.request.origin.as_deref()) {
        Ok(jwt) => jwt,
        Err(e) => return e.into_response(),
    };
    let uat = fe
        .ctx
        .client
        .as_ref()
        .map(|c| c.last_auth_at.unwrap_or(c.created_at) / 1000)
        .unwrap_or(0);
    let mut response = axum::Json(json!({ "object": "token", "jwt": jwt })).into_response();
    let headers = response.headers_mut();
    cookies::append(headers, cookies::session(&app.config, &jwt));
    cookies::append(headers, cookies::client_uat(&app.config, uat));
    response
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
