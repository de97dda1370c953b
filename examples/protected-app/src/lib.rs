//! An app protected by Gatehouse: a public home page, a page and an API that need a
//! session, and an admin route for users whose custom session claim `role` is `admin`.
//!
//! The whole integration is the [`Verifier`] and the two layers in [`router`].

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_sdk::{require_auth, with_auth, Auth, SignedIn, Verifier};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// Where Gatehouse and this app live.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Gatehouse public URL (the tokens' issuer), e.g. `http://localhost:3000`.
    pub issuer: String,
    /// This app's own public URL, e.g. `http://localhost:4000`.
    pub app_url: String,
}

/// The app's routes, protected by `verifier`.
pub fn router(settings: Settings, verifier: Verifier) -> Router {
    let sign_in = sign_in_url(&settings);
    let pages_and_lax_api = Router::new()
        .route("/", get(home))
        .route(
            "/protected",
            get(move |auth: Auth| protected_page(auth, sign_in.clone())),
        )
        .route(
            "/api/protected",
            get(|auth: Auth| async move { Json(auth) }),
        )
        .route("/admin", get(admin))
        // Lax: every request gets an `Auth`; expired page sessions refresh through the
        // handshake before the handler runs.
        .layer(with_auth(verifier.clone()).handshake(&settings.app_url));
    let strict_api = Router::new()
        .route("/api/strict", get(strict))
        // Strict: 401 before the handler runs.
        .layer(require_auth(verifier));
    pages_and_lax_api.merge(strict_api)
}

async fn home(auth: Auth) -> Html<String> {
    let who = match &auth.user_id {
        Some(user) => {
            format!("Signed in as <code>{user}</code>. <a href=\"/protected\">Protected page</a>")
        }
        None => "Signed out. <a href=\"/protected\">Protected page</a>".to_string(),
    };
    Html(format!(
        "<!doctype html><title>Home</title><h1>Home</h1><p>{who}</p>"
    ))
}

async fn protected_page(auth: Auth, sign_in: String) -> Response {
    match &auth.user_id {
        Some(user) => Html(format!(
            "<!doctype html><title>Protected</title><h1>Protected</h1><p id=\"user\">{user}</p>"
        ))
        .into_response(),
        // A browser that is not signed in goes to the hosted sign-in page and comes back.
        None => Redirect::to(&sign_in).into_response(),
    }
}

async fn strict(SignedIn(auth): SignedIn) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user_id": auth.user_id, "session_id": auth.session_id }))
}

async fn admin(SignedIn(auth): SignedIn) -> Response {
    if auth.has_role("admin") {
        Json(serde_json::json!({ "admin": true, "user_id": auth.user_id })).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"errors": [{
                "code": "authorization_invalid",
                "message": "Not allowed",
                "long_message": "This route needs the admin role.",
                "meta": {}
            }]})),
        )
            .into_response()
    }
}

fn sign_in_url(settings: &Settings) -> String {
    let back = format!("{}/protected", settings.app_url.trim_end_matches('/'));
    format!(
        "{}/sign-in?redirect_url={}",
        settings.issuer.trim_end_matches('/'),
        utf8_percent_encode(&back, NON_ALPHANUMERIC)
    )
}
