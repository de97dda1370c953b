//! What every page request carries: its client (the Frontend API's extractor, so the
//! Origin rule applies), the CSRF cookie, where to go when the flow is done
//! (`redirect_url`, honoured only on an allowed origin), and for posts the form, whose
//! CSRF token is checked before any handler runs.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::app::{App, AppRef};
use crate::domain::model::TokenSubject;
use crate::domain::tokens;
use crate::error::Error;
use crate::http::cookies;
use crate::http::envelope::apply_cookies;
use crate::http::extract::{active_session, Frontend, SignedIn};

use super::csrf::{self, Csrf};
use super::layout::{self, View};

/// Longest `redirect_url` a page keeps.
const MAX_REDIRECT_URL: usize = 2048;

/// One page request: its client, CSRF cookie, query, and where to go next.
pub struct Page {
    pub fe: Frontend,
    pub csrf: Csrf,
    /// The `redirect_url` given, when it is on the public or an allowed origin.
    pub redirect_url: Option<String>,
    query: HashMap<String, String>,
}

impl Page {
    fn new(fe: Frontend, headers: &HeaderMap, query: HashMap<String, String>) -> Page {
        Page {
            fe,
            csrf: Csrf::from_headers(headers),
            redirect_url: None,
            query,
        }
    }

    /// A query parameter (non-empty).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Renders a view with this request's CSRF token and cookies.
    pub async fn render(&self, app: &App, view: View) -> Response {
        let mut response = layout::render(app, self, view);
        self.finish(app, &mut response).await;
        response
    }

    /// `303` to a path on this instance, keeping `redirect_url`.
    pub async fn redirect(&self, app: &App, path: &str) -> Response {
        let target = self.with_redirect(path);
        self.see_other(app, &target).await
    }

    /// `303` to an absolute URL (already checked).
    pub async fn see_other(&self, app: &App, url: &str) -> Response {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(url) {
            response.headers_mut().insert(LOCATION, v);
        }
        self.finish(app, &mut response).await;
        response
    }

    /// `path` with this request's `redirect_url` added to its query.
    pub fn with_redirect(&self, path: &str) -> String {
        match &self.redirect_url {
            Some(url) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                let encoded: String =
                    url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
                format!("{path}{sep}redirect_url={encoded}")
            }
            None => path.to_string(),
        }
    }

    /// Where a finished flow goes: the allowed `redirect_url`, else the configured page.
    pub fn destination(&self, app: &App, configured: &str) -> String {
        self.redirect_url
            .clone()
            .unwrap_or_else(|| app.config.page_url(configured))
    }

    /// After a sign-in or sign-up completed on this request: a session token in
    /// `__session` (so the next page of the app is signed in at once) and `303` to
    /// where the flow goes. A user who must still enroll MFA goes to `/user` instead.
    pub async fn signed_in(
        &self,
        app: &App,
        session_id: Option<&str>,
        configured: &str,
    ) -> Response {
        let session = match session_id {
            Some(id) => app.store.get_session(id).await.ok().flatten(),
            None => None,
        };
        let mut token = None;
        if let Some(s) = &session {
            if tokens::ensure_mintable(app, &s.user_id).await.is_err() {
                return self.redirect(app, "/user").await;
            }
            let subject: TokenSubject<'_> = s.token_subject();
            let target = self.destination(app, configured);
            let azp = crate::config::normalize_origin(&target);
            token = tokens::mint(app, &subject, azp.as_deref())
                .await
                .ok()
                .map(|t| t.jwt);
        }
        let target = self.destination(app, configured);
        let mut response = self.see_other(app, &target).await;
        if let Some(jwt) = token {
            cookies::append(response.headers_mut(), cookies::session(&app.config, &jwt));
        }
        response
    }

    /// Whether a user is signed in here (no user read).
    pub async fn is_signed_in(&self, app: &AppRef) -> bool {
        self.fe.ctx.client.is_some() && active_session(app, &self.fe).await.is_ok()
    }

    /// The signed-in user, if any.
    pub async fn signed_in_user(&self, app: &AppRef) -> Option<SignedIn> {
        self.fe.ctx.client.as_ref()?;
        SignedIn::from_frontend(app, &self.fe).await.ok()
    }

    /// Adds the cookies the flow changed and the CSRF cookie when new.
    async fn finish(&self, app: &App, response: &mut Response) {
        apply_cookies(app, &self.fe.ctx, response).await;
        if let Some(c) = self.csrf.set_cookie(&app.config) {
            cookies::append(response.headers_mut(), c);
        }
    }

    fn take_redirect(&mut self, app: &App, value: Option<&str>) {
        self.redirect_url = value
            .map(str::trim)
            .filter(|u| u.len() <= MAX_REDIRECT_URL && app.config.redirect_allowed(u))
            .map(String::from);
    }
}

fn parse_query(parts: &Parts) -> HashMap<String, String> {
    let q = parts.uri.query().unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

impl FromRequestParts<AppRef> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppRef) -> Result<Page, Response> {
        let query = parse_query(parts);
        let csrf = Csrf::from_headers(&parts.headers);
        let fe = match Frontend::from_request_parts(parts, app).await {
            Ok(fe) => fe,
            Err(e) => return Err(bare_error(app, &csrf, e)),
        };
        let mut page = Page::new(fe, &parts.headers, query);
        let redirect = page.query.get("redirect_url").cloned();
        page.take_redirect(app, redirect.as_deref());
        Ok(page)
    }
}

/// A form post: the page request and the form, whose CSRF token was checked.
pub struct PagePost<T> {
    pub page: Page,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppRef> for PagePost<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppRef) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let mut page = Page::from_request_parts(&mut parts, app).await?;
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = axum::body::to_bytes(body, app.config.limits.max_body_bytes).await;
        let invalid = |page: &Page| {
            let e = Error::body_invalid("This form could not be read. Please try again.");
            page_error(app, page, e)
        };
        let (true, Ok(bytes)) = (is_form, bytes) else {
            return Err(invalid(&page));
        };
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&bytes)
            .into_owned()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if pairs
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(invalid(&page));
        }
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if !csrf::verify(app, &parts.headers, field("csrf_token")) {
            let e = Error::new(
                "csrf_invalid",
                "This form has expired. Please go back, reload the page and try again.",
            );
            return Err(page_error(app, &page, e));
        }
        page.take_redirect(app, field("redirect_url"));
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        match serde_urlencoded::from_str::<T>(&encoded) {
            Ok(form) => Ok(PagePost { page, form }),
            Err(_) => Err(invalid(&page)),
        }
    }
}

/// An error page for a request that could not be handled at all.
fn page_error(app: &App, page: &Page, e: Error) -> Response {
    let mut response = layout::render(app, page, View::error_page(e));
    if let Some(c) = page.csrf.set_cookie(&app.config) {
        cookies::append(response.headers_mut(), c);
    }
    response
}

fn bare_error(app: &App, csrf: &Csrf, e: Error) -> Response {
    let page = Page {
        fe: Frontend {
            ctx: Default::default(),
            session_token: None,
        },
        csrf: csrf.clone(),
        redirect_url: None,
        query: HashMap::new(),
    };
    page_error(app, &page, e)
}
