//! `/v1/jwt_templates`: the templates tokens can be minted from.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{Page, QueryParams};
use crate::app::AppRef;
use crate::domain::jwt_templates::{self, CreateTemplate, UpdateTemplate};
use crate::error::Result;
use crate::http::body::JsonBody;
use crate::http::extract::Admin;
use crate::http::render;

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

pub async fn list(
    _: Admin,
    State(app): State<AppRef>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>> {
    let (limit, offset) = Page::new(q.limit, q.offset).resolve()?;
    let (rows, total) = app.store.list_jwt_templates(limit, offset).await?;
    let data: Vec<Value> = rows.iter().map(|t| render::jwt_template(&app, t)).collect();
    Ok(Json(json!({ "data": data, "total_count": total })))
}

pub async fn create(
    _: Admin,
    State(app): State<AppRef>,
    JsonBody(p): JsonBody<CreateTemplate>,
) -> Result<Json<Value>> {
    let t = jwt_templates::create(&app, p).await?;
    Ok(Json(render::jwt_template(&app, &t)))
}

pub async fn get_one(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let t = jwt_templates::get(&app, &id).await?;
    Ok(Json(render::jwt_template(&app, &t)))
}

pub async fn update(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<UpdateTemplate>,
) -> Result<Json<Value>> {
    let t = jwt_templates::update(&app, &id, p).await?;
    Ok(Json(render::jwt_template(&app, &t)))
}

pub async fn delete(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    jwt_templates::delete(&app, &id).await?;
    Ok(Json(
        json!({ "object": "jwt_template", "id": id, "deleted": true }),
    ))
}
