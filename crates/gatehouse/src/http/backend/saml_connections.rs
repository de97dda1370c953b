//! `/v1/saml_connections`: enterprise SSO connections.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppRef;
use crate::domain::saml::connections::{self, ConnectionParams};
use crate::error::Result;
use crate::http::body::JsonBody;
use crate::http::extract::Admin;
use crate::http::render;

pub async fn list(_: Admin, State(app): State<AppRef>) -> Result<Json<Value>> {
    let all = connections::list(&app).await?;
    let data: Vec<Value> = all
        .iter()
        .map(|c| render::saml_connection(&app, c))
        .collect();
    Ok(Json(json!({ "data": data, "total_count": data.len() })))
}

pub async fn create(
    _: Admin,
    State(app): State<AppRef>,
    JsonBody(p): JsonBody<ConnectionParams>,
) -> Result<Json<Value>> {
    let c = connections::create(&app, p).await?;
    Ok(Json(render::saml_connection(&app, &c)))
}

pub async fn get_one(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let c = connections::get(&app, &id).await?;
    Ok(Json(render::saml_connection(&app, &c)))
}

pub async fn update(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<ConnectionParams>,
) -> Result<Json<Value>> {
    let c = connections::update(&app, &id, p).await?;
    Ok(Json(render::saml_connection(&app, &c)))
}

pub async fn delete(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    connections::delete(&app, &id).await?;
    Ok(Json(
        json!({ "object": "saml_connection", "id": id, "deleted": true }),
    ))
}
