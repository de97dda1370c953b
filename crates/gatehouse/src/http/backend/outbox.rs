use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{Page, QueryParams};
use crate::app::AppRef;
use crate::delivery::sealing;
use crate::error::{Error, Result};
use crate::http::extract::Admin;

#[derive(Debug, serde::Deserialize)]
pub struct OutboxQuery {
    to: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /v1/dev/outbox`: messages the `log` transport kept, newest first (only while the
/// email or SMS transport is `log`).
pub async fn list(
    _: Admin,
    State(app): State<AppRef>,
    QueryParams(q): QueryParams<OutboxQuery>,
) -> Result<Json<Value>> {
    if !app.delivery.logs_any() {
        return Err(Error::not_found("outbox (only with the log transport)"));
    }
    let (limit, offset) = Page::new(q.limit, q.offset).resolve()?;
    let (messages, total) = app
        .store
        .list_outbox(q.to.as_deref(), limit, offset)
        .await?;
    let data: Vec<Value> = messages
        .into_iter()
        .map(|mut m| {
            if sealing::open(&app.master_key, &mut m).is_err() {
                tracing::warn!(id = %m.id, "outbox message does not open with this master key");
            }
            json!({
                "to": m.recipient,
                "kind": m.kind,
                "subject": m.subject,
                "text": m.text_body,
                "html": m.html_body,
                "created_at": m.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data, "total_count": total })))
}
