//! The three cookies, asserted byte for byte, and the handshake.

mod support;

use serde_json::json;
use support::{Browser, DbKind, TestServer, PASSWORD};

both_dbs!(
    cookie_attributes_on_http,
    cookie_attributes_on_https_with_domain,
    client_cookie_rotates_on_every_sign_in,
    handshake_refreshes_or_clears_session,
);

async fn cookie_attributes_on_http(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "c@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let client = r.set_cookie("__client").expect("__client set");
    let value = r.headers.get("gatehouse-client").unwrap().to_str().unwrap();
    assert_eq!(value.len(), 43, "256 bits, base64url");
    assert_eq!(
        client,
        format!("__client={value}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax")
    );
    let uat = r
        .set_cookie("__client_uat")
        .expect("__client_uat set on sign-in");
    let secs = uat
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("__client_uat=")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert!((secs - server.app.now() / 1000).abs() <= 1);
    assert_eq!(
        uat,
        format!("__client_uat={secs}; Path=/; Max-Age=604800; SameSite=Lax")
    );

    let session = r.body["response"]["created_session_id"].as_str().unwrap();
    let r = browser.mint(session).await;
    let jwt = r.body["jwt"].as_str().unwrap();
    assert_eq!(
        r.set_cookie("__session").unwrap(),
        format!("__session={jwt}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")
    );
    assert_eq!(
        r.set_cookie("__client_uat").unwrap(),
        format!("__client_uat={secs}; Path=/; Max-Age=604800; SameSite=Lax")
    );

    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(
        r.set_cookie("__client_uat").unwrap(),
        "__client_uat=0; Path=/; Max-Age=604800; SameSite=Lax"
    );
    assert_eq!(
        r.set_cookie("__session").unwrap(),
        "__session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    );
    server.stop().await;
}

async fn cookie_attributes_on_https_with_domain(db: DbKind) {
    let toml = format!(
        "{}[session]\ncookie_domain = \"example.test\"\nsession_cookie_http_only = false\n",
        support::DEFAULT_TEST_TOML
    );
    let test_db = support::TestDb::create(db).await;
    let server = TestServer::start_on(test_db, &toml, |c| {
        c.public_url = "https://auth.example.test".into()
    })
    .await;
    // A native app: no cookie jar, the client value travels in `Authorization: Client`.
    let app = Browser::new(&server.public_url, "https://auth.example.test");
    let r = app
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "s@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let value = r
        .headers
        .get("gatehouse-client")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        r.set_cookie("__client").unwrap(),
        format!("__client={value}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax; Secure")
    );
    let uat = r.set_cookie("__client_uat").unwrap();
    assert!(
        uat.ends_with("; Path=/; Max-Age=604800; Domain=example.test; SameSite=Lax; Secure"),
        "{uat}"
    );
    let session = r.body["response"]["created_session_id"].as_str().unwrap();
    let r = app
        .send(
            app.request(
                reqwest::Method::POST,
                &format!("/v1/client/sessions/{session}/tokens"),
            )
            .header("authorization", format!("Client {value}")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jwt = r.body["jwt"].as_str().unwrap();
    assert_eq!(
        r.set_cookie("__session").unwrap(),
        format!("__session={jwt}; Path=/; Max-Age=60; Domain=example.test; SameSite=Lax; Secure")
    );
    assert_eq!(support::claims(jwt)["iss"], "https://auth.example.test");
    server.stop().await;
}

async fn client_cookie_rotates_on_every_sign_in(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("rot@example.com", PASSWORD).await;
    let browser = server.browser();
    // A client exists before signing in (e.g. the page loaded `/v1/client`).
    let r = browser.get("/v1/client").await;
    assert_eq!(r.status, 200);
    let before = browser.cookie("__client").expect("client cookie");
    assert_eq!(
        r.set_cookie("__client").unwrap().split(';').next().unwrap(),
        format!("__client={before}")
    );
    let session = browser.sign_in("rot@example.com", PASSWORD).await;
    let after = browser.cookie("__client").unwrap();
    assert_ne!(
        before, after,
        "the client value is rotated on sign-in (no session fixation)"
    );
    // The old value no longer identifies the client.
    let stale = Browser::new(&server.public_url, &server.public_url);
    let r = stale
        .send(
            stale
                .request(
                    reqwest::Method::POST,
                    &format!("/v1/client/sessions/{session}/tokens"),
                )
                .header("authorization", format!("Client {before}")),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(browser.mint(&session).await.status, 200);
    // Signing out and in again rotates it again.
    browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    browser.sign_in("rot@example.com", PASSWORD).await;
    assert_ne!(browser.cookie("__client").unwrap(), after);
    server.stop().await;
}

async fn handshake_refreshes_or_clears_session(db: DbKind) {
    let toml = format!(
        "allowed_origins = [\"http://app.example.test:8080\"]\n{}",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    server.create_user("hs@example.com", PASSWORD).await;
    let browser = server.browser();
    browser.sign_in("hs@example.com", PASSWORD).await;
    let target = "http://app.example.test:8080/dashboard?x=1";
    let r = browser
        .get(&format!(
            "/v1/client/handshake?redirect_url={}",
            urlencode(target)
        ))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers.get("location").unwrap(), target);
    let session_cookie = r.set_cookie("__session").expect("fresh __session");
    let jwt = session_cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("__session=")
        .unwrap();
    assert_eq!(support::claims(jwt)["azp"], "http://app.example.test:8080");
    assert_ne!(
        r.set_cookie("__client_uat")
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
        "__client_uat=0"
    );

    // Foreign redirect targets are refused.
    for bad in [
        "https://evil.example/x",
        "javascript:alert(1)",
        "/relative",
        "",
    ] {
        let r = browser
            .get(&format!(
                "/v1/client/handshake?redirect_url={}",
                urlencode(bad)
            ))
            .await;
        assert_eq!(r.status, 422, "{bad}");
        assert!(r.headers.get("location").is_none());
    }

    // Signed out: the handshake clears `__session` and reports `__client_uat=0`.
    let stranger = server.browser();
    let r = stranger
        .get(&format!(
            "/v1/client/handshake?redirect_url={}",
            urlencode(target)
        ))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.set_cookie("__client_uat")
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
        "__client_uat=0"
    );
    assert!(r.set_cookie("__session").unwrap().contains("Max-Age=0"));
    server.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
