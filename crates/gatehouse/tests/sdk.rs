//! The SDK against a running Gatehouse: its tokens verify networklessly, through a JWKS
//! outage and a key rotation; PyJWT verifies them too; the protected-app example (axum +
//! gatehouse-sdk) and the express-api example (Node, `jose` only) are driven over HTTP
//! signed out, signed in, by role, after sign-out and after revocation; and the Backend
//! API client works.

mod support;

use std::sync::Arc;
use std::time::Duration;

use gatehouse::clock::{Clock, ManualClock};
use gatehouse_sdk::backend::{BackendClient, ListSessions, ListUsers, MetadataUpdate};
use gatehouse_sdk::{Error, Verifier};
use serde_json::{json, Value};
use support::{Browser, DbKind, Resp, TestServer, DEFAULT_TEST_TOML, PASSWORD};

both_dbs!(
    gatehouse_tokens_verify_through_an_outage_and_a_rotation,
    protected_app_signed_out_in_by_role_signed_out_and_revoked,
    backend_api_client,
);

/// Session claims that carry a role from public metadata, as the examples expect.
fn role_claims_toml(extra: &str) -> String {
    format!(
        "{DEFAULT_TEST_TOML}[session]\nclaims = {{ role = \"{{{{user.public_metadata.role || 'user'}}}}\" }}\n{extra}"
    )
}

/// A verifier for `server`'s tokens whose clock is the server's (tests move it).
fn verifier(server: &TestServer) -> Verifier {
    verifier_for(server, &[])
}

/// The same, also accepting tokens minted for these origins (`azp`).
fn verifier_for(server: &TestServer, apps: &[&str]) -> Verifier {
    let clock: Arc<ManualClock> = server.clock.clone();
    let mut parties = vec![server.public_url.clone()];
    parties.extend(apps.iter().map(|app| app.to_string()));
    Verifier::builder(&server.public_url)
        .authorized_parties(parties)
        .jwks_refetch_interval(Duration::from_millis(200))
        .clock(move || clock.now_ms() / 1000)
        .build()
        .unwrap()
}

fn jwt(r: &Resp) -> String {
    assert_eq!(r.status, 200, "mint: {}", r.body);
    r.body["jwt"].as_str().unwrap().to_string()
}

async fn gatehouse_tokens_verify_through_an_outage_and_a_rotation(db: DbKind) {
    let server = TestServer::start_with(db, &role_claims_toml("")).await;
    let browser = server.browser();
    let (user, session) = browser.sign_up("sdk@example.com", PASSWORD).await;
    let token = jwt(&browser.mint(&session).await);
    let verifier = verifier(&server);

    let claims = verifier.verify_token(&token).await.unwrap();
    assert_eq!(claims.sub, user);
    assert_eq!(claims.sid.as_deref(), Some(session.as_str()));
    assert_eq!(claims.azp.as_deref(), Some(server.public_url.as_str()));
    assert_eq!(claims.get("role"), Some(&json!("user")));

    // Another issuer's verifier, or one that only trusts another origin, refuses it.
    let other_issuer = Verifier::builder("https://elsewhere.example.com")
        .jwks_url(format!("{}/.well-known/jwks.json", server.public_url))
        .build()
        .unwrap();
    assert_eq!(
        other_issuer.verify_token(&token).await.err(),
        Some(Error::InvalidIssuer)
    );
    let other_party = Verifier::builder(&server.public_url)
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    assert_eq!(
        other_party.verify_token(&token).await.err(),
        Some(Error::UnauthorizedParty)
    );

    // A key rotation on the server is picked up without restarting the backend, and
    // tokens signed with the previous key keep verifying.
    let app = &server.app;
    let new_kid = gatehouse::domain::keys::rotate(
        &app.store,
        &app.master_key,
        app.config.tokens.algorithm,
        app.now(),
        gatehouse::cli::keep_previous_key_ms(&app.config),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let rotated = loop {
        let jwt = jwt(&browser.mint(&session).await);
        let kid = gatehouse::crypto::jws::decode_unverified(&jwt)
            .unwrap()
            .0
            .kid;
        if kid.as_deref() == Some(new_kid.as_str()) {
            break jwt;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never used the new key"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(verifier.verify_token(&rotated).await.unwrap().sub, user);
    assert_eq!(verifier.verify_token(&token).await.unwrap().sub, user);

    // The server goes away: keys already fetched keep verifying, without a network.
    let fresh = jwt(&browser.mint(&session).await);
    server.stop().await;
    let claims = verifier.verify_token(&fresh).await.unwrap();
    assert_eq!(claims.sub, user);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyjwt_verifies_gatehouse_tokens_through_the_jwks() {
    let server = TestServer::start(DbKind::Sqlite).await;
    let browser = server.browser();
    let (user, session) = browser.sign_up("py@example.com", PASSWORD).await;
    let token = jwt(&browser.mint(&session).await);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verify_pyjwt.py");
    let run = |token: String| {
        tokio::process::Command::new(debian_python())
            .arg(&script)
            .args([
                format!("{}/.well-known/jwks.json", server.public_url),
                server.public_url.clone(),
                token,
            ])
            .output()
    };
    let out = run(token.clone())
        .await
        .expect("python3 with PyJWT is needed for this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["sid"], session.as_str());

    // PyJWT refuses a tampered token, like every verifier must.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = parts[1].replacen(|c: char| c.is_ascii_alphabetic(), "A", 1);
    let out = run(parts.join(".")).await.unwrap();
    assert!(!out.status.success(), "a tampered token verified");
    server.stop().await;
}

/// Debian's python3 (where `python3-jwt` is installed), ahead of any other on the PATH.
fn debian_python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// An example app on 127.0.0.1, reached with the same cookie jar as `browser` (cookies
/// are per host, not per port, so Gatehouse's `__session` reaches it like a sibling app).
fn app_browser(browser: &Browser, app_url: &str) -> Browser {
    Browser {
        http: browser.http.clone(),
        jar: browser.jar.clone(),
        base: app_url.to_string(),
        origin: None,
    }
}

/// The API routes both examples serve, signed out, signed in, by role, after sign-out
/// and after revocation. `expire` moves past one token lifetime.
async fn drive_example_api<F, Fut>(server: &TestServer, app_url: &str, email: &str, expire: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let browser = server.browser();
    let app = app_browser(&browser, app_url);

    // Signed out.
    let r = app.get("/api/protected").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user_id"], Value::Null);
    assert_eq!(r.body["session_id"], Value::Null);
    let r = app.get("/api/strict").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error_code(), "authentication_invalid");
    assert_eq!(app.get("/admin").await.status, 401);

    // Signed in (the mint sets `__session`).
    let (user, session) = browser.sign_up(email, PASSWORD).await;
    jwt(&browser.mint(&session).await);
    let r = app.get("/api/protected").await;
    assert_eq!(r.body["user_id"], user.as_str(), "{}", r.body);
    assert_eq!(r.body["session_id"], session.as_str());
    let r = app.get("/api/strict").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user_id"], user.as_str());
    // The role comes from the custom session claims: `user` until metadata says admin.
    let r = app.get("/admin").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = server
        .admin()
        .patch(
            &format!("/v1/users/{user}/metadata"),
            json!({"public_metadata": {"role": "admin"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    jwt(&browser.mint(&session).await);
    let r = app.get("/admin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user_id"], user.as_str());

    // After sign-out the browser has no token left.
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get("/api/strict").await.status, 401);
    assert_eq!(app.get("/api/protected").await.body["user_id"], Value::Null);

    // Revoked by an admin: the token held is refused within one token lifetime, and no
    // new one can be minted.
    let session = browser.sign_in(email, PASSWORD).await;
    jwt(&browser.mint(&session).await);
    assert_eq!(app.get("/api/strict").await.status, 200);
    let r = server
        .admin()
        .post(&format!("/v1/sessions/{session}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(
        browser.mint(&session).await.status,
        200,
        "a revoked session mints nothing"
    );
    expire().await;
    let r = app.get("/api/strict").await;
    assert_eq!(
        r.status, 401,
        "still accepted a token lifetime after revocation: {}",
        r.body
    );
}

async fn protected_app_signed_out_in_by_role_signed_out_and_revoked(db: DbKind) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let toml = format!(
        "allowed_origins = [\"{app_url}\"]\n{}",
        role_claims_toml("")
    );
    let server = TestServer::start_with(db, &toml).await;
    let settings = protected_app::Settings {
        issuer: server.public_url.clone(),
        app_url: app_url.clone(),
    };
    // The handshake mints for the app's origin, the hosted pages for Gatehouse's.
    let router = protected_app::router(settings, verifier_for(&server, &[&app_url]));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let clock = server.clock.clone();
    drive_example_api(&server, &app_url, "rust-app@example.com", || {
        let clock = clock.clone();
        async move { clock.advance(66_000) }
    })
    .await;

    // The page: signed out → the hosted sign-in with a way back; signed in → the page;
    // an expired `__session` → refreshed through the handshake, then the page.
    let browser = server.browser();
    let app = app_browser(&browser, &app_url);
    let r = open_page(&app).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.headers["location"].to_str().unwrap().to_string();
    let back = percent_encode(&format!("{app_url}/protected"));
    assert_eq!(
        location,
        format!("{}/sign-in?redirect_url={back}", server.public_url)
    );
    let r = browser
        .get(location.trim_start_matches(&server.public_url))
        .await;
    assert_eq!(
        r.status, 200,
        "the hosted sign-in page accepts the way back"
    );

    let session = browser.sign_in("rust-app@example.com", PASSWORD).await;
    jwt(&browser.mint(&session).await);
    let r = open_page(&app).await;
    assert_eq!(r.status, 200);
    clock.advance(120_000);
    let r = open_page(&app).await;
    assert_eq!(
        r.status, 303,
        "an expired session goes through the handshake"
    );
    let handshake = r.headers["location"].to_str().unwrap().to_string();
    assert!(
        handshake.starts_with(&format!(
            "{}/v1/client/handshake?redirect_url=",
            server.public_url
        )),
        "{handshake}"
    );
    let r = browser
        .get(handshake.trim_start_matches(&server.public_url))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.headers["location"],
        format!("{app_url}/protected").as_str()
    );
    let r = open_page(&app).await;
    assert_eq!(
        r.status, 200,
        "back on the page with a fresh token: {}",
        r.body
    );
    server.stop().await;
}

/// A top-level navigation to the protected page.
async fn open_page(app: &Browser) -> Resp {
    app.send(
        app.request(reqwest::Method::GET, "/protected")
            .header("sec-fetch-dest", "document")
            .header("accept", "text/html"),
    )
    .await
}

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_api_example_with_jose_only() {
    let port = free_port();
    let app_url = format!("http://127.0.0.1:{port}");
    let toml = format!(
        "allowed_origins = [\"{app_url}\"]\n{}",
        role_claims_toml("token_lifetime = \"2s\"\n")
    );
    let server = TestServer::start_with(DbKind::Sqlite, &toml).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/express-api");
    assert!(
        dir.join("node_modules/express").exists() && dir.join("node_modules/jose").exists(),
        "run `npm ci` in examples/express-api (.ci/run does)"
    );
    let mut child = tokio::process::Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("GATEHOUSE_ISSUER", &server.public_url)
        .env("PORT", port.to_string())
        .env("AUTHORIZED_PARTIES", &server.public_url)
        .env("CLOCK_TOLERANCE_SECONDS", "0")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node is needed for the express example");
    wait_for_port(port).await;
    drive_example_api(&server, &app_url, "express@example.com", || async {
        tokio::time::sleep(Duration::from_millis(2_600)).await
    })
    .await;
    child.kill().await.unwrap();
    server.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the example did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn backend_api_client(db: DbKind) {
    let server = TestServer::start_with(db, DEFAULT_TEST_TOML).await;
    let browser = server.browser();
    let (user, session) = browser.sign_up("client@example.com", PASSWORD).await;
    let api = BackendClient::new(&server.admin_url, &server.secret_key);

    let found = api.get_user(&user).await.unwrap();
    assert_eq!(found.primary_email_address(), Some("client@example.com"));
    let page = api
        .list_users(&ListUsers {
            query: Some("client@".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (page.total_count, page.data[0].id.as_str()),
        (1, user.as_str())
    );
    let none = api
        .list_users(&ListUsers {
            email_address: Some("nobody@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none.total_count, 0);

    let updated = api
        .update_user_metadata(
            &user,
            &MetadataUpdate {
                public_metadata: Some(json!({"plan": "pro"})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.public_metadata, json!({"plan": "pro"}));

    let sessions = api
        .list_sessions(&ListSessions {
            user_id: Some(user.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sessions.data.len(), 1);
    assert_eq!(sessions.data[0].id, session);

    let token = api.create_session_token(&session, None).await.unwrap();
    assert_eq!(
        verifier(&server)
            .verify_token(&token.jwt)
            .await
            .unwrap()
            .sub,
        user
    );

    let revoked = api.revoke_session(&session).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    match api.create_session_token(&session, None).await {
        Err(gatehouse_sdk::backend::ApiError::Status { status, .. }) => assert!(status >= 400),
        other => panic!("a revoked session minted: {other:?}"),
    }
    match api.get_user("user_nope").await {
        Err(gatehouse_sdk::backend::ApiError::Status { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (404, "resource_not_found"))
        }
        other => panic!("{other:?}"),
    }
    let wrong_key = BackendClient::new(&server.admin_url, "sk_test_wrong");
    assert!(matches!(
        wrong_key.get_user(&user).await,
        Err(gatehouse_sdk::backend::ApiError::Status { status: 401, .. })
    ));
    server.stop().await;
}
