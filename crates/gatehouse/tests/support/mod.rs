//! Test harness: a real Gatehouse server on loopback ports over a fresh SQLite file or a
//! fresh PostgreSQL database, with an injectable clock, and HTTP clients that behave like
//! a browser (cookie jar, Origin) or a backend (secret key).
#![allow(dead_code)]

pub mod db;

use std::sync::Arc;

use gatehouse::app::{App, AppRef};
use gatehouse::clock::ManualClock;
use gatehouse::config::Config;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use db::{DbKind, TestDb};

/// Runs an async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_dbs {
    ($($name:ident),+ $(,)?) => {
        $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::DbKind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::db::postgres_available("postgres").await {
                    super::$name($crate::support::DbKind::Postgres).await
                }
            }
        }
        )+
    };
}

pub const TEST_MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const TEST_SECRET_KEY: &str = "sk_test_0123456789abcdefghijklmnop";
pub const PASSWORD: &str = "correct horse battery staple";

/// Test defaults: no rate limits and sign-ups that complete at once, unless overridden.
pub const DEFAULT_TEST_TOML: &str =
    "[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\n";

pub struct TestServer {
    pub app: AppRef,
    pub clock: Arc<ManualClock>,
    pub public_url: String,
    pub admin_url: String,
    pub secret_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// A direct connection to the server's database, to look at what it stored.
    pub async fn db_connection(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        <sqlx::AnyConnection as sqlx::Connection>::connect(&self.db.url)
            .await
            .unwrap()
    }

    pub async fn start(kind: DbKind) -> TestServer {
        Self::start_with(kind, DEFAULT_TEST_TOML).await
    }

    /// Starts a server whose configuration is `toml` on top of the defaults; the URL,
    /// listeners, database and keys are filled in by the harness.
    pub async fn start_with(kind: DbKind, toml: &str) -> TestServer {
        let db = TestDb::create(kind).await;
        Self::start_on(db, toml, |_| {}).await
    }

    pub async fn start_on(db: TestDb, toml: &str, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("http://127.0.0.1:{}", public.local_addr().unwrap().port());
        let admin_url = format!("http://127.0.0.1:{}", admin.local_addr().unwrap().port());
        let mut config = Config::from_toml_str(toml).expect("test config");
        config.public_url = public_url.clone();
        config.listen = public.local_addr().unwrap().to_string();
        config.admin_listen = admin.local_addr().unwrap().to_string();
        config.database_url = Some(db.url.clone());
        config.data_dir = dir.path().to_path_buf();
        config.master_key = Some(TEST_MASTER_KEY.into());
        config.secret_key = Some(TEST_SECRET_KEY.into());
        adjust(&mut config);
        let clock = ManualClock::new();
        let (app, _) = App::start(config, clock.clone()).await.expect("app starts");
        gatehouse::app::bootstrap_secret_key(&app.store, &app.config, app.now())
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listeners = gatehouse::server::Listeners { public, admin };
        let serving = app.clone();
        let task = tokio::spawn(async move {
            gatehouse::server::serve(serving, listeners, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            app,
            clock,
            public_url,
            admin_url,
            secret_key: TEST_SECRET_KEY.into(),
            shutdown: Some(tx),
            task: Some(task),
            db,
            dir,
        }
    }

    /// A new browser: its own cookie jar, sending this server's Origin.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.public_url, &self.public_url)
    }

    pub fn admin(&self) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: self.admin_url.clone(),
            key: self.secret_key.clone(),
        }
    }

    /// Stops serving (in-flight requests finish) and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Creates a user through the Backend API and returns its id.
    pub async fn create_user(&self, email: &str, password: &str) -> String {
        let r = self
            .admin()
            .post(
                "/v1/users",
                json!({"email_address": [email], "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "create user: {}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    async fn read(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The first error code of an error body.
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }

    /// Every `Set-Cookie` header, as sent.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// A browser-like client: a cookie jar and an `Origin` header on every request.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub origin: Option<String>,
}

impl Browser {
    pub fn new(base: &str, origin: &str) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            base: base.to_string(),
            origin: Some(origin.to_string()),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(o) = &self.origin {
            rb = rb.header("origin", o);
        }
        rb
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        Resp::read(rb.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.request(reqwest::Method::PATCH, path).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// A cookie this browser holds for the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// Signs up with a password (the server must not require email verification) and
    /// returns (user id, session id).
    pub async fn sign_up(&self, email: &str, password: &str) -> (String, String) {
        let r = self
            .post(
                "/v1/client/sign_ups",
                json!({"email_address": email, "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "sign up: {}", r.body);
        assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
        (
            r.body["response"]["created_user_id"]
                .as_str()
                .unwrap()
                .to_string(),
            r.body["response"]["created_session_id"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }

    /// Signs in with identifier and password in one call; returns the session id.
    pub async fn sign_in(&self, identifier: &str, password: &str) -> String {
        let r = self.sign_in_raw(identifier, password).await;
        assert_eq!(r.status, 200, "sign in: {}", r.body);
        assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
        r.body["response"]["created_session_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn sign_in_raw(&self, identifier: &str, password: &str) -> Resp {
        self.post(
            "/v1/client/sign_ins",
            json!({"identifier": identifier, "strategy": "password", "password": password}),
        )
        .await
    }

    /// Mints a session token; returns the response.
    pub async fn mint(&self, session_id: &str) -> Resp {
        self.post(
            &format!("/v1/client/sessions/{session_id}/tokens"),
            json!({}),
        )
        .await
    }
}

/// A backend calling the Backend API with the secret key.
pub struct Admin {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Admin {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.key)
    }

    pub async fn get(&self, path: &str) -> Resp {
        Resp::read(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        Resp::read(
            self.request(reqwest::Method::POST, path)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        Resp::read(
            self.request(reqwest::Method::PATCH, path)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        Resp::read(
            self.request(reqwest::Method::PUT, path)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        Resp::read(
            self.request(reqwest::Method::DELETE, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// The interop package's directory, with its pinned npm packages installed (once).
fn interop_dir() -> std::path::PathBuf {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    INSTALL.call_once(|| {
        if !dir.join("node_modules/jose").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("npm is needed for the interop test");
            assert!(status.success(), "npm ci failed in {}", dir.display());
        }
    });
    dir
}

/// Runs one of the interop package's scripts; its JSON output, or its error.
fn run_interop(script: &str, args: &[&str]) -> Result<Value, String> {
    let dir = interop_dir();
    let out = std::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .output()
        .expect("node is needed for the interop test");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the interop scripts print JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Verifies a token with Node's `jose` against the server's JWKS; returns the claims or
/// the library's error. Installs the pinned `jose` on first use.
pub fn verify_with_node_jose(server: &TestServer, token: &str) -> Result<Value, String> {
    run_interop(
        "verify.mjs",
        &[
            &format!("{}/.well-known/jwks.json", server.public_url),
            &server.public_url,
            token,
        ],
    )
}

/// Verifies a JWT template's token with Node's `jose` (`tests/interop/verify_template.mjs`):
/// `key` is `jwks:<url>`, `secret:<HS256 secret>` or `spki:<alg>:<PEM file>`; `hasura`
/// also checks Hasura's claims format. Returns `{header, claims}` or the error.
pub fn verify_template_with_node_jose(
    issuer: &str,
    token: &str,
    key: &str,
    hasura: bool,
) -> Result<Value, String> {
    let mut args = vec![issuer, token, key];
    if hasura {
        args.push("hasura");
    }
    run_interop("verify_template.mjs", &args)
}

/// The claims of a JWT, without verifying it (tests inspect what they minted).
pub fn claims(jwt: &str) -> Value {
    gatehouse::crypto::jws::decode_unverified(jwt)
        .expect("a JWS")
        .1
}

/// The API error body: `{"errors": [{code, message, long_message, meta}]}` and nothing else.
#[track_caller]
pub fn assert_error_shape(body: &Value) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {body}"));
    assert_eq!(obj.len(), 1, "error bodies hold `errors` only: {body}");
    let errors = obj["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("`errors` is not an array: {body}"));
    assert!(!errors.is_empty(), "{body}");
    for e in errors {
        assert!(
            e["code"].as_str().is_some_and(|c| !c.is_empty()),
            "code: {body}"
        );
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message: {body}"
        );
        assert!(e["long_message"].is_string(), "long_message: {body}");
        assert!(e["meta"].is_object(), "meta: {body}");
        if let Some(p) = e["meta"].get("param_name") {
            assert!(
                p.as_str().is_some_and(|p| !p.is_empty()),
                "param_name must name a parameter: {body}"
            );
        }
    }
}

/// The shape of a JSON value: its keys and the types of its leaves (to compare answers
/// that must look alike whatever their ids and times).
pub fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}
