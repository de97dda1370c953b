//! The tower layers: [`with_auth`] (lax) and [`require_auth`] (strict).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::Auth;
use crate::error::Error;
use crate::request::{client_says_signed_in, cookie, is_html_navigation, session_token};
use crate::verifier::Verifier;

/// Set on a handshake redirect so that a browser that comes back still without a fresh
/// token is not sent round again.
const HANDSHAKE_GUARD: &str = "__gatehouse_handshake";

/// Lax protection: every request reaches the handler with an [`Auth`] in its extensions,
/// empty when signed out.
///
/// ```no_run
/// # async fn run(verifier: gatehouse_sdk::Verifier) {
/// use axum::{routing::get, Router};
/// use gatehouse_sdk::{with_auth, Auth};
///
/// let app: Router = Router::new()
///     .route("/api/me", get(|auth: Auth| async move { axum::Json(auth) }))
///     .layer(with_auth(verifier));
/// # }
/// ```
pub fn with_auth(verifier: Verifier) -> AuthLayer {
    AuthLayer {
        verifier,
        strict: false,
        handshake: None,
    }
}

/// Strict protection: a request without a valid token gets `401` with a JSON error body
/// (`{"errors":[{"code":"authentication_invalid",...}]}`) and never reaches the handler.
pub fn require_auth(verifier: Verifier) -> AuthLayer {
    AuthLayer {
        verifier,
        strict: true,
        handshake: None,
    }
}

/// The layer [`with_auth`] and [`require_auth`] build.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Verifier,
    strict: bool,
    /// Cloned into every request's future: shared, not copied.
    handshake: Option<Arc<str>>,
}

impl AuthLayer {
    /// Opt-in refresh for server-rendered pages: an HTML navigation whose `__session`
    /// is missing or expired while `__client_uat` says the browser is signed in is
    /// redirected (`303`) through Gatehouse's `/v1/client/handshake`, which sets a fresh
    /// `__session` and sends the browser back to the same URL on `app_url` (this app's
    /// public origin, such as `https://app.example.com`, which Gatehouse must allow as a
    /// redirect origin). A browser is sent round at most once every few seconds.
    pub fn handshake(mut self, app_url: impl Into<String>) -> Self {
        self.handshake = Some(app_url.into().trim_end_matches('/').into());
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready handles this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let verified = match session_token(request.headers()) {
                Some(token) => Some(layer.verifier.verify_token(token).await),
                None => None,
            };
            let auth = match verified {
                Some(Ok(claims)) => Auth::from_claims(claims),
                failed => {
                    if let Some(Err(error)) = &failed {
                        tracing::debug!(reason = error.code(), "session token refused");
                    }
                    if let Some(redirect) = handshake_redirect(&layer, &request, failed.as_ref()) {
                        return Ok(redirect);
                    }
                    if layer.strict {
                        return Ok(unauthorized(failed.and_then(Result::err)));
                    }
                    Auth::signed_out()
                }
            };
            request.extensions_mut().insert(auth);
            inner.call(request).await
        })
    }
}

/// The `303` to the handshake, when the layer has one and this request qualifies.
fn handshake_redirect<B, R: From<String>>(
    layer: &AuthLayer,
    request: &Request<B>,
    failed: Option<&Result<Arc<crate::Claims>, Error>>,
) -> Option<Response<R>> {
    let app_url = layer.handshake.as_ref()?;
    let expired_or_missing = matches!(failed, None | Some(Err(Error::Expired)));
    let headers = request.headers();
    if !expired_or_missing
        || !is_html_navigation(request.method(), headers)
        || !client_says_signed_in(headers)
        || cookie(headers, HANDSHAKE_GUARD).is_some()
    {
        return None;
    }
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let back = format!("{app_url}{path}");
    let location = format!(
        "{}/v1/client/handshake?redirect_url={}",
        layer.verifier.issuer(),
        utf8_percent_encode(&back, NON_ALPHANUMERIC)
    );
    let mut response = Response::new(R::from(String::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_str(&location).ok()?);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_static(
            "__gatehouse_handshake=1; Max-Age=5; Path=/; HttpOnly; SameSite=Lax",
        ),
    );
    Some(response)
}

/// `401` with the Gatehouse error body.
fn unauthorized<R: From<String>>(error: Option<Error>) -> Response<R> {
    let long_message = match &error {
        Some(error) => format!("The session token was refused: {error}."),
        None => "No session token: send `Authorization: Bearer <token>` or the `__session` cookie."
            .to_string(),
    };
    let body = serde_json::json!({
        "errors": [{
            "code": "authentication_invalid",
            "message": "Authentication is invalid or missing",
            "long_message": long_message,
            "meta": {"reason": error.as_ref().map_or("missing", Error::code)},
        }]
    });
    let mut response = Response::new(R::from(body.to_string()));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
