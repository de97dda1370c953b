//! Health, readiness and metrics.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::app::AppRef;

pub async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

pub async fn readyz(State(app): State<AppRef>) -> Response {
    if app.store.ping().await {
        axum::Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "database unreachable" })),
        )
            .into_response()
    }
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder (once; later calls are no-ops).
pub fn install_metrics() {
    PROMETHEUS.get_or_init(|| PrometheusBuilder::new().install_recorder().ok());
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<AppRef>) -> Response {
    install_metrics();
    metrics::gauge!("gatehouse_password_hash_queue_depth").set(app.hashes.queue_depth() as f64);
    metrics::gauge!("gatehouse_password_hash_in_flight").set(app.hashes.in_flight() as f64);
    let body = PROMETHEUS
        .get()
        .and_then(|h| h.as_ref())
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
