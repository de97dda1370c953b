//! `POST /v1/client/sign_ins {strategy: "enterprise_sso", identifier}`: the connection
//! routed to the email's domain, a stored trip (the AuthnRequest ID, the RelayState
//! hashed, the sign-in and client it belongs to), and the identity provider's SSO URL
//! with the HTTP-Redirect-binding request, kept sealed on the verification.

use super::connections::{self, Connection};
use super::{aad, acs_url, signing, sp_entity_id, REQUEST_LIFETIME_MS, STRATEGY};
use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::random;
use crate::domain::identifiers::parse_email;
use crate::domain::links;
use crate::domain::model::{SamlRequest, Verification, UNVERIFIED};
use crate::error::Error;
use crate::saml::request::{with_query, AuthnRequest};

/// What starts a trip.
#[derive(Debug, Clone, Copy)]
pub struct StartRequest<'a> {
    pub sign_in_id: &'a str,
    pub client_id: &'a str,
    pub identifier: Option<&'a str>,
    pub redirect_url: Option<&'a str>,
    pub action_complete_redirect_url: Option<&'a str>,
    /// The trip ends no later than this (the attempt's own end).
    pub not_after: i64,
}

/// The connection of an identifier's email domain, or `form_identifier_not_found`.
pub async fn connection_for(
    app: &App,
    identifier: Option<&str>,
) -> Result<(String, Connection), Error> {
    let identifier = identifier
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| Error::param_missing("identifier"))?;
    let email = parse_email(identifier).map_err(|_| {
        Error::param_invalid("identifier", "Enterprise SSO needs an email address.")
    })?;
    let connection = connections::for_email(app, &email.normalized)
        .await?
        .ok_or_else(Error::identifier_not_found)?;
    Ok((email.normalized, connection))
}

/// Stores the trip and returns the normalized email and the pending verification.
pub async fn start(app: &App, req: StartRequest<'_>) -> Result<(String, Verification), Error> {
    let (email, connection) = connection_for(app, req.identifier).await?;
    let (redirect_url, complete_url) =
        links::check_redirect_pair(app, req.redirect_url, req.action_complete_redirect_url)?;
    let now = app.now();
    let c = &connection.row;
    // An NCName: the ID must not start with a digit.
    let id = format!("_{}", random::random_base62(32));
    let relay_state = random::random_token();
    let expire_at = (now + REQUEST_LIFETIME_MS).min(req.not_after);
    app.store
        .insert_saml_request(&SamlRequest {
            id: id.clone(),
            relay_state_hash: token_hash(&relay_state),
            connection_id: c.id.clone(),
            sign_in_id: Some(req.sign_in_id.to_string()),
            client_id: Some(req.client_id.to_string()),
            redirect_url,
            action_complete_redirect_url: complete_url,
            expire_at,
            responded_at: None,
            completion_hash: None,
            sealed_result: None,
            completed_at: None,
            created_at: now,
        })
        .await?;
    let request = AuthnRequest {
        id: &id,
        issue_instant_ms: now,
        sp_entity_id: &sp_entity_id(app, &c.id),
        acs_url: &acs_url(app, &c.id),
        idp_sso_url: &c.idp_sso_url,
    };
    let mut query = request.query(&relay_state);
    if c.sign_authn_requests == 1 {
        query = signing::sign_query(app, c, &query)?;
    }
    let url = with_query(&c.idp_sso_url, &query);
    let mut v = Verification::new(UNVERIFIED, STRATEGY, Some(expire_at));
    v.external_verification_redirect_url = Some(app.master_key.seal_text(&url, &aad(&id, "url")));
    v.saml_request_id = Some(id);
    tracing::info!(connection = %c.id, "an enterprise SSO sign-in went to its identity provider");
    Ok((email, v))
}
