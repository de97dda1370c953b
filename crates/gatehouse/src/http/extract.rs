//! Who a request speaks for: the client (Frontend API), the signed-in session
//! (`/v1/me`), or a secret key (Backend API). Also the Origin rule for mutations.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};

use crate::app::AppRef;
use crate::crypto::digest::token_hash;
use crate::crypto::jws;
use crate::domain::clients::{self, ClientCtx, RequestInfo};
use crate::domain::model::{Session, UserRecord};
use crate::error::Error;
use crate::http::{client_ip, cookies};

/// The Frontend API view of a request: its client (if any) and request facts.
pub struct Frontend {
    pub ctx: ClientCtx,
    /// The `__session` cookie or Bearer token, if sent.
    pub session_token: Option<String>,
}

/// What a Frontend API request says about itself, read from its headers alone (Origin
/// rule applied, no database read yet).
pub struct FrontendRequest {
    /// The client token from `Authorization: Client` or the `__client` cookie.
    pub client_token: Option<String>,
    /// The `__session` cookie or Bearer token, if sent.
    pub session_token: Option<String>,
    pub request: RequestInfo,
}

impl FromRequestParts<AppRef> for FrontendRequest {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppRef) -> Result<Self, Error> {
        let headers = &parts.headers;
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let header_client = auth.and_then(|a| a.strip_prefix("Client ")).map(str::trim);
        let bearer = auth.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
        let cookie_client = cookies::read(headers, cookies::CLIENT);
        let cookie_session = cookies::read(headers, cookies::SESSION);

        let origin = check_origin(
            parts,
            app,
            header_client.is_none() && (cookie_client.is_some() || cookie_session.is_some()),
        )?;
        Ok(FrontendRequest {
            client_token: header_client.or(cookie_client).map(String::from),
            session_token: bearer.or(cookie_session).map(String::from),
            request: RequestInfo {
                ip: request_ip(parts, app).to_string(),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.chars().take(512).collect()),
                origin,
            },
        })
    }
}

impl FrontendRequest {
    /// Looks up the request's client.
    pub async fn load(self, app: &AppRef) -> Result<Frontend, Error> {
        let client = match self.client_token.as_deref() {
            Some(token) => clients::find_by_token(app, token).await?,
            None => None,
        };
        Ok(Frontend {
            ctx: ClientCtx {
                client,
                new_token: None,
                auth_changed: false,
                request: self.request,
                unstored_token: None,
            },
            session_token: self.session_token,
        })
    }
}

impl FromRequestParts<AppRef> for Frontend {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppRef) -> Result<Self, Error> {
        FrontendRequest::from_request_parts(parts, app)
            .await?
            .load(app)
            .await
    }
}

fn is_mutation(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Applies the Frontend API's Origin rule and returns the allowed origin, if one was sent.
/// A mutation carrying a cookie credential needs an allowed Origin; a present Origin
/// must always be allowed.
fn check_origin(
    parts: &Parts,
    app: &AppRef,
    cookie_credential: bool,
) -> Result<Option<String>, Error> {
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or(""));
    let forbidden = || Error::new("origin_invalid", "The request's Origin is not allowed.");
    match origin {
        Some(o) => {
            let normalized = crate::config::normalize_origin(o);
            let allowed = normalized.as_ref().is_some_and(|n| origin_allowed(app, n));
            if !allowed {
                if is_mutation(&parts.method) {
                    return Err(forbidden());
                }
                return Ok(None);
            }
            Ok(normalized)
        }
        None if is_mutation(&parts.method) && cookie_credential => Err(forbidden()),
        None => Ok(None),
    }
}

pub fn origin_allowed(app: &AppRef, origin: &str) -> bool {
    app.config.origin_allowed(origin)
}

fn request_ip(parts: &Parts, app: &AppRef) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let xff = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_ip::resolve(peer, xff, &app.trusted_proxies)
}

/// The signed-in user of a Frontend API request: a session token (Bearer or `__session`)
/// for an active session, else the client's active session.
pub struct SignedIn {
    pub session: Session,
    pub user: UserRecord,
}

impl SignedIn {
    pub async fn from_frontend(app: &AppRef, fe: &Frontend) -> Result<SignedIn, Error> {
        let session = active_session(app, fe).await?;
        let user = app
            .store
            .get_user(&session.user_id)
            .await?
            .ok_or_else(Error::unauthenticated)?;
        Ok(SignedIn { session, user })
    }
}

/// The request's active session: a session token (Bearer or `__session`) for one, else
/// the client's. Ending a user (ban, deletion) ends their sessions, so an active session
/// is a signed-in user.
pub async fn active_session(app: &AppRef, fe: &Frontend) -> Result<Session, Error> {
    let mut session_id = fe
        .session_token
        .as_deref()
        .and_then(|t| session_id_from_token(app, t));
    if session_id.is_none() {
        session_id = fe
            .ctx
            .client
            .as_ref()
            .and_then(|c| c.last_active_session_id.clone());
    }
    let session = match session_id {
        Some(id) => app.store.get_session(&id).await?,
        None => None,
    };
    session
        .filter(|s| s.is_active_at(app.now(), app.inactivity_ms()))
        .ok_or_else(Error::unauthenticated)
}

impl SignedIn {
    /// Like `from_frontend`, for routes closed to users who still must enroll MFA.
    pub async fn enrolled(app: &AppRef, fe: &Frontend) -> Result<SignedIn, Error> {
        let me = SignedIn::from_frontend(app, fe).await?;
        crate::domain::mfa::require_enrolled(app, &me.user)?;
        Ok(me)
    }
}

/// The `sid` of a valid, unexpired token this instance issued.
fn session_id_from_token(app: &AppRef, token: &str) -> Option<String> {
    let claims = jws::verify_compact(token, &app.keys.verifying_keys()).ok()?;
    let now = app.now() / 1000;
    let skew = 5;
    let exp = claims.get("exp")?.as_i64()?;
    let nbf = claims.get("nbf").and_then(|v| v.as_i64()).unwrap_or(0);
    let iss = claims.get("iss")?.as_str()?;
    if exp + skew < now || nbf - skew > now || iss != app.config.public_url {
        return None;
    }
    claims.get("sid")?.as_str().map(String::from)
}

/// A Backend API request authenticated with a secret key.
pub struct Admin;

impl FromRequestParts<AppRef> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppRef) -> Result<Self, Error> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 512)
            .ok_or_else(Error::unauthenticated)?;
        // Lookup by hash: the database never holds the key and no comparison leaks timing.
        match app.store.secret_key_by_hash(&token_hash(key)).await? {
            Some(_) => Ok(Admin),
            None => Err(Error::unauthenticated()),
        }
    }
}
