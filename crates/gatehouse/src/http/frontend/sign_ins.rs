use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::app::{App, AppRef};
use crate::domain::model::SignInAttempt;
use crate::domain::sign_in::{self, SignInParams};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::Frontend;
use crate::http::render;

async fn render_attempt(app: &App, a: &SignInAttempt) -> Result<Value, Error> {
    let user = match &a.user_id {
        Some(id) => app.store.get_user(id).await?,
        None => None,
    };
    Ok(render::sign_in(app, a, user.as_ref()))
}

pub async fn create(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Body(p): Body<SignInParams>,
) -> Response {
    let result = match sign_in::create(&app, &mut fe.ctx, p).await {
        Ok(a) => render_attempt(&app, &a).await,
        Err(e) => Err(e),
    };
    finish(&app, fe.ctx, result).await
}

pub async fn get_one(State(app): State<AppRef>, fe: Frontend, Path(id): Path<String>) -> Response {
    let result = match sign_in::load(&app, &fe.ctx, &id).await {
        Ok(a) => render_attempt(&app, &a).await,
        Err(e) => Err(e),
    };
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct FactorParams {
    strategy: Option<String>,
    password: Option<String>,
}

pub async fn attempt_first_factor(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<FactorParams>,
) -> Response {
    let result = match p.strategy {
        Some(strategy) => {
            match sign_in::attempt_first_factor(&app, &mut fe.ctx, &id, &strategy, p.password).await
            {
                Ok(a) => render_attempt(&app, &a).await,
                Err(e) => Err(e),
            }
        }
        None => Err(Error::param_missing("strategy")),
    };
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct SecondFactorParams {
    strategy: Option<String>,
    code: Option<String>,
}

pub async fn attempt_second_factor(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<SecondFactorParams>,
) -> Response {
    let result = match (p.strategy, p.code) {
        (Some(strategy), Some(code)) => {
            match sign_in::attempt_second_factor(&app, &mut fe.ctx, &id, &strategy, &code).await {
                Ok(a) => render_attempt(&app, &a).await,
                Err(e) => Err(e),
            }
        }
        (None, _) => Err(Error::param_missing("strategy")),
        (_, None) => Err(Error::param_missing("code")),
    };
    finish(&app, fe.ctx, result).await
}
