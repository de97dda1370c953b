//! Request bodies: JSON objects (both APIs) or url-encoded forms (Frontend API), with
//! errors that say what was wrong and never a 500.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A parsed body. An empty body with no content type reads as `{}`.
pub struct Body<T>(pub T);

/// A JSON-only body (Backend API).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let kind = content_kind(&req);
        let bytes = read_bytes(req, state).await?;
        match kind {
            _ if bytes.is_empty() && !matches!(kind, Kind::Other) => parse_json(b"{}").map(Body),
            Kind::Json | Kind::None => parse_json(&bytes).map(Body),
            Kind::Form => parse_form(&bytes).map(Body),
            Kind::Other => Err(unsupported()),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let kind = content_kind(&req);
        let bytes = read_bytes(req, state).await?;
        match kind {
            _ if bytes.is_empty() && !matches!(kind, Kind::Other | Kind::Form) => {
                parse_json(b"{}").map(JsonBody)
            }
            Kind::Json | Kind::None => parse_json(&bytes).map(JsonBody),
            Kind::Form | Kind::Other => Err(Error::body_invalid(
                "The Backend API accepts application/json bodies only.",
            )),
        }
    }
}

enum Kind {
    None,
    Json,
    Form,
    Other,
}

fn content_kind(req: &Request) -> Kind {
    let Some(ct) = req.headers().get(CONTENT_TYPE) else {
        return Kind::None;
    };
    let ct = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" => Kind::Json,
        "application/x-www-form-urlencoded" => Kind::Form,
        _ => Kind::Other,
    }
}

fn unsupported() -> Error {
    Error::body_invalid(
        "Unsupported content type: send application/json or application/x-www-form-urlencoded.",
    )
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<bytes::Bytes, Error> {
    bytes::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new("request_body_too_large", "The request body is too large.")
            } else {
                Error::body_invalid("The request body could not be read.")
            }
        })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| Error::body_invalid("The request body is not valid JSON."))?;
    if !value.is_object() {
        return Err(Error::body_invalid(
            "The request body must be a JSON object.",
        ));
    }
    if let Some((param, _)) = value
        .as_object()
        .and_then(|o| o.iter().find(|(_, v)| holds_nul(v)))
    {
        return Err(nul_error(param));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let param = path.split(['.', '[']).next().unwrap_or("").to_string();
        // The serde message is not passed on: it can quote the submitted value.
        format_error(&param)
    })
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|_| Error::body_invalid("The form body could not be parsed."))?;
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    if let Some((param, _)) = kept.iter().find(|(_, v)| v.contains('\0')) {
        return Err(nul_error(param));
    }
    // An empty value reads as absent (a quirk HTML forms rely on).
    let encoded = serde_urlencoded::to_string(&kept)
        .map_err(|_| Error::body_invalid("The form body could not be parsed."))?;
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| format_error(&e.path().to_string()))
}

/// Whether a value holds a NUL character anywhere. Text with NUL is refused for every
/// parameter: PostgreSQL cannot store it, and both databases must answer alike.
fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A field with the wrong type or format; a field without a usable name (an unknown
/// field called "") gets no `param_name` rather than an empty one.
fn format_error(param: &str) -> Error {
    if param.is_empty() || param == "." {
        return Error::new(
            "form_param_format_invalid",
            "The request body has a field that is unknown or has the wrong type or format.",
        );
    }
    Error::param_invalid(param, format!("{param} has the wrong type or format."))
}

fn nul_error(param: &str) -> Error {
    if param.is_empty() {
        return Error::new(
            "form_param_format_invalid",
            "The request body must not contain NUL characters.",
        );
    }
    Error::param_invalid(param, format!("{param} must not contain NUL characters."))
}
