//! SMS through the Twilio Messages API (or any provider that speaks it):
//! `POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json` with the form fields `To`,
//! `From` (or `MessagingServiceSid`) and `Body`, HTTP basic auth `sid:token`. The client
//! is the shared outbound one (`crate::outbound`), keeping connections alive.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use super::sender::{SendError, Sender};
use crate::config::SmsConfig;
use crate::store::OutboxMessage;

/// The largest error body read (for the provider's error code).
const MAX_ERROR_BODY: usize = 64 * 1024;

pub struct TwilioSender {
    http: crate::outbound::HttpsClient,
    url: String,
    authorization: String,
    from_field: &'static str,
    from: String,
    timeout: Duration,
}

impl std::fmt::Debug for TwilioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSender")
            .field("url", &self.url)
            .finish()
    }
}

impl TwilioSender {
    pub fn new(config: &SmsConfig) -> anyhow::Result<TwilioSender> {
        let sid = config.account_sid.clone().unwrap_or_default();
        let token = config.auth_token.clone().unwrap_or_default();
        let from = config.from.clone().unwrap_or_default();
        Ok(TwilioSender {
            http: crate::outbound::https_client(config.timeout.0)?,
            url: format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                config.base_url.trim_end_matches('/')
            ),
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
            ),
            from_field: if from.starts_with("MG") {
                "MessagingServiceSid"
            } else {
                "From"
            },
            from,
            timeout: config.timeout.0,
        })
    }

    /// The status and (for errors) the body of one API call.
    async fn post(&self, form: String) -> Result<(StatusCode, Bytes), String> {
        let request = Request::post(&self.url)
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| format!("could not build the request: {e}"))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| format!("SMS API unreachable: {e}"))?;
        let status = response.status();
        if status.is_success() {
            return Ok((status, Bytes::new()));
        }
        let body = Limited::new(response.into_body(), MAX_ERROR_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok((status, body))
    }
}

#[async_trait]
impl Sender for TwilioSender {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let form = serde_urlencoded::to_string([
            ("To", m.recipient.as_str()),
            (self.from_field, self.from.as_str()),
            ("Body", m.text_body.as_str()),
        ])
        .map_err(|e| SendError::Permanent(format!("could not encode the message: {e}")))?;
        let (status, body) = match tokio::time::timeout(self.timeout, self.post(form)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => return Err(SendError::Transient(reason)),
            Err(_) => {
                return Err(SendError::Transient(format!(
                    "SMS API: no answer within {}s",
                    self.timeout.as_secs_f32()
                )))
            }
        };
        if status.is_success() {
            return Ok(());
        }
        // The error body names the provider's error code; its message is not kept, as
        // it may repeat what was sent.
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("code").cloned())
            .map(|c| format!(" (error {c})"))
            .unwrap_or_default();
        let reason = format!("SMS API answered {status}{code}");
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(SendError::Transient(reason))
        } else {
            Err(SendError::Permanent(reason))
        }
    }
}
