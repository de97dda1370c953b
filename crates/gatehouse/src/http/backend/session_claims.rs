//! `/v1/session_claims`: the custom claims of every session token.

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use crate::app::AppRef;
use crate::domain::session_claims;
use crate::error::Result;
use crate::http::body::JsonBody;
use crate::http::extract::Admin;
use crate::http::render;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetClaims {
    claims: Option<Value>,
}

/// The claims in effect: `source` is `config` (`[session] claims`) or `api`.
pub async fn get(_: Admin, State(app): State<AppRef>) -> Json<Value> {
    Json(render::session_claims(&app.session_claims.in_effect()))
}

/// Replaces them; stored claims win over `[session] claims` in every process.
pub async fn put(
    _: Admin,
    State(app): State<AppRef>,
    JsonBody(p): JsonBody<SetClaims>,
) -> Result<Json<Value>> {
    let in_effect = session_claims::set(&app, p.claims).await?;
    Ok(Json(render::session_claims(&in_effect)))
}

/// Removes the stored claims: `[session] claims` applies again.
pub async fn delete(_: Admin, State(app): State<AppRef>) -> Result<Json<Value>> {
    let in_effect = session_claims::reset(&app).await?;
    Ok(Json(render::session_claims(&in_effect)))
}
