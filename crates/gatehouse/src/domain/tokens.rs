//! Tokens minted from an active session: session tokens (short-lived JWTs signed with the
//! instance key, plus the instance's custom session claims) and tokens from JWT templates.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::App;
use crate::crypto::random;
use crate::domain::jwt_templates;
use crate::domain::model::TokenSubject;
use crate::domain::sessions::factor_ages;
use crate::domain::templates::{CompiledClaims, TemplateData, UserData};
use crate::error::Error;

/// Browsers keep at most this many bytes of a cookie's name and value.
pub const COOKIE_LIMIT_BYTES: usize = 4096;

#[derive(Serialize)]
struct SessionTokenClaims<'a> {
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
    act: Option<&'a Value>,
    #[serde(flatten)]
    custom: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
struct TemplateTokenClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
    exp: i64,
    iat: i64,
    iss: &'a str,
    jti: String,
    nbf: i64,
    sub: &'a str,
    #[serde(flatten)]
    custom: &'a Map<String, Value>,
}

/// A signed session token, and what the caller should be told about it.
#[derive(Debug)]
pub struct SessionToken {
    pub jwt: String,
    /// Set when the token is too large for a cookie (it is issued all the same).
    pub warnings: Vec<String>,
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
///
/// Without custom session claims (the default) this reads nothing; claims that read
/// `user.*` cost one indexed read of the user.
pub async fn mint(
    app: &App,
    session: &TokenSubject<'_>,
    azp: Option<&str>,
) -> Result<SessionToken, Error> {
    let now = app.now();
    let iat = now / 1000;
    let actor: Option<Value> = session.actor.and_then(|a| serde_json::from_str(a).ok());
    let template = app.session_claims.template();
    let user = match &template {
        Some(t) if t.compiled.needs_user() => Some(template_user(app, session.user_id).await?),
        _ => None,
    };
    let custom = template
        .as_ref()
        .map(|t| render(&t.compiled, session, user.as_ref(), actor.as_ref()));
    let claims = SessionTokenClaims {
        azp,
        exp: iat + app.config.session.token_lifetime.0.as_secs() as i64,
        fva: factor_ages(session, now),
        iat,
        iss: &app.config.public_url,
        jti: random::unique_base62(20),
        nbf: iat - 5,
        sid: session.session_id,
        sts: "active",
        sub: session.user_id,
        v: 2,
        act: actor.as_ref(),
        custom: custom.as_deref(),
    };
    let jwt = app.keys.current().sign_compact(&claims).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        Error::internal()
    })?;
    metrics::counter!("gatehouse_tokens_minted_total").increment(1);
    let mut warnings = Vec::new();
    let cookie_bytes = "__session=".len() + jwt.len();
    if cookie_bytes > COOKIE_LIMIT_BYTES {
        tracing::warn!(
            session_id = %session.session_id,
            bytes = jwt.len(),
            "session token is larger than a browser keeps in a cookie (4 KB); keep custom session claims small"
        );
        warnings.push(format!(
            "The session token is {} bytes: larger than the {COOKIE_LIMIT_BYTES} bytes browsers keep in a cookie, so the __session cookie may be dropped. Keep custom session claims small.",
            jwt.len()
        ));
    }
    Ok(SessionToken { jwt, warnings })
}

/// Signs a token from the JWT template named `template` for an active session; an
/// unknown name is `404 resource_not_found`.
pub async fn mint_from_template(
    app: &App,
    template: &str,
    session: &TokenSubject<'_>,
    azp: Option<&str>,
) -> Result<String, Error> {
    let ready = jwt_templates::ready_for_mint(app, template).await?;
    let user = if ready.claims.needs_user() {
        Some(template_user(app, session.user_id).await?)
    } else {
        None
    };
    let actor: Option<Value> = session.actor.and_then(|a| serde_json::from_str(a).ok());
    let custom = render(&ready.claims, session, user.as_ref(), actor.as_ref());
    let iat = app.now() / 1000;
    let claims = TemplateTokenClaims {
        azp,
        exp: iat + ready.lifetime,
        iat,
        iss: &app.config.public_url,
        jti: random::unique_base62(20),
        nbf: iat - ready.allowed_clock_skew,
        sub: session.user_id,
        custom: &custom,
    };
    let signed = match &ready.key {
        Some(key) => key.sign_compact(&claims),
        None => app.keys.current().sign_compact(&claims),
    };
    let jwt = signed.map_err(|e| {
        tracing::error!(error = %e, "template token signing failed");
        Error::internal()
    })?;
    metrics::counter!("gatehouse_template_tokens_minted_total").increment(1);
    Ok(jwt)
}

fn render<'t>(
    template: &'t CompiledClaims,
    session: &TokenSubject<'_>,
    user: Option<&UserData>,
    actor: Option<&Value>,
) -> std::borrow::Cow<'t, Map<String, Value>> {
    template.render(&TemplateData {
        user,
        session_id: Some(session.session_id),
        actor,
    })
}

/// What templates may read of the session's user (one indexed read).
async fn template_user(app: &App, user_id: &str) -> Result<UserData, Error> {
    app.store
        .template_user(user_id)
        .await?
        .ok_or_else(Error::unauthenticated)
}
