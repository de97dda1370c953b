use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::app::{App, AppRef};
use crate::domain::model::SignInAttempt;
use crate::domain::sign_in::{self, FactorSecret, PrepareParams, SignInParams};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::Frontend;
use crate::http::render;

pub(crate) async fn render_attempt(app: &App, a: &SignInAttempt) -> Result<Value, Error> {
    let user = match &a.user_id {
        Some(id) => app.store.get_user(id).await?,
        None => None,
    };
    Ok(render::sign_in(app, a, user.as_ref()))
}

/// Renders a flow's attempt, or passes its error on.
async fn rendered(app: &App, result: Result<SignInAttempt, Error>) -> Result<Value, Error> {
    match result {
        Ok(a) => render_attempt(app, &a).await,
        Err(e) => Err(e),
    }
}

pub async fn create(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Body(p): Body<SignInParams>,
) -> Response {
    let result = rendered(&app, sign_in::create(&app, &mut fe.ctx, p).await).await;
    finish(&app, fe.ctx, result).await
}

/// `GET /v1/client/sign_ins/{id}`; polling it finishes a sign-in whose magic link was
/// opened in another browser.
pub async fn get_one(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
) -> Response {
    let result = rendered(&app, sign_in::poll(&app, &mut fe.ctx, &id).await).await;
    finish(&app, fe.ctx, result).await
}

pub async fn prepare_first_factor(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<PrepareParams>,
) -> Response {
    let result = sign_in::prepare_first_factor(&app, &fe.ctx, &id, p).await;
    let result = rendered(&app, result).await;
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct FactorParams {
    strategy: Option<String>,
    password: Option<String>,
    code: Option<String>,
}

pub async fn attempt_first_factor(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<FactorParams>,
) -> Response {
    let result = match p.strategy {
        Some(strategy) => {
            let secret = FactorSecret {
                password: p.password,
                code: p.code,
            };
            let attempt =
                sign_in::attempt_first_factor(&app, &mut fe.ctx, &id, &strategy, secret).await;
            rendered(&app, attempt).await
        }
        None => Err(Error::param_missing("strategy")),
    };
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct ResetPasswordParams {
    password: Option<String>,
    #[serde(default)]
    sign_out_of_other_sessions: bool,
}

pub async fn reset_password(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<ResetPasswordParams>,
) -> Response {
    let others = p.sign_out_of_other_sessions;
    let password = p.password.as_deref();
    let result = sign_in::reset_password(&app, &mut fe.ctx, &id, password, others).await;
    let result = rendered(&app, result).await;
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct SecondFactorParams {
    strategy: Option<String>,
    code: Option<String>,
    phone_number_id: Option<String>,
}

pub async fn prepare_second_factor(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<SecondFactorParams>,
) -> Response {
    let result = match p.strategy {
        Some(strategy) => {
            let phone = p.phone_number_id.as_deref();
            let attempt =
                sign_in::prepare_second_factor(&app, &fe.ctx, &id, &strategy, phone).await;
            rendered(&app, attempt).await
        }
        None => Err(Error::param_missing("strategy")),
    };
    finish(&app, fe.ctx, result).await
}

pub async fn attempt_second_factor(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<SecondFactorParams>,
) -> Response {
    let result = match (p.strategy, p.code) {
        (Some(strategy), Some(code)) => {
            let attempt =
                sign_in::attempt_second_factor(&app, &mut fe.ctx, &id, &strategy, &code).await;
            rendered(&app, attempt).await
        }
        (None, _) => Err(Error::param_missing("strategy")),
        (_, None) => Err(Error::param_missing("code")),
    };
    finish(&app, fe.ctx, result).await
}
