//! The layers every request passes: request id, panic guard, load shedding, logging
//! without secrets, and request metrics.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Response};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

use crate::error::Error;

const REQUEST_ID: &str = "x-request-id";

#[derive(Clone, Copy, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::crypto::ids::new_id("req"))
            .ok()
            .map(RequestId::new)
    }
}

/// Wraps a listener's router in the layers that apply before routing: request ids,
/// load shedding (a full server answers 503 at once instead of queueing), the panic
/// guard and, on the public listener, the `?_method=` override.
pub fn wrap(router: axum::Router, max_concurrent: usize, method_override: bool) -> axum::Router {
    // An outer router whose only service is the real one: its layers run before routing.
    let outer = axum::Router::new()
        .fallback_service(router)
        .layer(axum::middleware::from_fn(reject_unreadable_urls));
    let outer = if method_override {
        outer.layer(axum::middleware::map_request(override_method))
    } else {
        outer
    };
    outer.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(
                axum::http::HeaderName::from_static(REQUEST_ID),
                MakeId,
            ))
            .layer(PropagateRequestIdLayer::new(
                axum::http::HeaderName::from_static(REQUEST_ID),
            ))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
                Error::internal().into_response()
            }))
            .layer(axum::error_handling::HandleErrorLayer::new(
                |_: tower::BoxError| async {
                    Error::new(
                        "service_unavailable",
                        "The server is at capacity. Please retry shortly.",
                    )
                    .into_response()
                },
            ))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                max_concurrent,
            )),
    )
}

/// A path whose escapes do not decode to UTF-8, or decode to a NUL, names no resource:
/// 404 in the API's error shape, before an extractor answers with a bare 400. A NUL in a query
/// value is a bad parameter (PostgreSQL cannot store NUL, so it never reaches a query).
async fn reject_unreadable_urls(req: Request, next: axum::middleware::Next) -> Response<Body> {
    let path = percent_decode(req.uri().path().as_bytes());
    if path.contains(&0) || std::str::from_utf8(&path).is_err() {
        return Error::not_found("resource").into_response();
    }
    let query = req.uri().query().unwrap_or("");
    if let Some((param, _)) =
        url::form_urlencoded::parse(query.as_bytes()).find(|(_, v)| v.contains('\0'))
    {
        let e = Error::new(
            "form_param_format_invalid",
            "Query parameters must not contain NUL characters.",
        );
        let e = if param.is_empty() {
            e
        } else {
            e.with_param(param)
        };
        return e.into_response();
    }
    next.run(req).await
}

/// Percent-decoding as the router's path extractor does it (invalid escapes stay literal).
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let escape = input[i] == b'%'
            && i + 2 < input.len()
            && input[i + 1].is_ascii_hexdigit()
            && input[i + 2].is_ascii_hexdigit();
        if escape {
            let hex = std::str::from_utf8(&input[i + 1..i + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// `POST ...?_method=PATCH|PUT|DELETE` is that method (a client quirk we accept).
async fn override_method(mut req: Request) -> Request {
    if req.method() == axum::http::Method::POST {
        let wanted = req.uri().query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "_method")
                .map(|(_, v)| v.to_ascii_uppercase())
        });
        match wanted.as_deref() {
            Some("PATCH") => *req.method_mut() = axum::http::Method::PATCH,
            Some("PUT") => *req.method_mut() = axum::http::Method::PUT,
            Some("DELETE") => *req.method_mut() = axum::http::Method::DELETE,
            _ => {}
        }
    }
    req
}

/// Logs one line per request (method, path without query, status, time, request id) and
/// counts it. The query string and headers are never logged: they can carry tokens.
pub async fn observe(
    listener: &'static str,
    req: Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let response = next.run(req).await;
    crate::idle_memory::request_seen();
    let status = response.status().as_u16();
    let elapsed: Duration = started.elapsed();
    metrics::counter!(
        "gatehouse_http_requests_total",
        "listener" => listener,
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("gatehouse_http_request_duration_seconds", "listener" => listener, "route" => route)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "gatehouse::http",
        request_id = %request_id,
        listener,
        method = %method,
        path = %path,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
