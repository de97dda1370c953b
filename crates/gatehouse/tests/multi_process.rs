//! Two `gatehouse` processes on one PostgreSQL database (any number of processes serve
//! one instance): a client signed in through one is served by the other, a
//! revocation through one is refused at once by the other, a key rotation by the CLI
//! reaches both within 10 s, and rate limits count across both.

mod process_support;
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use process_support::{run_cli, ProcEnv, Server};
use serde_json::{json, Value};
use support::{DbKind, TestDb, PASSWORD};

/// A native-app style caller: no cookie jar, the client travels as `Authorization: Client`.
struct App {
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl App {
    fn new() -> App {
        App {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    async fn post(&self, server: &Server, path: &str, client: Option<&str>, body: Value) -> Answer {
        let mut rb = self
            .http
            .post(format!("{}{path}", server.public_url))
            .json(&body);
        if let Some(c) = client {
            rb = rb.header("authorization", format!("Client {c}"));
        }
        let r = rb.send().await.expect("request");
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.json().await.unwrap_or(Value::Null),
        }
    }

    /// Password sign-in on `server` with a new client; returns (client value, session id).
    async fn sign_in(&self, server: &Server, email: &str) -> (String, String) {
        let r = self
            .post(
                server,
                "/v1/client/sign_ins",
                None,
                json!({"identifier": email, "strategy": "password", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 200, "sign in: {}", r.body);
        assert_eq!(r.body["response"]["status"], "complete");
        let client = r.headers["gatehouse-client"].to_str().unwrap().to_string();
        let session = r.body["response"]["created_session_id"]
            .as_str()
            .unwrap()
            .to_string();
        (client, session)
    }

    async fn mint(&self, server: &Server, client: &str, session: &str) -> Answer {
        self.post(
            server,
            &format!("/v1/client/sessions/{session}/tokens"),
            Some(client),
            json!({}),
        )
        .await
    }
}

async fn postgres() -> Option<TestDb> {
    if support::db::postgres_available("multi_process").await {
        Some(TestDb::create(DbKind::Postgres).await)
    } else {
        None
    }
}

fn header_kid(jwt: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().unwrap())
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

async fn jwks_kids(server: &Server) -> Vec<String> {
    let r = reqwest::get(format!("{}/.well-known/jwks.json", server.public_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_key_rotation_across_processes() {
    let Some(db) = postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    let app = App::new();

    let r = a
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["two@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user_id = r.body["id"].as_str().unwrap().to_string();

    // Signed in through A, served by B (and A).
    let (client, session) = app.sign_in(&a, "two@example.com").await;
    let r = app.mint(&b, &client, &session).await;
    assert_eq!(r.status, 200, "mint through B: {}", r.body);
    let jwt = r.body["jwt"].as_str().unwrap();
    assert_eq!(support::claims(jwt)["sid"], session.as_str());
    assert_eq!(support::claims(jwt)["sub"], user_id.as_str());
    assert!(
        jwks_kids(&a).await.contains(&header_kid(jwt)),
        "A publishes the key B signs with"
    );
    assert_eq!(app.mint(&a, &client, &session).await.status, 200);

    // Revoked through B's Backend API: A refuses at once.
    let r = b
        .admin()
        .post(&format!("/v1/sessions/{session}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "revoked");
    let r = app.mint(&a, &client, &session).await;
    assert_eq!(
        r.status, 401,
        "A still mints for a session revoked through B: {}",
        r.body
    );
    assert_eq!(r.body["errors"][0]["code"], "authentication_invalid");

    // Key rotation by the CLI, on the same database.
    let (client, session) = app.sign_in(&b, "two@example.com").await;
    let r = app.mint(&b, &client, &session).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let old_kid = header_kid(r.body["jwt"].as_str().unwrap());
    let out = run_cli(&env, &["keys", "rotate"]).await.ok();
    let rotated = Instant::now();
    let new_kid = out
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("ins_key_"))
        .unwrap_or_else(|| panic!("no key id printed: {out}"))
        .to_string();
    assert_ne!(new_kid, old_kid);
    for (name, server) in [("B", &b), ("A", &a)] {
        loop {
            let kids = jwks_kids(server).await;
            let r = app.mint(server, &client, &session).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let signing = header_kid(r.body["jwt"].as_str().unwrap());
            if kids.contains(&new_kid) && signing == new_kid {
                assert!(
                    kids.contains(&old_kid),
                    "{name} dropped the previous key at once: {kids:?}"
                );
                break;
            }
            assert!(
                rotated.elapsed() < Duration::from_secs(10),
                "{name} still signs with {signing} (JWKS {kids:?}) 10 s after the rotation to {new_kid}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_count_across_processes() {
    let Some(db) = postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url)
        .set("GATEHOUSE_RATE_LIMITS__ENABLED", "true")
        .set("GATEHOUSE_RATE_LIMITS__SIGN_IN_CREATE", "4/1m");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    let app = App::new();
    let r = a
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["limited@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The windows are fixed minutes: keep the five requests inside one.
    let into_minute = now_ms() % 60_000;
    if into_minute > 50_000 {
        tokio::time::sleep(Duration::from_millis(60_100 - into_minute)).await;
    }
    let started = now_ms();
    let mut answers = Vec::new();
    for i in 0..6 {
        let server = if i % 2 == 0 { &a } else { &b };
        answers.push(
            app.post(
                server,
                "/v1/client/sign_ins",
                None,
                json!({"identifier": "limited@example.com"}),
            )
            .await,
        );
    }
    assert_eq!(
        started / 60_000,
        now_ms() / 60_000,
        "the requests crossed a window boundary"
    );
    for (i, r) in answers.iter().enumerate().take(4) {
        assert_eq!(r.status, 200, "sign-in {} of 4 allowed: {}", i + 1, r.body);
        assert_eq!(r.body["response"]["status"], "needs_first_factor");
    }
    for (i, r) in answers.iter().enumerate().skip(4) {
        assert_eq!(
            r.status,
            429,
            "sign-in {} (through {}): {}",
            i + 1,
            if i % 2 == 0 { "A" } else { "B" },
            r.body
        );
        assert_eq!(r.body["errors"][0]["code"], "rate_limit_exceeded");
        let retry: u64 = r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_on_a_fresh_database_share_one_key() {
    let Some(db) = postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let (a, b, c) = tokio::join!(
        Server::start(&env),
        Server::start(&env),
        Server::start(&env)
    );
    let kids = jwks_kids(&a).await;
    assert_eq!(kids.len(), 1, "one signing key for the instance: {kids:?}");
    assert_eq!(jwks_kids(&b).await, kids);
    assert_eq!(jwks_kids(&c).await, kids);

    let r = a
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["race@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let app = App::new();
    let (client, session) = app.sign_in(&a, "race@example.com").await;
    for server in [&a, &b, &c] {
        let r = app.mint(server, &client, &session).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(header_kid(r.body["jwt"].as_str().unwrap()), kids[0]);
    }
}
