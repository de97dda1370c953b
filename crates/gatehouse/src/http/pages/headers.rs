//! The security headers of every page response: a Content-Security-Policy without
//! inline script (the one inline style, the theme colour, is allowed by its hash),
//! no framing, no referrer beyond this origin (`no-referrer` would make browsers send
//! `Origin: null` on the forms' own posts), no MIME sniffing, and `Cache-Control: no-store` — every page
//! carries a CSRF token or account data.

use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppRef;
use crate::config::{normalize_origin, Config};
use crate::crypto::digest::sha256_base64;

use super::layout::theme_css;

pub async fn page_headers(State(app): State<AppRef>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&policy(&app.config)) {
        h.insert(CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The policy: scripts and styles from this origin only (plus the theme's hash), images
/// also from the logo's origin, forms posting here and redirecting to allowed origins.
pub fn policy(config: &Config) -> String {
    let theme = sha256_base64(&theme_css(config));
    let logo = config
        .pages
        .logo_url
        .as_deref()
        .and_then(|l| normalize_origin(&config.page_url(l)))
        .filter(|o| *o != config.public_origin())
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let mut form_targets = String::new();
    for origin in &config.allowed_origins {
        form_targets.push(' ');
        form_targets.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-{theme}'; \
         img-src 'self' data:{logo}; connect-src 'self'; form-action 'self'{form_targets}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}
