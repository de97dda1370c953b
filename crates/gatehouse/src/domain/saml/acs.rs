//! `POST /v1/saml/acs/{connection}`: the identity provider's answer (HTTP-POST binding).
//!
//! The trip is found by `RelayState` (hashed) and must belong to this connection and be
//! unanswered and unexpired; an unknown trip is a `404` unless the connection accepts
//! unsolicited responses. The response is verified (`saml::response`), its assertion id
//! recorded once (a replay is refused by any process), and the result kept sealed on
//! the trip with a single-use completion token; the browser goes on to
//! `/v1/saml/complete`. A refusal marks the sign-in's verification failed and sends
//! the browser to `redirect_url` with `__gatehouse_status=failed`: nothing is created.

use super::connections::{self, Connection};
use super::{aad, acs_url, sp_entity_id, REQUEST_LIFETIME_MS};
use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::random;
use crate::domain::links::with_status;
use crate::domain::model::SamlRequest;
use crate::domain::sign_in;
use crate::domain::social::with_reason;
use crate::error::Error;
use crate::saml::dsig::Trust;
use crate::saml::response::{self, Expected, Refusal, Verified};

const MAX_RELAY_STATE: usize = 256;

/// The form the identity provider posts.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    pub saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

/// Handles the post; returns where to send the browser.
pub async fn handle(app: &App, connection_id: &str, form: AcsForm) -> Result<String, Error> {
    let connection = connections::get(app, connection_id).await?;
    let saml_response = form
        .saml_response
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Error::param_missing("SAMLResponse"))?;
    let relay_state = form
        .relay_state
        .as_deref()
        .filter(|r| !r.is_empty() && r.len() <= MAX_RELAY_STATE);
    let request = match relay_state {
        Some(rs) => app
            .store
            .saml_request_by_relay_state(&token_hash(rs))
            .await?
            .filter(|r| r.connection_id == connection.row.id),
        None => None,
    };
    let now = app.now();
    let request = match request {
        Some(r) => r,
        None if connection.row.allow_idp_initiated == 1 && connection.row.active == 1 => {
            unsolicited(app, &connection, now).await?
        }
        None => {
            tracing::info!(connection = %connection.row.id, reason = "request_unknown", "a SAML response was refused");
            return Err(Error::not_found("saml_request"));
        }
    };
    let refuse = |reason: &'static str| {
        tracing::info!(connection = %connection.row.id, reason, "a SAML response was refused");
        with_reason(
            &with_status(&request.redirect_url, "failed"),
            public_reason(reason),
        )
    };
    if request.responded_at.is_some() {
        // Answered already: leave the first answer's flow alone.
        return Ok(refuse("request_answered"));
    }
    if request.expire_at <= now || connection.row.active == 0 {
        app.store
            .record_saml_response(&request.id, now, None, None)
            .await?;
        sign_in::saml_failed(app, &request).await?;
        let reason = if connection.row.active == 0 {
            "connection_inactive"
        } else {
            "expired"
        };
        return Ok(refuse(reason));
    }
    let verified = match verify(app, &connection, &request, saml_response) {
        Ok(v) => v,
        Err(Refusal(reason)) => {
            app.store
                .record_saml_response(&request.id, now, None, None)
                .await?;
            sign_in::saml_failed(app, &request).await?;
            return Ok(refuse(reason));
        }
    };
    if !app
        .store
        .remember_saml_assertion(
            &connection.row.id,
            &verified.assertion_id,
            verified.replay_until_ms,
        )
        .await?
    {
        app.store
            .record_saml_response(&request.id, now, None, None)
            .await?;
        sign_in::saml_failed(app, &request).await?;
        return Ok(refuse("assertion_replayed"));
    }
    let token = random::random_token();
    let json = serde_json::to_string(&verified).map_err(|_| Error::internal())?;
    let sealed = app.master_key.seal_text(&json, &aad(&request.id, "result"));
    if !app
        .store
        .record_saml_response(&request.id, now, Some(&token_hash(&token)), Some(&sealed))
        .await?
    {
        return Ok(refuse("request_answered"));
    }
    tracing::info!(connection = %connection.row.id, "a SAML response was verified");
    let mut next = url::Url::parse(&format!("{}/v1/saml/complete", app.config.public_url))
        .map_err(|_| Error::internal())?;
    next.query_pairs_mut().append_pair("token", &token);
    Ok(next.to_string())
}

fn verify(
    app: &App,
    connection: &Connection,
    request: &SamlRequest,
    saml_response: &str,
) -> Result<Verified, Refusal> {
    let xml = response::decode_form_value(saml_response)?;
    let keys = connection.keys();
    let mapping = connection.mapping();
    let c = &connection.row;
    let sp_entity_id = sp_entity_id(app, &c.id);
    let acs_url = acs_url(app, &c.id);
    let expected = Expected {
        idp_entity_id: &c.idp_entity_id,
        sp_entity_id: &sp_entity_id,
        acs_url: &acs_url,
        in_response_to: request.sign_in_id.is_some().then_some(request.id.as_str()),
        now_ms: app.now(),
        trust: Trust {
            keys: &keys,
            allow_sha1: c.allow_sha1 == 1,
        },
        mapping: &mapping,
    };
    response::verify(&xml, &expected)
}

/// A trip for an unsolicited response: no sign-in and no client yet; the browser's
/// client at `/v1/saml/complete` gets the result.
async fn unsolicited(app: &App, connection: &Connection, now: i64) -> Result<SamlRequest, Error> {
    let pages = &app.config.pages;
    let absolute = |u: &str| {
        if u.starts_with('/') {
            format!("{}{u}", app.config.public_url)
        } else {
            u.to_string()
        }
    };
    let request = SamlRequest {
        id: format!("_{}", random::random_base62(32)),
        relay_state_hash: token_hash(&random::random_token()),
        connection_id: connection.row.id.clone(),
        sign_in_id: None,
        client_id: None,
        redirect_url: format!("{}/sign-in", app.config.public_url),
        action_complete_redirect_url: absolute(&pages.after_sign_in_url),
        expire_at: now + REQUEST_LIFETIME_MS,
        responded_at: None,
        completion_hash: None,
        sealed_result: None,
        completed_at: None,
        created_at: now,
    };
    app.store.insert_saml_request(&request).await?;
    Ok(request)
}

/// What the refusal redirect says: the identity provider's own refusal and an expired
/// trip are told apart; every other reason (which check failed) stays in the logs.
fn public_reason(reason: &str) -> &'static str {
    match reason {
        "status_not_success" => "saml_status_not_success",
        "expired" => "expired",
        _ => "saml_response_invalid",
    }
}
