use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::app::AppRef;
use crate::domain::sessions;
use crate::domain::users::{self, UpdateUser};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::{Frontend, SignedIn};
use crate::http::render;

pub async fn get_me(State(app): State<AppRef>, fe: Frontend) -> Response {
    let result = SignedIn::from_frontend(&app, &fe)
        .await
        .map(|s| render::user(&app, &s.user, false));
    finish(&app, fe.ctx, result).await
}

pub async fn update_me(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<UpdateUser>,
) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let user = users::update(&app, &me.user.user.id, p, false).await?;
        Ok(render::user(&app, &user, false))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn delete_me(State(app): State<AppRef>, mut fe: Frontend) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        users::delete(&app, &me.user.user.id).await?;
        sessions::after_client_sessions_changed(&app, &mut fe.ctx, &me.session.client_id).await?;
        Ok(serde_json::json!({"object": "user", "id": me.user.user.id, "deleted": true}))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct ChangePassword {
    current_password: Option<String>,
    new_password: Option<String>,
    #[serde(default)]
    sign_out_of_other_sessions: bool,
}

pub async fn change_password(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<ChangePassword>,
) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let new = p
            .new_password
            .as_deref()
            .ok_or_else(|| Error::param_missing("new_password"))?;
        let user = users::change_password(
            &app,
            &me.user.user.id,
            &me.session.id,
            p.current_password.as_deref(),
            new,
            p.sign_out_of_other_sessions,
        )
        .await?;
        Ok(render::user(&app, &user, false))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

/// `GET /v1/me/sessions`: the user's active sessions on every device.
pub async fn list_sessions(State(app): State<AppRef>, fe: Frontend) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let now = app.now();
        let list: Vec<Value> = app
            .store
            .user_sessions(&me.user.user.id)
            .await?
            .iter()
            .filter(|s| s.is_active_at(now, app.inactivity_ms()))
            .map(|s| render::session(&app, s, None))
            .collect();
        Ok(Value::Array(list))
    }
    .await;
    finish(&app, fe.ctx, result).await
}

/// `POST /v1/me/sessions/{id}/revoke`: signs another device out.
pub async fn revoke_session(
    State(app): State<AppRef>,
    mut fe: Frontend,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let me = SignedIn::enrolled(&app, &fe).await?;
        let target = sessions::revoke_user_session(&app, &mut fe.ctx, &me.session, &id).await?;
        Ok(render::session(&app, &target, None))
    }
    .await;
    finish(&app, fe.ctx, result).await
}
