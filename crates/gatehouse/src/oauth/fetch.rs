//! Requests to a provider: every one bounded in time and in the size of the answer read,
//! and every failure described without the request's secrets or the answer's body.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::OAuthError;
use crate::outbound::HttpsClient;

/// The whole exchange (connect, send, read) must finish within this.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider; a longer one is refused.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The HTTP client talking to providers.
#[derive(Clone)]
pub struct Fetcher {
    http: HttpsClient,
    timeout: Duration,
    max_bytes: usize,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").finish_non_exhaustive()
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP basic auth with the form-encoded id and secret.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
}

impl Fetcher {
    pub fn new() -> anyhow::Result<Fetcher> {
        Ok(Fetcher {
            http: crate::outbound::https_client(TIMEOUT)?,
            timeout: TIMEOUT,
            max_bytes: MAX_RESPONSE_BYTES,
        })
    }

    /// `GET url` expecting JSON; `bearer` is sent as `Authorization: Bearer`.
    pub async fn get_json(
        &self,
        what: &'static str,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let mut request = Request::get(url)
            .header(header::ACCEPT, "application/json")
            // GitHub's API refuses requests without a User-Agent.
            .header(header::USER_AGENT, "Gatehouse");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|_| OAuthError::new(what, "the URL is not valid"))?;
        let (status, body) = self.send(what, request).await?;
        if !status.is_success() {
            return Err(OAuthError::new(what, format!("answered {status}")));
        }
        parse_json(what, &body)
    }

    /// `GET url` expecting a document of any kind (SAML metadata), as bytes.
    pub async fn get_document(&self, what: &'static str, url: &str) -> Result<Bytes, OAuthError> {
        let request = Request::get(url)
            .header(header::USER_AGENT, "Gatehouse")
            .body(Full::new(Bytes::new()))
            .map_err(|_| OAuthError::new(what, "the URL is not valid"))?;
        let (status, body) = self.send(what, request).await?;
        if !status.is_success() {
            return Err(OAuthError::new(what, format!("answered {status}")));
        }
        Ok(body)
    }

    /// `POST url` with a form, expecting JSON (a token endpoint). An error answer's
    /// OAuth `error` code is kept (never its description, which may echo input).
    pub async fn post_form(
        &self,
        what: &'static str,
        url: &str,
        form: &[(&str, &str)],
        client: Option<(ClientAuth, &str, &str)>,
    ) -> Result<Value, OAuthError> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = Request::post(url)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "Gatehouse")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        match client {
            Some((ClientAuth::Basic, id, secret)) => {
                // RFC 6749 §2.3.1: both are form-encoded before base64.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    enc(id),
                    enc(secret)
                ));
                request = request.header(header::AUTHORIZATION, format!("Basic {credentials}"));
            }
            Some((ClientAuth::Post, id, secret)) => {
                fields.push(("client_id", id));
                fields.push(("client_secret", secret));
            }
            None => {}
        }
        let body = serde_urlencoded::to_string(&fields)
            .map_err(|_| OAuthError::new(what, "the form could not be encoded"))?;
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| OAuthError::new(what, "the URL is not valid"))?;
        let (status, body) = self.send(what, request).await?;
        let json = parse_json(what, &body);
        if !status.is_success() {
            let code = json
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(short))
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            return Err(OAuthError::new(what, format!("answered {status}{code}")));
        }
        let json = json?;
        // GitHub answers 200 with an `error` member.
        if let Some(code) = json.get("error").and_then(Value::as_str) {
            return Err(OAuthError::new(
                what,
                format!("answered error {}", short(code)),
            ));
        }
        Ok(json)
    }

    async fn send(
        &self,
        what: &'static str,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), OAuthError> {
        let max = self.max_bytes;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|_| OAuthError::unreachable(what))?;
            let status = response.status();
            let declared_too_long = response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
                .is_some_and(|n| n > max);
            if declared_too_long {
                return Err(OAuthError::too_large(what));
            }
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        OAuthError::too_large(what)
                    } else {
                        OAuthError::unreachable(what)
                    }
                })?
                .to_bytes();
            Ok::<_, OAuthError>((status, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(OAuthError::new(
                what,
                format!("no answer within {}s", self.timeout.as_secs()),
            )
            .with_reason(super::REASON_PROVIDER_UNREACHABLE)),
        }
    }
}

fn parse_json(what: &'static str, body: &[u8]) -> Result<Value, OAuthError> {
    serde_json::from_slice(body).map_err(|_| OAuthError::new(what, "the answer is not JSON"))
}

/// A provider-chosen code, bounded and printable, for logs.
fn short(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}
