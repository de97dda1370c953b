//! `/v1/me/external_accounts`: link another social provider account, or unlink one.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::app::AppRef;
use crate::domain::social::link;
use crate::domain::user_identifiers;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::{Frontend, SignedIn};
use crate::http::render;

#[derive(serde::Deserialize)]
pub struct LinkParams {
    strategy: Option<String>,
    redirect_url: Option<String>,
}

/// `POST /v1/me/external_accounts {strategy, redirect_url}`: the verification whose
/// `external_verification_redirect_url` the browser follows.
pub async fn create(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<LinkParams>,
) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let strategy = p.strategy.as_deref();
        let v = link::begin(&app, &fe.ctx, &me.user, strategy, p.redirect_url.as_deref()).await?;
        let provider = strategy.unwrap_or_default().trim_start_matches("oauth_");
        Ok(render::external_account_link(&app, provider, &v))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

/// `DELETE /v1/me/external_accounts/{id}`: unlink, unless it is the last way to sign in.
pub async fn remove(State(app): State<AppRef>, fe: Frontend, Path(id): Path<String>) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        user_identifiers::remove_external_account(&app, &me.user, &id).await?;
        Ok(serde_json::json!({"object": "external_account", "id": id, "deleted": true}))
    }
    .await;
    finish(&app, fe.ctx, result).await
}
