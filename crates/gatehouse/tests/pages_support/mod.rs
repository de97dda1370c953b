//! Helpers for the hosted-page tests: a browser-like client that reads pages, keeps
//! their CSRF token and posts forms as an HTML form would (no scripts), and the runner
//! of the Chromium tests in `tests/browser/`.
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Browser, TestServer};

/// A page as a browser received it.
#[derive(Debug)]
pub struct Html {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Html {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// The value of the first `<input name="...">` (or `value` of the element with
    /// that name), HTML-unescaped.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape(&self.body[start..end]))
    }

    /// The value of input `name` in the form posting to `action`.
    pub fn form_input(&self, action: &str, name: &str) -> Option<String> {
        let start = self.body.find(&format!("action=\"{action}\""))?;
        let form = &self.body[start..];
        let form = &form[..form.find("</form>").unwrap_or(form.len())];
        Html {
            status: self.status,
            headers: HeaderMap::new(),
            body: form.to_string(),
        }
        .input(name)
    }

    pub fn csrf(&self) -> String {
        self.input("csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token in the page:\n{}", self.body))
    }

    /// The text of the page's error region (general or next to a field).
    pub fn has_error(&self) -> bool {
        self.body.contains("class=\"error\"") || self.body.contains("class=\"field-error\"")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser without scripts: a cookie jar, the page origin on every request, forms.
pub struct FormBrowser {
    pub inner: Browser,
}

impl FormBrowser {
    pub fn new(server: &TestServer) -> FormBrowser {
        FormBrowser {
            inner: server.browser(),
        }
    }

    pub async fn get(&self, path: &str) -> Html {
        let r = self
            .inner
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET");
        read(r).await
    }

    /// Posts `fields` as `application/x-www-form-urlencoded`.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Html {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let r = self
            .inner
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        read(r).await
    }

    /// Reads `page` for its CSRF token and posts `fields` with it to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Html {
        let csrf = self.get(page).await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Follows a `303` (a path or a URL on the server).
    pub async fn follow(&self, r: &Html) -> Html {
        assert_eq!(r.status, 303, "expected a redirect: {}", r.body);
        let location = r.location().to_string();
        let path = location
            .strip_prefix(&self.inner.base)
            .unwrap_or(&location)
            .to_string();
        self.get(&path).await
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.inner.cookie(name)
    }
}

async fn read(r: reqwest::Response) -> Html {
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap_or_default();
    Html {
        status,
        headers,
        body,
    }
}

/// The latest message the dev outbox holds for `to`.
pub async fn latest_message(server: &TestServer, to: &str) -> Value {
    let r = server
        .admin()
        .get(&format!(
            "/v1/dev/outbox?to={}",
            url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"][0].clone()
}

/// The six-digit code of the latest message to `to`.
pub async fn latest_code(server: &TestServer, to: &str) -> String {
    let m = latest_message(server, to).await;
    let text = m["text"].as_str().unwrap_or("");
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {m}"))
        .to_string()
}
