//! `/v1/oauth_callback`: where providers send the browser back. `GET` is the usual
//! redirect; `POST` is a `form_post` answer (Sign in with Apple), a cross-site request
//! carrying none of the browser's `SameSite=Lax` cookies, so it is answered with a `303`
//! to the `GET` form of the same callback, a top-level navigation that carries them.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppRef;
use crate::domain::social::callback::{self, CallbackParams};
use crate::error::Error;
use crate::http::backend::QueryParams;
use crate::http::body::Body;
use crate::http::envelope::apply_cookies;
use crate::http::extract::Frontend;

/// `GET /v1/oauth_callback?code&state` (or `?error&state`).
pub async fn get_callback(
    State(app): State<AppRef>,
    mut fe: Frontend,
    QueryParams(p): QueryParams<CallbackParams>,
) -> Response {
    let target = match callback::handle(&app, &mut fe.ctx, p).await {
        Ok(target) => target,
        Err(e) => return e.into_response(),
    };
    let mut response = see_other(&target);
    apply_cookies(&app, &fe.ctx, &mut response).await;
    response
}

/// `POST /v1/oauth_callback` (`response_mode=form_post`).
pub async fn post_callback(State(app): State<AppRef>, Body(p): Body<CallbackParams>) -> Response {
    let query = match serde_urlencoded::to_string(&p) {
        Ok(q) => q,
        Err(_) => return Error::body_invalid("The form body could not be parsed.").into_response(),
    };
    see_other(&format!(
        "{}/v1/oauth_callback?{query}",
        app.config.public_url
    ))
}

/// A `303` that is never cached and passes no referrer (the URL carries the code).
pub(crate) fn see_other(target: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(target) else {
        return Error::internal().into_response();
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
