use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppRef;

/// `GET /v1/environment`: what a sign-in UI needs to know about this instance.
pub async fn get_environment(State(app): State<AppRef>) -> Json<Value> {
    let c = &app.config;
    let p = &c.auth.password;
    Json(json!({
        "response": {
            "object": "environment",
            "id": app.instance_id,
            "display_config": {
                "application_name": c.application_name,
                "home_url": c.public_url,
                "sign_in_url": format!("{}/sign-in", c.public_url),
                "sign_up_url": format!("{}/sign-up", c.public_url),
                "user_profile_url": format!("{}/user", c.public_url),
            },
            "auth_config": {
                "identifiers": c.auth.identifiers,
                "first_factors": crate::domain::policy::first_factors(&app),
                "second_factors": crate::domain::policy::second_factors(&app),
                "sign_up_mode": c.auth.sign_up,
                "verify_email_at_sign_up": c.auth.verify_email_at_sign_up,
                "verify_phone_at_sign_up": c.auth.verify_phone_at_sign_up,
                "single_session_mode": !c.session.multi_session,
                "social_providers": app.oauth.iter().map(|p| json!({
                    "strategy": p.strategy(),
                    "provider": p.name,
                    "name": p.display_name,
                })).collect::<Vec<_>>(),
                "password_settings": {
                    "min_length": p.min_length,
                    "max_length": p.max_length,
                    "min_zxcvbn_strength": p.min_strength,
                    "reject_breached": p.reject_breached,
                },
            },
        },
        "client": null,
    }))
}
