//! Session tokens: short-lived JWTs signed with the instance key.

use serde::Serialize;

use crate::app::App;
use crate::crypto::random;
use crate::domain::model::TokenSubject;
use crate::domain::sessions::factor_ages;
use crate::error::Error;

#[derive(Serialize)]
struct SessionClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
    exp: i64,
    fva: [i64; 2],
    iat: i64,
    iss: &'a str,
    jti: String,
    nbf: i64,
    sid: &'a str,
    sts: &'static str,
    sub: &'a str,
    v: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<serde_json::Value>,
    #[serde(flatten)]
    custom: &'a serde_json::Map<String, serde_json::Value>,
}

/// Whether the session's user may get tokens: with `require_mfa`, not before enrolling.
/// Costs a read only when that option is on.
pub async fn ensure_mintable(app: &App, user_id: &str) -> Result<(), Error> {
    if !app.config.auth.require_mfa {
        return Ok(());
    }
    let user = app
        .store
        .get_user(user_id)
        .await?
        .ok_or_else(Error::unauthenticated)?;
    crate::domain::mfa::require_enrolled(app, &user)
}

/// Signs a session token for an active session. `azp` is the requesting origin, if known.
pub fn mint(app: &App, session: &TokenSubject<'_>, azp: Option<&str>) -> Result<String, Error> {
    let now = app.now();
    let iat = now / 1000;
    let claims = SessionClaims {
        azp,
        exp: iat + app.config.session.token_lifetime.0.as_secs() as i64,
        fva: factor_ages(session, now),
        iat,
        iss: &app.config.public_url,
        jti: random::random_base62(20),
        nbf: iat - 5,
        sid: session.session_id,
        sts: "active",
        sub: session.user_id,
        v: 2,
        act: session.actor.and_then(|a| serde_json::from_str(a).ok()),
        custom: &app.config.session.claims,
    };
    let jwt = app.keys.current().sign_compact(&claims).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        Error::internal()
    })?;
    metrics::counter!("gatehouse_tokens_minted_total").increment(1);
    Ok(jwt)
}
