//! Enterprise SSO endpoints on the public listener: the SP metadata of a connection,
//! the assertion consumer service (the identity provider's cross-site POST, exempt from
//! the Origin rule: it reads no cookie and changes no client), and the completion that
//! binds the verified result to the browser's client.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::oauth_callback::see_other;
use crate::app::AppRef;
use crate::domain::saml::acs::{self, AcsForm};
use crate::domain::saml::{acs_url, complete, connections, signing, sp_entity_id};
use crate::http::backend::QueryParams;
use crate::http::body::Body;
use crate::http::envelope::apply_cookies;
use crate::http::extract::Frontend;

/// `GET /v1/saml/metadata/{id}`: the SP metadata XML (also the SP entity id).
pub async fn metadata(State(app): State<AppRef>, Path(id): Path<String>) -> Response {
    let connection = match connections::get(&app, &id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let xml = crate::saml::metadata::service_provider(
        &sp_entity_id(&app, &id),
        &acs_url(&app, &id),
        signing::certificate(&connection.row).as_deref(),
    );
    let mut response = xml.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

/// `POST /v1/saml/acs/{id}` (HTTP-POST binding).
pub async fn acs(
    State(app): State<AppRef>,
    Path(id): Path<String>,
    Body(form): Body<AcsForm>,
) -> Response {
    match acs::handle(&app, &id, form).await {
        Ok(target) => see_other(&target),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CompleteQuery {
    token: Option<String>,
}

/// `GET /v1/saml/complete?token`.
pub async fn complete(
    State(app): State<AppRef>,
    mut fe: Frontend,
    QueryParams(q): QueryParams<CompleteQuery>,
) -> Response {
    let target = match complete::handle(&app, &mut fe.ctx, q.token.as_deref()).await {
        Ok(target) => target,
        Err(e) => return e.into_response(),
    };
    let mut response = see_other(&target);
    apply_cookies(&app, &fe.ctx, &mut response).await;
    response
}
