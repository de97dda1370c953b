//! CORS for the Frontend API (`/v1/...`), so that `gatehouse.js` on an app's own origin
//! can call it with the browser's cookies: credentialed requests from `allowed_origins`
//! only (never `*`); other origins get no CORS headers. The Origin rule of mutations
//! (`extract.rs`) still applies to each call.
//!
//! A small middleware rather than tower-http's `CorsLayer`: it must see requests before
//! routing (a preflight's `OPTIONS` matches no route method) and only for `/v1/` paths.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppRef;
use crate::config::normalize_origin;

pub async fn frontend_cors(State(app): State<AppRef>, req: Request, next: Next) -> Response {
    let origin = req
        .uri()
        .path()
        .starts_with("/v1/")
        .then(|| req.headers().get(ORIGIN))
        .flatten()
        .and_then(|o| o.to_str().ok())
        .and_then(normalize_origin)
        .filter(|o| app.config.allowed_origins.contains(o))
        .and_then(|o| HeaderValue::from_str(&o).ok());
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, DELETE"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, authorization"),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        r
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("gatehouse-client"),
    );
    h.append(VARY, HeaderValue::from_static("origin"));
    response
}
