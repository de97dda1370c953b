//! axum extractors: [`Auth`] (any request under [`with_auth`](crate::with_auth)) and
//! [`SignedIn`] (refuses signed-out requests with `401`).

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, StatusCode};

use crate::auth::Auth;

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Auth>().cloned().ok_or(MissingLayer)
    }
}

/// The [`Auth`] of a signed-in request; a signed-out one is answered `401` with the
/// JSON error body before the handler runs.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Auth);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if auth.is_signed_in() {
            Ok(SignedIn(auth))
        } else {
            Err(json_error(
                StatusCode::UNAUTHORIZED,
                "authentication_invalid",
                "Authentication is invalid or missing",
                "This route needs a signed-in user.",
            ))
        }
    }
}

/// The handler asked for [`Auth`] but neither [`with_auth`](crate::with_auth) nor
/// [`require_auth`](crate::require_auth) wraps the route: a programming error, answered
/// `500` and logged.
#[derive(Debug, Clone, Copy)]
pub struct MissingLayer;

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        tracing::error!("Auth extracted on a route without with_auth() or require_auth()");
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "The route is not wrapped in with_auth() or require_auth().",
        )
    }
}

fn json_error(status: StatusCode, code: &str, message: &str, long_message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{"code": code, "message": message, "long_message": long_message, "meta": {}}]
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
