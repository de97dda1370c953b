//! CORS for the Frontend API, so that `gatehouse.js` on an app's own origin can call it
//! with the browser's cookies: credentialed requests from the `allowed_origins` only
//! (never `*`). The Origin rule of mutations (`extract.rs`) still applies to each call.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{normalize_origin, Config};

pub fn layer(config: &Config) -> CorsLayer {
    let allowed = config.allowed_origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .ok()
                .and_then(normalize_origin)
                .is_some_and(|o| allowed.contains(&o))
        }))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION])
        .expose_headers([HeaderName::from_static("gatehouse-client")])
        .max_age(std::time::Duration::from_secs(600))
}
