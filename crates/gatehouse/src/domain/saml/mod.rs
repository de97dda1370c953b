//! Enterprise SSO with SAML 2.0: connections (`connections`), the trip to the identity
//! provider for a sign-in (`start`), the assertion consumer service (`acs`), binding
//! the verified result to the browser's client (`complete`), which user a SAML
//! identity is (`accounts`) and the key that signs requests (`signing`).
//!
//! The identity provider's POST to the ACS is cross-site and carries none of the
//! browser's `SameSite=Lax` cookies, so the ACS finds the trip by its `RelayState`,
//! verifies the response, keeps the result sealed, and sends the browser on to
//! `GET /v1/saml/complete` with a single-use token: that top-level navigation carries
//! `__client`, and only the client that started the trip gets the result.

pub mod accounts;
pub mod acs;
pub mod complete;
pub mod connections;
pub mod signing;
pub mod start;

use crate::app::App;

/// A trip to the identity provider must come back within this.
pub const REQUEST_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// The sign-in strategy.
pub const STRATEGY: &str = "enterprise_sso";

/// The SP entity id of a connection, also where its SP metadata is served.
pub fn sp_entity_id(app: &App, connection_id: &str) -> String {
    format!("{}/v1/saml/metadata/{connection_id}", app.config.public_url)
}

/// The assertion consumer service of a connection.
pub fn acs_url(app: &App, connection_id: &str) -> String {
    format!("{}/v1/saml/acs/{connection_id}", app.config.public_url)
}

/// The associated data binding a sealed field to its `saml_requests` row.
pub fn aad(request_id: &str, field: &str) -> String {
    format!("saml_request:{request_id}:{field}")
}
