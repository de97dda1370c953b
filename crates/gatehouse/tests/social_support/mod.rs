//! Social sign-in test support: a real OpenID Connect provider (the npm package
//! `oidc-provider`, run by Node from `social_support/provider`), a local server speaking
//! GitHub's documented OAuth and user API, and a driver that takes a cookie-keeping
//! browser through a provider's pages back to `/v1/oauth_callback`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::{Browser, DbKind, Resp, TestServer};

pub const CLIENT_ID: &str = "gatehouse-test";
pub const CLIENT_SECRET: &str = "provider-client-secret-0123456789";
pub const GITHUB_SECRET: &str = "github-client-secret-9876543210";
pub const APP: &str = "http://app.test";

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/social_support/provider")
}

/// Installs the provider's pinned npm packages once (CI installs them with `npm ci`).
fn install_once() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let dir = provider_dir();
        if !dir.join("node_modules/oidc-provider").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm is needed for the social sign-in tests");
            assert!(status.success(), "npm ci failed in {}", dir.display());
        }
    });
}

/// A test account at the OpenID Connect provider.
pub struct Account<'a> {
    pub login: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub given_name: &'a str,
    pub family_name: &'a str,
}

/// `oidc-provider` on 127.0.0.1, with one confidential client that must use PKCE.
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl OidcProvider {
    /// Starts the provider on a free port with these accounts; the client's redirect
    /// URI is given later with [`OidcProvider::allow_redirect`] (Gatehouse's port is
    /// only known once it runs).
    pub fn start(accounts: &[Account<'_>]) -> OidcProvider {
        install_once();
        let table: serde_json::Map<String, Value> = accounts
            .iter()
            .map(|a| {
                (
                    a.login.to_string(),
                    json!({
                        "email": a.email,
                        "email_verified": a.email_verified,
                        "given_name": a.given_name,
                        "family_name": a.family_name,
                    }),
                )
            })
            .collect();
        let mut child = Command::new("node")
            .arg(provider_dir().join("provider.mjs"))
            .env("OIDC_ACCOUNTS", Value::Object(table).to_string())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the social sign-in tests");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("provider did not print its port: {line:?}"));
        OidcProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
            stdin,
            stdout,
        }
    }

    /// Registers the client's redirect URI and waits until the provider serves.
    pub fn allow_redirect(&mut self, redirect_uri: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{redirect_uri}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "provider: {line:?}");
    }

    /// The `[oauth.acme]` section for this provider.
    pub fn config(&self) -> String {
        format!(
            "[oauth.acme]\nkind = \"oidc\"\nname = \"Acme ID\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n",
            self.issuer
        )
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Gatehouse server with the OpenID Connect provider `acme` (and `extra` config).
pub async fn server_with_oidc(
    kind: DbKind,
    accounts: &[Account<'_>],
    extra: &str,
) -> (TestServer, OidcProvider) {
    let mut provider = OidcProvider::start(accounts);
    let toml = format!(
        "allowed_origins = [\"{APP}\"]\n[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\n{extra}\n{}",
        provider.config()
    );
    let server = TestServer::start_with(kind, &toml).await;
    provider.allow_redirect(&format!("{}/v1/oauth_callback", server.public_url));
    (server, provider)
}

// ---------------------------------------------------------------------------------------
// GitHub

/// What the GitHub stand-in answers.
#[derive(Debug, Clone)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    pub name: String,
    /// `/user/emails`: (email, primary, verified)
    pub emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
pub struct GitHubState {
    pub user: Option<GitHubUser>,
    /// code → (code_challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    /// access token → user
    tokens: HashMap<String, GitHubUser>,
    refresh_tokens: HashMap<String, GitHubUser>,
    pub issued: u32,
    pub refreshed: u32,
    /// Answer `/user` with a body larger than Gatehouse reads.
    pub oversized_user: bool,
}

/// A local server implementing GitHub's documented endpoints: the authorization page
/// (which approves at once), `POST /login/oauth/access_token` (JSON when asked, PKCE,
/// expiring user tokens with refresh tokens), `GET /user` and `GET /user/emails`.
pub struct GitHub {
    pub base: String,
    pub state: Arc<Mutex<GitHubState>>,
}

impl GitHub {
    pub async fn start() -> GitHub {
        use axum::routing::{get, post};
        let state = Arc::new(Mutex::new(GitHubState::default()));
        let app = axum::Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_token))
            .route("/user", get(gh_user))
            .route("/user/emails", get(gh_emails))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        GitHub { base, state }
    }

    pub fn set_user(&self, user: GitHubUser) {
        self.state.lock().unwrap().user = Some(user);
    }

    pub fn config(&self) -> String {
        format!(
            "[oauth.github]\nclient_id = \"Iv1.testclient\"\nclient_secret = \"{GITHUB_SECRET}\"\n\
             authorize_url = \"{0}/login/oauth/authorize\"\ntoken_url = \"{0}/login/oauth/access_token\"\nuserinfo_url = \"{0}/user\"\n",
            self.base
        )
    }
}

type GhState = axum::extract::State<Arc<Mutex<GitHubState>>>;

async fn gh_authorize(
    axum::extract::State(state): GhState,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    assert_eq!(
        q.get("client_id").map(String::as_str),
        Some("Iv1.testclient")
    );
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let code = format!("code-{}", gatehouse::crypto::random::random_token());
    let redirect = q["redirect_uri"].clone();
    state.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), redirect.clone()),
    );
    let mut url = url::Url::parse(&redirect).unwrap();
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"]);
    (
        axum::http::StatusCode::FOUND,
        [(axum::http::header::LOCATION, url.to_string())],
    )
        .into_response()
}

async fn gh_token(
    axum::extract::State(state): GhState,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> axum::Json<Value> {
    // GitHub answers JSON only when asked to; errors are 200s with an `error` member.
    assert_eq!(
        headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let mut s = state.lock().unwrap();
    if form.get("client_id").map(String::as_str) != Some("Iv1.testclient")
        || form.get("client_secret").map(String::as_str) != Some(GITHUB_SECRET)
    {
        return axum::Json(json!({"error": "incorrect_client_credentials"}));
    }
    let user = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            let Some(user) = s.refresh_tokens.remove(&form["refresh_token"]) else {
                return axum::Json(json!({"error": "bad_refresh_token"}));
            };
            s.refreshed += 1;
            user
        }
        _ => {
            let Some((challenge, redirect)) = s
                .codes
                .remove(form.get("code").map(String::as_str).unwrap_or(""))
            else {
                return axum::Json(json!({"error": "bad_verification_code"}));
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            if gatehouse::crypto::pkce::s256_challenge(&verifier) != challenge
                || form.get("redirect_uri") != Some(&redirect)
            {
                return axum::Json(json!({"error": "bad_verification_code"}));
            }
            s.user.clone().expect("a GitHub user is set")
        }
    };
    s.issued += 1;
    let access = format!("ghu_access_{}", s.issued);
    let refresh = format!("ghr_refresh_{}", s.issued);
    s.tokens.insert(access.clone(), user.clone());
    s.refresh_tokens.insert(refresh.clone(), user);
    axum::Json(json!({
        "access_token": access,
        "expires_in": 28800,
        "refresh_token": refresh,
        "refresh_token_expires_in": 15897600,
        "scope": "read:user,user:email",
        "token_type": "bearer",
    }))
}

fn gh_bearer(state: &GitHubState, headers: &axum::http::HeaderMap) -> Option<GitHubUser> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state.tokens.get(token).cloned()
}

async fn gh_user(
    axum::extract::State(state): GhState,
    headers: axum::http::HeaderMap,
) -> (axum::http::StatusCode, String) {
    let s = state.lock().unwrap();
    assert!(
        headers.get("user-agent").is_some(),
        "GitHub requires a User-Agent"
    );
    let Some(user) = gh_bearer(&s, &headers) else {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials"}).to_string(),
        );
    };
    let mut body = json!({
        "login": user.login, "id": user.id, "name": user.name,
        "avatar_url": format!("https://avatars.example.com/u/{}", user.id),
        "email": null,
    });
    if s.oversized_user {
        body["bio"] = json!("x".repeat(2 * 1024 * 1024));
    }
    (axum::http::StatusCode::OK, body.to_string())
}

async fn gh_emails(
    axum::extract::State(state): GhState,
    headers: axum::http::HeaderMap,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let s = state.lock().unwrap();
    let Some(user) = gh_bearer(&s, &headers) else {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        );
    };
    let emails: Vec<Value> = user
        .emails
        .iter()
        .map(|(email, primary, verified)| {
            json!({"email": email, "primary": primary, "verified": verified, "visibility": null})
        })
        .collect();
    (axum::http::StatusCode::OK, axum::Json(Value::Array(emails)))
}

// ---------------------------------------------------------------------------------------
// The browser's part

/// Starts a social sign-in (`POST /v1/client/sign_ins`); returns the response.
pub async fn start_sign_in(browser: &Browser, strategy: &str) -> Resp {
    browser
        .post(
            "/v1/client/sign_ins",
            json!({
                "strategy": strategy,
                "redirect_url": format!("{APP}/sso-callback"),
                "action_complete_redirect_url": format!("{APP}/dashboard"),
            }),
        )
        .await
}

/// Starts a social sign-up (`POST /v1/client/sign_ups`).
pub async fn start_sign_up(browser: &Browser, strategy: &str) -> Resp {
    browser
        .post(
            "/v1/client/sign_ups",
            json!({
                "strategy": strategy,
                "redirect_url": format!("{APP}/sso-callback"),
                "action_complete_redirect_url": format!("{APP}/dashboard"),
            }),
        )
        .await
}

/// The authorization URL of a sign-in's (or sign-up's) pending verification.
pub fn authorization_url(r: &Resp) -> String {
    let response = &r.body["response"];
    let v = if response["object"] == "sign_up" {
        &response["verifications"]["external_account"]
    } else if response["object"] == "external_account" {
        &response["verification"]
    } else {
        &response["first_factor_verification"]
    };
    v["external_verification_redirect_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no authorization URL: {}", r.body))
        .to_string()
}

/// Replaces one query parameter of a URL.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows the authorization URL through the provider's pages like a browser —
/// redirects followed, the login form posted with `login`, the consent form confirmed
/// (or, with `deny`, the interaction aborted) — until the provider sends the browser to
/// Gatehouse's callback; returns that callback URL without requesting it.
pub async fn drive(browser: &Browser, authorization_url: &str, login: &str, deny: bool) -> String {
    let callback_prefix = format!("{}/v1/oauth_callback", browser.base);
    let mut url = authorization_url.to_string();
    let mut method = reqwest::Method::GET;
    let mut form: Vec<(String, String)> = Vec::new();
    for _ in 0..20 {
        if url.starts_with(&callback_prefix) {
            return url;
        }
        let mut rb = browser.http.request(method.clone(), &url);
        if method == reqwest::Method::POST {
            rb = rb.form(&form);
        }
        let r = rb.send().await.expect("provider request");
        let status = r.status();
        if status.is_redirection() {
            let location = r.headers()["location"].to_str().unwrap().to_string();
            url = r.url().join(&location).unwrap().to_string();
            method = reqwest::Method::GET;
            continue;
        }
        let page_url = r.url().clone();
        let html = r.text().await.unwrap();
        assert!(status.is_success(), "provider answered {status}: {html}");
        if deny {
            if let Some(abort) = find_link(&html, "/abort") {
                url = page_url.join(&abort).unwrap().to_string();
                method = reqwest::Method::GET;
                continue;
            }
        }
        let (action, mut fields) =
            parse_form(&html).unwrap_or_else(|| panic!("no form on the provider's page: {html}"));
        if fields.iter().any(|(k, _)| k == "login") {
            for (k, v) in fields.iter_mut() {
                if k == "login" {
                    *v = login.to_string();
                } else if k == "password" {
                    *v = "any password".to_string();
                }
            }
        }
        url = page_url.join(&action).unwrap().to_string();
        method = reqwest::Method::POST;
        form = fields;
    }
    panic!("the provider never sent the browser back");
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&"))
}

/// The first form of a page: its action and its inputs' names and values.
fn parse_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>")? + start;
    let form = &html[start..end];
    let tag_end = form.find('>')?;
    let action = attr(&form[..tag_end], "action")?;
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map(|e| e + i)?;
        let tag = &rest[i..tag_end];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[tag_end..];
    }
    Some((action, fields))
}

fn find_link(html: &str, ending: &str) -> Option<String> {
    let mut rest = html;
    while let Some(i) = rest.find("href=\"") {
        let start = i + 6;
        let end = rest[start..].find('"')? + start;
        let href = &rest[start..end];
        if href.ends_with(ending) {
            return Some(href.replace("&amp;", "&"));
        }
        rest = &rest[end..];
    }
    None
}

/// Moves the server's clock up to the real time (it only moves when told to), so the
/// provider's id_tokens, stamped with the real time, are not from its future.
pub fn catch_up(server: &TestServer) {
    use gatehouse::clock::{Clock, SystemClock};
    let (real, now) = (SystemClock.now_ms(), server.clock.now_ms());
    if real > now {
        server.clock.advance(real - now);
    }
}

/// Requests a callback URL in the browser; returns the response (a 303).
pub async fn callback(server: &TestServer, browser: &Browser, callback_url: &str) -> Resp {
    catch_up(server);
    let r = browser
        .http
        .get(callback_url)
        .send()
        .await
        .expect("callback request");
    let status = r.status();
    let headers = r.headers().clone();
    Resp {
        status,
        headers,
        body: Value::Null,
    }
}

/// The `Location` of a redirect.
pub fn location(r: &Resp) -> String {
    r.headers
        .get("location")
        .unwrap_or_else(|| panic!("no Location ({})", r.status))
        .to_str()
        .unwrap()
        .to_string()
}

/// A full sign-in or sign-up at the provider: start, drive, callback; returns the
/// callback's redirect target.
pub async fn social_round_trip(
    server: &TestServer,
    browser: &Browser,
    start: Resp,
    login: &str,
) -> String {
    assert_eq!(start.status, 200, "{}", start.body);
    let callback_url = drive(browser, &authorization_url(&start), login, false).await;
    let r = callback(server, browser, &callback_url).await;
    assert_eq!(r.status, 303, "callback");
    location(&r)
}
