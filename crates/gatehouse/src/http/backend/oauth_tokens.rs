//! `GET /v1/users/{id}/oauth_access_tokens/{provider}`: the user's provider access
//! tokens (refreshed when expired), for a backend calling the provider's API for them.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppRef;
use crate::domain::social::accounts;
use crate::domain::users;
use crate::error::Result;
use crate::http::extract::Admin;

pub async fn list(
    _: Admin,
    State(app): State<AppRef>,
    Path((id, provider)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let user = users::get(&app, &id).await?;
    let tokens = accounts::access_tokens(&app, &user, &provider).await?;
    let data: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({
                "object": "oauth_access_token",
                "external_account_id": t.account.id,
                "provider": format!("oauth_{}", t.account.provider),
                "provider_user_id": t.account.provider_user_id,
                "token": t.token,
                "expires_at": t.expires_at,
                "scopes": t.account.scopes.as_deref().map(|s| s.split([' ', ',']).filter(|s| !s.is_empty()).collect::<Vec<_>>()),
            })
        })
        .collect();
    Ok(Json(json!({"total_count": data.len(), "data": data})))
}
