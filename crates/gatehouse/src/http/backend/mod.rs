//! The Backend API (admin listener): every route needs a secret key.

mod jwt_templates;
mod oauth_tokens;
mod outbox;
mod saml_connections;
mod session_claims;
mod sessions;
mod users;

use axum::routing::{get, patch, post};
use axum::Router;

use crate::app::AppRef;

pub fn router() -> Router<AppRef> {
    Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route(
            "/v1/users/{id}",
            get(users::get_one)
                .patch(users::update)
                .delete(users::delete),
        )
        .route("/v1/users/{id}/metadata", patch(users::merge_metadata))
        .route("/v1/users/{id}/ban", post(users::ban))
        .route("/v1/users/{id}/unban", post(users::unban))
        .route("/v1/users/{id}/lock", post(users::lock))
        .route("/v1/users/{id}/unlock", post(users::unlock))
        .route(
            "/v1/users/{id}/verify_password",
            post(users::verify_password),
        )
        .route(
            "/v1/users/{id}/mfa",
            axum::routing::delete(users::delete_mfa),
        )
        .route(
            "/v1/users/{id}/oauth_access_tokens/{provider}",
            get(oauth_tokens::list),
        )
        .route("/v1/sessions", get(sessions::list))
        .route("/v1/sessions/{id}", get(sessions::get_one))
        .route("/v1/sessions/{id}/revoke", post(sessions::revoke))
        .route("/v1/sessions/{id}/tokens", post(sessions::mint_token))
        .route(
            "/v1/sessions/{id}/tokens/{template}",
            post(sessions::mint_template_token),
        )
        .route(
            "/v1/jwt_templates",
            get(jwt_templates::list).post(jwt_templates::create),
        )
        .route(
            "/v1/jwt_templates/{id}",
            get(jwt_templates::get_one)
                .patch(jwt_templates::update)
                .delete(jwt_templates::delete),
        )
        .route(
            "/v1/session_claims",
            get(session_claims::get)
                .put(session_claims::put)
                .delete(session_claims::delete),
        )
        .route(
            "/v1/saml_connections",
            get(saml_connections::list).post(saml_connections::create),
        )
        .route(
            "/v1/saml_connections/{id}",
            get(saml_connections::get_one)
                .patch(saml_connections::update)
                .delete(saml_connections::delete),
        )
        .route("/v1/jwks", get(jwks))
        .route("/v1/dev/outbox", get(outbox::list))
}

/// `GET /v1/jwks`: the public JWKS, for backends already holding a secret key.
async fn jwks(
    _: crate::http::extract::Admin,
    state: axum::extract::State<AppRef>,
) -> axum::response::Response {
    crate::http::well_known::jwks(state).await
}

/// `limit` (default 10, at most 500) and `offset`.
///
/// List queries carry `limit` and `offset` as their own fields and build a `Page`: serde's
/// `flatten` cannot read numbers from query strings.
#[derive(Debug)]
pub struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
}

impl Page {
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Self {
        Page { limit, offset }
    }

    pub fn resolve(&self) -> Result<(i64, i64), crate::error::Error> {
        let limit = self.limit.unwrap_or(10);
        if !(1..=500).contains(&limit) {
            return Err(crate::error::Error::param_invalid(
                "limit",
                "limit must be between 1 and 500.",
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(crate::error::Error::param_invalid(
                "offset",
                "offset must not be negative.",
            ));
        }
        Ok((limit, offset))
    }
}

/// Query strings parsed with errors in the API's error shape.
pub struct QueryParams<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for QueryParams<T>
{
    type Rejection = crate::error::Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| {
                let param = e.path().to_string();
                crate::error::Error::param_invalid(
                    &param,
                    format!("{param} has the wrong type or format."),
                )
            })
    }
}
