use axum::extract::{Path, State};
use axum::response::Response;

use crate::app::AppRef;
use crate::domain::sign_up::{self, SignUpParams};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::Frontend;
use crate::http::render;

pub async fn create(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Body(p): Body<SignUpParams>,
) -> Response {
    let result = sign_up::create(&app, &mut fe.ctx, p)
        .await
        .map(|a| render::sign_up(&app, &a));
    finish(&app, fe.ctx, result).await
}

/// `GET /v1/client/sign_ups/{id}`; polling it completes a sign-up whose magic link was
/// opened in another browser.
pub async fn get_one(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
) -> Response {
    let result = sign_up::poll(&app, &mut fe.ctx, &id)
        .await
        .map(|a| render::sign_up(&app, &a));
    finish(&app, fe.ctx, result).await
}

pub async fn update(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<SignUpParams>,
) -> Response {
    let result = sign_up::update(&app, &mut fe.ctx, &id, p)
        .await
        .map(|a| render::sign_up(&app, &a));
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct StrategyParams {
    strategy: Option<String>,
    code: Option<String>,
    redirect_url: Option<String>,
}

pub async fn prepare_verification(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<StrategyParams>,
) -> Response {
    let redirect_url = p.redirect_url.as_deref();
    let result = match p.strategy {
        Some(strategy) => {
            sign_up::prepare_verification(&app, &fe.ctx, &id, &strategy, redirect_url)
                .await
                .map(|a| render::sign_up(&app, &a))
        }
        None => Err(Error::param_missing("strategy")),
    };
    finish(&app, fe.ctx, result).await
}

pub async fn attempt_verification(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<StrategyParams>,
) -> Response {
    let result = match (p.strategy, p.code) {
        (Some(strategy), Some(code)) => {
            sign_up::attempt_verification(&app, &mut fe.ctx, &id, &strategy, &code)
                .await
                .map(|a| render::sign_up(&app, &a))
        }
        (None, _) => Err(Error::param_missing("strategy")),
        (_, None) => Err(Error::param_missing("code")),
    };
    finish(&app, fe.ctx, result).await
}
