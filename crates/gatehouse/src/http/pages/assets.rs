//! Static files: the pages' stylesheet and script under content-hashed names (cached
//! for a year), and `gatehouse.js` at `/v1/gatehouse.js` (versioned with `?v=<hash>`,
//! else revalidated by ETag).

use std::sync::OnceLock;

use axum::extract::{Path, RawQuery};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::crypto::digest::short_hash;
use crate::error::Error;

pub const GATEHOUSE_JS_PATH: &str = "/v1/gatehouse.js";
const CSS: &str = include_str!("static/pages.css");
const PAGES_JS: &str = include_str!("static/pages.js");
const GATEHOUSE_JS: &str = include_str!("static/gatehouse.js");
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    name: String,
    body: String,
}

fn named(stem: &str, ext: &str, body: String) -> Asset {
    Asset {
        name: format!("{stem}.{}.{ext}", short_hash(body.as_bytes(), 12)),
        body,
    }
}

fn css() -> &'static Asset {
    static A: OnceLock<Asset> = OnceLock::new();
    A.get_or_init(|| named("pages", "css", CSS.to_string()))
}

fn gatehouse_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| short_hash(GATEHOUSE_JS.as_bytes(), 12))
}

/// The versioned URL of `gatehouse.js` (cached for a year).
pub fn gatehouse_js_url() -> String {
    format!("{GATEHOUSE_JS_PATH}?v={}", gatehouse_version())
}

/// The pages' script imports `gatehouse.js` by its versioned URL.
fn pages_js() -> &'static Asset {
    static A: OnceLock<Asset> = OnceLock::new();
    A.get_or_init(|| {
        named(
            "pages",
            "js",
            PAGES_JS.replace("__GATEHOUSE_JS__", &gatehouse_js_url()),
        )
    })
}

pub fn css_url() -> String {
    format!("/pages/assets/{}", css().name)
}

pub fn pages_js_url() -> String {
    format!("/pages/assets/{}", pages_js().name)
}

/// `GET /pages/assets/{file}`: only the current names exist.
pub async fn page_asset(Path(file): Path<String>) -> Response {
    let (asset, kind) = if file == css().name {
        (css(), "text/css; charset=utf-8")
    } else if file == pages_js().name {
        (pages_js(), "text/javascript; charset=utf-8")
    } else {
        return Error::not_found("asset").into_response();
    };
    (
        [
            (CONTENT_TYPE, kind),
            (CACHE_CONTROL, IMMUTABLE),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body.clone(),
    )
        .into_response()
}

/// `GET /v1/gatehouse.js`: the browser client. Any site may load it (it holds no
/// secret); what it calls is still subject to `allowed_origins`.
pub async fn gatehouse_js(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let etag = format!("\"{}\"", gatehouse_version());
    let versioned = query.is_some_and(|q| q == format!("v={}", gatehouse_version()));
    let cache = if versioned {
        IMMUTABLE
    } else {
        "public, max-age=300, must-revalidate"
    };
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        GATEHOUSE_JS.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
