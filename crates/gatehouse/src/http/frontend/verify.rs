//! `GET /v1/verify?token=...`: the target of magic links.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppRef;
use crate::domain::verify_link;
use crate::http::backend::QueryParams;
use crate::http::envelope::apply_cookies;
use crate::http::extract::Frontend;

#[derive(serde::Deserialize)]
pub struct VerifyQuery {
    token: Option<String>,
}

/// Opens the link and answers `303` to the attempt's `redirect_url` with
/// `__gatehouse_status`; in the browser that asked for the link, the flow finishes here
/// and the response carries its cookies.
pub async fn verify(
    State(app): State<AppRef>,
    mut fe: Frontend,
    QueryParams(q): QueryParams<VerifyQuery>,
) -> Response {
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        return crate::error::Error::param_missing("token").into_response();
    };
    let target = match verify_link::open(&app, &mut fe.ctx, &token).await {
        Ok(target) => target,
        Err(e) => return e.into_response(),
    };
    let Ok(location) = HeaderValue::from_str(&target) else {
        return crate::error::Error::internal().into_response();
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The token is in this URL: tell the browser not to pass it on as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    apply_cookies(&app, &fe.ctx, &mut response).await;
    response
}
