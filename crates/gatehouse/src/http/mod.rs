//! The two HTTP listeners. Handlers are thin: parse, call `domain`, render.

pub mod backend;
pub mod body;
pub mod client_ip;
pub mod cookies;
mod cors;
pub mod envelope;
mod error;
pub mod extract;
pub mod frontend;
mod middleware;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod render;
pub mod well_known;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

use crate::app::AppRef;
use crate::error::Error;

/// Everything the public listener serves.
pub fn public_router(app: AppRef) -> Router {
    let limit = app.config.limits.max_body_bytes;
    let router = Router::new()
        .merge(frontend::router())
        .merge(pages::router(app.clone()))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(well_known::openid_configuration),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(openapi::public_document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(|req, next| {
            middleware::observe("public", req, next)
        }))
        .with_state(app.clone());
    // Before routing: a preflight's OPTIONS matches no route's method.
    let router =
        Router::new()
            .fallback_service(router)
            .layer(axum::middleware::from_fn_with_state(
                app.clone(),
                cors::frontend_cors,
            ));
    middleware::wrap(router, app.config.limits.max_concurrent_requests, true)
}

/// Everything the admin listener serves.
pub fn admin_router(app: AppRef) -> Router {
    let limit = app.config.limits.max_body_bytes;
    let router = Router::new()
        .merge(backend::router())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::admin_document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(|req, next| {
            middleware::observe("admin", req, next)
        }))
        .with_state(app.clone());
    middleware::wrap(router, app.config.limits.max_concurrent_requests, false)
}

async fn not_found() -> Error {
    Error::not_found("resource")
}

async fn method_not_allowed() -> Error {
    Error::new(
        "method_not_allowed",
        "This method is not allowed on this resource.",
    )
}
