//! Rate limits per IP and per identifier, and the bounded password-hashing queue.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{DbKind, TestServer, PASSWORD};

both_dbs!(
    sign_in_creation_limited_per_ip,
    attempts_limited_per_identifier_across_ips,
    full_hash_queue_answers_429_at_once,
    a_sign_in_refused_for_a_full_queue_stores_nothing,
    sign_up_code_sends_and_attempts_share_the_identifier_budget,
    code_sends_limited_per_ip_and_per_identifier,
);

const LIMITED: &str = "[auth]\nverify_email_at_sign_up = false\n[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\nsign_in_create = \"3/1m\"\nfactor_attempts = \"100/1m\"\nper_identifier = \"4/1m\"\n";

async fn sign_in_creation_limited_per_ip(db: DbKind) {
    let server = TestServer::start_with(db, LIMITED).await;
    let b = server.browser();
    let ip = "198.51.100.1".to_string();
    for _ in 0..3 {
        assert_eq!(create(&b, &ip).await.status, 200);
    }
    let r = create(&b, &ip).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "rate_limit_exceeded");
    let retry: u64 = r
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another IP has its own budget.
    assert_eq!(create(&b, "198.51.100.2").await.status, 200);
    // The window passes.
    server.clock.advance(61_000);
    assert_eq!(create(&b, &ip).await.status, 200);
    server.stop().await;
}

async fn create(b: &support::Browser, ip: &str) -> support::Resp {
    b.send(
        b.request(reqwest::Method::POST, "/v1/client/sign_ins")
            .header("x-forwarded-for", ip)
            .json(&json!({})),
    )
    .await
}

async fn attempts_limited_per_identifier_across_ips(db: DbKind) {
    let server = TestServer::start_with(db, LIMITED).await;
    server.create_user("target@example.com", PASSWORD).await;
    let mut codes = Vec::new();
    for i in 0..5 {
        let b = server.browser();
        let ip = format!("203.0.113.{i}");
        let r = b
            .send(b.request(reqwest::Method::POST, "/v1/client/sign_ins").header("x-forwarded-for", &ip).json(&json!({
                "identifier": "target@example.com", "strategy": "password", "password": "not the password at all"
            })))
            .await;
        codes.push(r.error_code().to_string());
    }
    assert_eq!(&codes[..4], ["form_password_incorrect"; 4], "{codes:?}");
    assert_eq!(
        codes[4], "rate_limit_exceeded",
        "the fifth attempt on one identifier is refused whatever the IP"
    );
    // Other identifiers are unaffected.
    server.create_user("bystander@example.com", PASSWORD).await;
    let b = server.browser();
    let r = b
        .send(b.request(reqwest::Method::POST, "/v1/client/sign_ins").header("x-forwarded-for", "203.0.113.50").json(&json!({
            "identifier": "bystander@example.com", "strategy": "password", "password": PASSWORD
        })))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    server.stop().await;
}

async fn full_hash_queue_answers_429_at_once(db: DbKind) {
    let toml =
        "[rate_limits]\nenabled = false\n[auth.password]\nhash_concurrency = 1\nhash_queue = 1\n";
    let server = TestServer::start_with(db, toml).await;
    server.create_user("busy@example.com", PASSWORD).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let b = server.browser();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let r = b
                .sign_in_raw("busy@example.com", "wrong password for load")
                .await;
            (
                r.status.as_u16(),
                r.headers.get("retry-after").is_some(),
                started.elapsed(),
            )
        }));
    }
    let mut overloaded = 0;
    let mut answered = 0;
    for t in tasks {
        let (status, retry_after, elapsed) = t.await.unwrap();
        match status {
            429 => {
                overloaded += 1;
                assert!(retry_after);
                assert!(
                    elapsed < Duration::from_millis(500),
                    "a full queue answers at once, took {elapsed:?}"
                );
            }
            422 => answered += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        overloaded >= 1,
        "12 concurrent hashes with room for 2 must shed some"
    );
    assert!(answered >= 2, "admitted requests are served");
    server.stop().await;
}

/// With the hashing pool full, a password sign-in or sign-up is refused before anything is
/// stored: no client, no cookie. Once the pool drains the same browser signs in.
async fn a_sign_in_refused_for_a_full_queue_stores_nothing(db: DbKind) {
    let toml =
        "[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\n[auth.password]\nhash_concurrency = 1\nhash_queue = 1\n";
    let server = TestServer::start_with(db, toml).await;
    server.create_user("full@example.com", PASSWORD).await;
    // Hold the only slot and the only queue place.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = std::sync::Arc::new(std::sync::Mutex::new(held));
    let mut holders = Vec::new();
    for _ in 0..2 {
        let (pool, held) = (server.app.hashes.clone(), held.clone());
        holders.push(tokio::spawn(async move {
            pool.run(move || {
                let _ = held.lock().unwrap().recv();
            })
            .await
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.app.hashes.queue_depth() < 1 {
        assert!(Instant::now() < deadline, "the pool did not fill");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let b = server.browser();
    let sign_in = b.sign_in_raw("full@example.com", PASSWORD).await;
    let sign_up = b
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "new@example.com", "password": PASSWORD}),
        )
        .await;
    for r in [&sign_in, &sign_up] {
        assert_eq!(r.status, 429, "{}", r.body);
        assert_eq!(r.error_code(), "rate_limit_exceeded");
        assert_eq!(r.headers.get("retry-after").unwrap(), "1");
        assert!(
            r.headers.get_all("set-cookie").iter().next().is_none(),
            "a refused request sets no cookie: {:?}",
            r.headers
        );
    }
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(&mut server.db_connection().await)
        .await
        .unwrap();
    assert_eq!(clients, 0, "a refused request stores no client");

    for _ in 0..2 {
        release.send(()).unwrap();
    }
    for holder in holders {
        holder.await.unwrap().unwrap();
    }
    let r = b.sign_in_raw("full@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    server.stop().await;
}

async fn sign_up_code_sends_and_attempts_share_the_identifier_budget(db: DbKind) {
    let toml = "[rate_limits]\nfactor_attempts = \"100/1m\"\nsign_up_create = \"100/1m\"\nper_identifier = \"3/1m\"\n";
    let server = TestServer::start_with(db, toml).await;
    let b = server.browser();
    let r = b
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "budget@example.com", "password": PASSWORD}),
        )
        .await;
    let id = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = b
        .post(
            &format!("/v1/client/sign_ups/{id}/prepare_verification"),
            json!({"strategy": "email_code"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let path = format!("/v1/client/sign_ups/{id}/attempt_verification");
    let attempt =
        |code: &'static str| b.post(&path, json!({"strategy": "email_code", "code": code}));
    assert_eq!(attempt("000001").await.error_code(), "form_code_incorrect");
    assert_eq!(attempt("000002").await.error_code(), "form_code_incorrect");
    let r = attempt("000003").await;
    assert_eq!(
        r.status, 429,
        "the send and two attempts used the address's budget: {}",
        r.body
    );
    server.stop().await;
}

/// Starts a sign-in for `email` from `ip` and asks for an email code; returns the answer
/// to the code request.
async fn send_code_from(server: &TestServer, ip: &str, email: &str) -> support::Resp {
    let b = server.browser();
    let r = b
        .send(
            b.request(reqwest::Method::POST, "/v1/client/sign_ins")
                .header("x-forwarded-for", ip)
                .json(&json!({ "identifier": email })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["response"]["id"].as_str().unwrap();
    b.send(
        b.request(
            reqwest::Method::POST,
            &format!("/v1/client/sign_ins/{id}/prepare_first_factor"),
        )
        .header("x-forwarded-for", ip)
        .json(&json!({"strategy": "email_code"})),
    )
    .await
}

async fn code_sends_limited_per_ip_and_per_identifier(db: DbKind) {
    // Per IP: three codes in ten minutes, to any addresses.
    let toml = "[auth]\nverify_email_at_sign_up = false\n[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
        sign_in_create = \"100/1m\"\ncode_sends = \"3/10m\"\nper_identifier = \"100/1m\"\n";
    let server = TestServer::start_with(db, toml).await;
    for n in 0..5 {
        server
            .create_user(&format!("user{n}@example.com"), PASSWORD)
            .await;
    }
    for n in 0..3 {
        let r = send_code_from(&server, "198.51.100.7", &format!("user{n}@example.com")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = send_code_from(&server, "198.51.100.7", "user3@example.com").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "rate_limit_exceeded");
    assert!(r.headers.get("retry-after").is_some());
    let r = send_code_from(&server, "198.51.100.8", "user4@example.com").await;
    assert_eq!(r.status, 200, "another IP has its own budget: {}", r.body);
    server.stop().await;

    // Per identifier: whatever the IP.
    let toml = "[auth]\nverify_email_at_sign_up = false\n[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
        sign_in_create = \"100/1m\"\ncode_sends = \"100/10m\"\nper_identifier = \"2/1m\"\n";
    let server = TestServer::start_with(db, toml).await;
    server.create_user("target@example.com", PASSWORD).await;
    let codes = statuses_from_three_ips(&server).await;
    assert_eq!(
        codes,
        [200, 200, 429],
        "the third code to one address is refused"
    );
    server.stop().await;
}

/// Three code requests for one address from three IPs.
async fn statuses_from_three_ips(server: &TestServer) -> Vec<u16> {
    let mut statuses = Vec::new();
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let r = send_code_from(server, ip, "target@example.com").await;
        statuses.push(r.status.as_u16());
    }
    statuses
}
