use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{Page, QueryParams};
use crate::app::AppRef;
use crate::domain::identifiers::parse_email;
use crate::domain::users::{self, CreateUser, MetadataPatch, UpdateUser};
use crate::error::{Error, Result};
use crate::http::body::JsonBody;
use crate::http::extract::Admin;
use crate::http::render;
use crate::store::UserQuery;

#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    query: Option<String>,
    email_address: Option<String>,
    username: Option<String>,
    user_id: Option<String>,
    order_by: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

pub async fn list(
    _: Admin,
    State(app): State<AppRef>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>> {
    let (limit, offset) = Page::new(q.limit, q.offset).resolve()?;
    let order = q.order_by.as_deref().unwrap_or("-created_at");
    let (newest_first, field) = match order.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, order.strip_prefix('+').unwrap_or(order)),
    };
    let order_column = match field {
        "created_at" => "created_at",
        "updated_at" => "updated_at",
        "last_sign_in_at" => "last_sign_in_at",
        "last_active_at" => "last_active_at",
        "username" => "username_normalized",
        _ => return Err(Error::param_invalid("order_by", "order_by must be one of created_at, updated_at, last_sign_in_at, last_active_at, username, optionally prefixed with - or +.")),
    };
    let split = |v: &Option<String>| -> Vec<String> {
        v.as_deref()
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let emails = split(&q.email_address)
        .iter()
        .map(|e| {
            parse_email(e)
                .map(|p| p.normalized)
                .map_err(|e| e.with_param("email_address"))
        })
        .collect::<Result<Vec<_>>>()?;
    let query = UserQuery {
        query: q.query.clone(),
        email_addresses: emails,
        usernames: split(&q.username),
        user_ids: split(&q.user_id),
        newest_first,
        order_column,
        limit,
        offset,
    };
    let (records, total) = app.store.list_users(&query).await?;
    let data: Vec<Value> = records
        .iter()
        .map(|r| render::user(&app, r, true))
        .collect();
    Ok(Json(json!({ "data": data, "total_count": total })))
}

pub async fn create(
    _: Admin,
    State(app): State<AppRef>,
    JsonBody(p): JsonBody<CreateUser>,
) -> Result<Json<Value>> {
    let user = users::create(&app, p).await?;
    Ok(Json(render::user(&app, &user, true)))
}

pub async fn get_one(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let user = users::get(&app, &id).await?;
    Ok(Json(render::user(&app, &user, true)))
}

pub async fn update(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<UpdateUser>,
) -> Result<Json<Value>> {
    let user = users::update(&app, &id, p, true).await?;
    Ok(Json(render::user(&app, &user, true)))
}

pub async fn delete(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    users::delete(&app, &id).await?;
    Ok(Json(json!({ "object": "user", "id": id, "deleted": true })))
}

pub async fn merge_metadata(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<MetadataPatch>,
) -> Result<Json<Value>> {
    let user = users::merge_metadata(&app, &id, p).await?;
    Ok(Json(render::user(&app, &user, true)))
}

pub async fn ban(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(render::user(
        &app,
        &users::set_banned(&app, &id, true).await?,
        true,
    )))
}

pub async fn unban(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(render::user(
        &app,
        &users::set_banned(&app, &id, false).await?,
        true,
    )))
}

pub async fn lock(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(render::user(
        &app,
        &users::set_locked(&app, &id, true).await?,
        true,
    )))
}

pub async fn unlock(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(render::user(
        &app,
        &users::set_locked(&app, &id, false).await?,
        true,
    )))
}

#[derive(serde::Deserialize)]
pub struct VerifyPassword {
    password: Option<String>,
}

pub async fn verify_password(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<VerifyPassword>,
) -> Result<Json<Value>> {
    let password = p.password.ok_or_else(|| Error::param_missing("password"))?;
    let verified = users::verify_password(&app, &id, &password).await?;
    Ok(Json(json!({ "verified": verified })))
}

pub async fn delete_mfa(
    _: Admin,
    State(app): State<AppRef>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    users::get(&app, &id).await?;
    app.store.delete_mfa(&id, app.now()).await?;
    Ok(Json(render::user(
        &app,
        &users::get(&app, &id).await?,
        true,
    )))
}
