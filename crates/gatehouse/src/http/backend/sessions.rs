use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{Page, QueryParams};
use crate::app::AppRef;
use crate::domain::model::{Session, SESSION_REVOKED};
use crate::domain::tokens;
use crate::error::{Error, Result};
use crate::http::extract::Admin;
use crate::http::render;
use crate::store::SessionQuery;

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    user_id: Option<String>,
    client_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

pub async fn list(
    _: Admin,
    State(app): State<AppRef>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>> {
    let (limit, offset) = Page::new(q.limit, q.offset).resolve()?;
    const STATUSES: [&str; 6] = [
        "active",
        "ended",
        "expired",
        "abandoned",
        "removed",
        "revoked",
    ];
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(Error::param_invalid(
                "status",
                format!("status must be one of {}.", STATUSES.join(", ")),
            ));
        }
    }
    // Expired and abandoned are derived from time: filter on the stored `active` rows.
    let derived = matches!(
        q.status.as_deref(),
        Some("active" | "expired" | "abandoned")
    );
    let query = SessionQuery {
        user_id: q.user_id.clone(),
        client_id: q.client_id.clone(),
        status: if derived {
            Some("active".into())
        } else {
            q.status.clone()
        },
        limit: if derived { i64::MAX / 2 } else { limit },
        offset: if derived { 0 } else { offset },
    };
    let (sessions, total) = app.store.list_sessions(&query).await?;
    let rendered: Vec<Value> = sessions
        .iter()
        .map(|s| render::session(&app, s, None))
        .collect();
    if derived {
        let wanted = q.status.as_deref().unwrap_or("active");
        let matching: Vec<Value> = rendered
            .into_iter()
            .filter(|s| s["status"] == wanted)
            .collect();
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        return Ok(Json(json!({ "data": page, "total_count": total })));
    }
    Ok(Json(json!({ "data": rendered, "total_count": total })))
}

pub async fn get_one(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let s = app
        .store
        .get_session(&id)
        .await?
        .ok_or_else(|| Error::not_found("session"))?;
    Ok(Json(render::session(&app, &s, None)))
}

pub async fn revoke(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let s = app
        .store
        .get_session(&id)
        .await?
        .ok_or_else(|| Error::not_found("session"))?;
    app.store
        .end_session(&s.id, SESSION_REVOKED, app.now())
        .await?;
    let s = app
        .store
        .get_session(&id)
        .await?
        .ok_or_else(|| Error::not_found("session"))?;
    Ok(Json(render::session(&app, &s, None)))
}

pub async fn mint_token(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Response> {
    let s = active_session(&app, &id).await?;
    let token = tokens::mint(&app, &s.token_subject(), None).await?;
    Ok(token_response(render::token(&token.jwt, &token.warnings)))
}

/// `POST /v1/sessions/{id}/tokens/{template}`: a token from the JWT template named
/// `template`.
pub async fn mint_template_token(
    _: Admin,
    State(app): State<AppRef>,
    Path((id, template)): Path<(String, String)>,
) -> Result<Response> {
    let s = active_session(&app, &id).await?;
    let jwt = tokens::mint_from_template(&app, &template, &s.token_subject(), None).await?;
    Ok(token_response(render::token(&jwt, &[])))
}

async fn active_session(app: &AppRef, id: &str) -> Result<Session> {
    let s = app
        .store
        .get_session(id)
        .await?
        .ok_or_else(|| Error::not_found("session"))?;
    if !s.is_active_at(app.now(), app.inactivity_ms()) {
        return Err(Error::new(
            "session_not_active",
            "The session is not active.",
        ));
    }
    Ok(s)
}

fn token_response(body: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}
