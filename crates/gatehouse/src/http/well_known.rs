use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppRef;

/// `GET /.well-known/jwks.json` (and `/v1/jwks`): the published public keys.
pub async fn jwks(State(app): State<AppRef>) -> Response {
    let body = app.keys.jwks();
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        axum::Json(body.as_ref().clone()),
    )
        .into_response()
}

/// `GET /.well-known/openid-configuration`: enough discovery for JOSE libraries.
pub async fn openid_configuration(State(app): State<AppRef>) -> Response {
    let url = &app.config.public_url;
    axum::Json(json!({
        "issuer": url,
        "jwks_uri": format!("{url}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": [app.keys.current().alg().as_str()],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
    }))
    .into_response()
}
