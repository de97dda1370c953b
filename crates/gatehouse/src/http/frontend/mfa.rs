//! `/v1/me/totp`, `/v1/me/backup_codes` and `/v1/me/reverify`.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::app::AppRef;
use crate::domain::mfa;
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::{Frontend, SignedIn};

#[derive(serde::Deserialize)]
pub struct CodeParams {
    code: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct PasswordParams {
    password: Option<String>,
}

pub async fn start_totp(State(app): State<AppRef>, fe: Frontend) -> Response {
    let result = async {
        let me = SignedIn::from_frontend(&app, &fe).await?;
        let e = mfa::start_enrollment(&app, &me.session, &me.user).await?;
        Ok(json!({
            "object": "totp",
            "id": format!("totp_{}", me.user.user.id.trim_start_matches("user_")),
            "secret": e.secret,
            "uri": e.uri,
            "qr_svg": e.qr_svg,
            "verified": false,
        }))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn verify_totp(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<CodeParams>,
) -> Response {
    let result = async {
        let me = SignedIn::from_frontend(&app, &fe).await?;
        let code = p.code.ok_or_else(|| Error::param_missing("code"))?;
        let codes = mfa::confirm_enrollment(&app, &me.session, &me.user.user, &code).await?;
        Ok(json!({ "object": "totp", "verified": true, "backup_codes": codes }))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn delete_totp(State(app): State<AppRef>, fe: Frontend) -> Response {
    let result = async {
        let me = SignedIn::from_frontend(&app, &fe).await?;
        mfa::disable(&app, &me.session, &me.user.user).await?;
        Ok(json!({ "object": "totp", "deleted": true }))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn regenerate_backup_codes(State(app): State<AppRef>, fe: Frontend) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let codes = mfa::regenerate_backup_codes(&app, &me.session, &me.user.user).await?;
        Ok(json!({ "object": "backup_code", "codes": codes }))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn reverify(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<PasswordParams>,
) -> Response {
    let result = async {
        let me = SignedIn::from_frontend(&app, &fe).await?;
        let password = p.password.ok_or_else(|| Error::param_missing("password"))?;
        mfa::reverify(&app, &me.session, &me.user.user, &password).await?;
        let session = app
            .store
            .get_session(&me.session.id)
            .await?
            .ok_or_else(Error::unauthenticated)?;
        Ok(crate::http::render::session(&app, &session, None))
    }
    .await;
    finish(&app, fe.ctx, result).await
}
