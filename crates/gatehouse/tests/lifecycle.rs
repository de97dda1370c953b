//! The whole session lifecycle, on SQLite and on PostgreSQL: sign-up, sign-in, tokens
//! verified by an independent JOSE library, refresh, sign-out, revocation from another
//! device, password change, ban, inactivity timeout and absolute lifetime.

mod support;

use serde_json::json;
use support::{claims, verify_with_node_jose, DbKind, TestServer, PASSWORD};

both_dbs!(
    full_lifecycle,
    second_device_revoked_from_me_sessions,
    password_change_signs_out_other_sessions,
    ban_revokes_every_session,
    inactivity_timeout_abandons_sessions,
    absolute_lifetime_expires_sessions,
    sign_up_with_email_code_from_dev_outbox,
    single_session_client_refuses_second_sign_in,
);

async fn full_lifecycle(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (user_id, first_session) = browser.sign_up("ada@example.com", PASSWORD).await;
    assert!(user_id.starts_with("user_") && first_session.starts_with("sess_"));

    // Sign out, then sign in again with the password.
    let r = browser
        .post(
            &format!("/v1/client/sessions/{first_session}/end"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "ended");
    let session = browser.sign_in("ADA@example.com", PASSWORD).await;
    assert_ne!(session, first_session);

    // A token, verified by Node's `jose` against the published JWKS.
    let r = browser.mint(&session).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "token");
    let jwt = r.body["jwt"].as_str().unwrap().to_string();
    let verified = verify_with_node_jose(&server, &jwt).expect("jose verifies the token");
    let c = &verified["claims"];
    assert_eq!(c["sub"], user_id.as_str());
    assert_eq!(c["sid"], session.as_str());
    assert_eq!(c["iss"], server.public_url.as_str());
    assert_eq!(c["azp"], server.public_url.as_str());
    assert_eq!(c["v"], 2);
    assert_eq!(c["sts"], "active");
    assert_eq!(c["fva"], json!([0, -1]));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    assert_eq!(c["iat"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(), 5);
    assert_eq!(verified["header"]["alg"], "RS256");
    assert_eq!(verified["header"]["typ"], "JWT");
    assert!(verified["header"]["kid"].is_string());
    assert_eq!(browser.cookie("__session").as_deref(), Some(jwt.as_str()));

    // Refresh: a new token with a new jti.
    let again = browser.mint(&session).await;
    assert_eq!(again.status, 200);
    let jwt2 = again.body["jwt"].as_str().unwrap();
    assert_ne!(claims(jwt2)["jti"], claims(&jwt)["jti"]);
    verify_with_node_jose(&server, jwt2).expect("refreshed token verifies");

    // A tampered token is refused by the same library.
    let mut tampered = jwt.clone();
    tampered.insert(jwt.find('.').unwrap() + 3, 'x');
    assert!(verify_with_node_jose(&server, &tampered).is_err());

    // Sign out: the token endpoint refuses and the session shows `ended`.
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.set_cookie("__client_uat")
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
        "__client_uat=0"
    );
    let r = browser.mint(&session).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error_code(), "authentication_invalid");
    let r = server.admin().get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(r.body["status"], "ended");
    let r = browser.get("/v1/me").await;
    assert_eq!(r.status, 401);
    server.stop().await;
}

async fn second_device_revoked_from_me_sessions(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("grace@example.com", PASSWORD).await;
    let laptop = server.browser();
    let phone = server.browser();
    let laptop_session = laptop.sign_in("grace@example.com", PASSWORD).await;
    let phone_session = phone.sign_in("grace@example.com", PASSWORD).await;

    let r = laptop.get("/v1/me/sessions").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<&str> = r.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&laptop_session.as_str()) && ids.contains(&phone_session.as_str()),
        "{ids:?}"
    );
    let phone_entry = r.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == phone_session.as_str())
        .unwrap();
    assert_eq!(phone_entry["latest_activity"]["browser_name"], "Chrome");
    assert_eq!(phone_entry["latest_activity"]["ip_address"], "127.0.0.1");

    let r = laptop
        .post(
            &format!("/v1/me/sessions/{phone_session}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "revoked");
    assert_eq!(phone.mint(&phone_session).await.status, 401);
    assert_eq!(laptop.mint(&laptop_session).await.status, 200);
    // Another user's session cannot be revoked.
    let other = server.browser();
    let (_, other_session) = other.sign_up("eve@example.com", PASSWORD).await;
    let r = laptop
        .post(
            &format!("/v1/me/sessions/{other_session}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(other.mint(&other_session).await.status, 200);
    server.stop().await;
}

async fn password_change_signs_out_other_sessions(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("linus@example.com", PASSWORD).await;
    let a = server.browser();
    let b = server.browser();
    let sa = a.sign_in("linus@example.com", PASSWORD).await;
    let sb = b.sign_in("linus@example.com", PASSWORD).await;
    let new_password = "a quite different passphrase 42";

    let r = a
        .post(
            "/v1/me/change_password",
            json!({"current_password": "wrong one entirely", "new_password": new_password}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "form_password_incorrect");

    let r = a
        .post(
            "/v1/me/change_password",
            json!({"current_password": PASSWORD, "new_password": new_password, "sign_out_of_other_sessions": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(b.mint(&sb).await.status, 401);
    assert_eq!(a.mint(&sa).await.status, 200);
    let c = server.browser();
    assert_eq!(
        c.sign_in_raw("linus@example.com", PASSWORD)
            .await
            .error_code(),
        "form_password_incorrect"
    );
    let c = server.browser();
    c.sign_in("linus@example.com", new_password).await;
    server.stop().await;
}

async fn ban_revokes_every_session(db: DbKind) {
    let server = TestServer::start(db).await;
    let user = server.create_user("mallory@example.com", PASSWORD).await;
    let a = server.browser();
    let b = server.browser();
    let sa = a.sign_in("mallory@example.com", PASSWORD).await;
    let sb = b.sign_in("mallory@example.com", PASSWORD).await;
    let r = server
        .admin()
        .post(&format!("/v1/users/{user}/ban"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["banned"], true);
    assert_eq!(a.mint(&sa).await.status, 401);
    assert_eq!(b.mint(&sb).await.status, 401);
    for s in [&sa, &sb] {
        assert_eq!(
            server.admin().get(&format!("/v1/sessions/{s}")).await.body["status"],
            "revoked"
        );
    }
    let c = server.browser();
    let r = c.sign_in_raw("mallory@example.com", PASSWORD).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "user_banned");
    server
        .admin()
        .post(&format!("/v1/users/{user}/unban"), json!({}))
        .await;
    server
        .browser()
        .sign_in("mallory@example.com", PASSWORD)
        .await;
    server.stop().await;
}

const MINUTE: i64 = 60_000;

async fn inactivity_timeout_abandons_sessions(db: DbKind) {
    let toml = format!(
        "{}[session]\ninactivity_timeout = \"30m\"\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    server.create_user("idle@example.com", PASSWORD).await;
    let browser = server.browser();
    let session = browser.sign_in("idle@example.com", PASSWORD).await;
    server.clock.advance(29 * MINUTE);
    assert_eq!(
        browser.mint(&session).await.status,
        200,
        "activity within the timeout"
    );
    server.clock.advance(29 * MINUTE);
    assert_eq!(
        browser.mint(&session).await.status,
        200,
        "the last mint counted as activity"
    );
    server.clock.advance(31 * MINUTE);
    assert_eq!(browser.mint(&session).await.status, 401);
    let r = server.admin().get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(r.body["status"], "abandoned");
    server.stop().await;
}

async fn absolute_lifetime_expires_sessions(db: DbKind) {
    let toml = format!(
        "{}[session]\nlifetime = \"1d\"\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    server.create_user("brief@example.com", PASSWORD).await;
    let browser = server.browser();
    let session = browser.sign_in("brief@example.com", PASSWORD).await;
    server.clock.advance(24 * 60 * MINUTE - MINUTE);
    assert_eq!(browser.mint(&session).await.status, 200);
    server.clock.advance(2 * MINUTE);
    assert_eq!(browser.mint(&session).await.status, 401);
    let r = server.admin().get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(r.body["status"], "expired");
    let r = browser.get("/v1/client").await;
    assert_eq!(r.body["response"]["sessions"], json!([]));
    server.stop().await;
}

async fn sign_up_with_email_code_from_dev_outbox(db: DbKind) {
    let server = TestServer::start_with(db, "[rate_limits]\nenabled = false\n").await;
    let browser = server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "Code.User@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sign_up = r.body["response"].clone();
    assert_eq!(sign_up["status"], "missing_requirements");
    assert_eq!(sign_up["unverified_fields"], json!(["email_address"]));
    assert_eq!(r.body["client"]["sign_up"]["id"], sign_up["id"]);
    let id = sign_up["id"].as_str().unwrap();

    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/prepare_verification"),
            json!({"strategy": "email_code"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["verifications"]["email_address"]["status"],
        "unverified"
    );
    // A resend within 30 s is refused.
    let r2 = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/prepare_verification"),
            json!({"strategy": "email_code"}),
        )
        .await;
    assert_eq!(r2.status, 429);
    assert!(r2.headers.get("retry-after").is_some());

    let outbox = server
        .admin()
        .get("/v1/dev/outbox?to=Code.User@Example.com")
        .await;
    assert_eq!(outbox.status, 200, "{}", outbox.body);
    assert_eq!(outbox.body["total_count"], 1);
    let text = outbox.body["data"][0]["text"].as_str().unwrap();
    let code: String = text
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/attempt_verification"),
            json!({"strategy": "email_code", "code": wrong}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "form_code_incorrect");

    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/attempt_verification"),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    let user_id = r.body["response"]["created_user_id"].as_str().unwrap();
    let user = server.admin().get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(
        user.body["email_addresses"][0]["verification"]["status"],
        "verified"
    );
    assert_eq!(r.body["client"]["sessions"][0]["user"]["id"], user_id);
    // The code is single use.
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/attempt_verification"),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.status, 422);
    server.stop().await;
}

async fn single_session_client_refuses_second_sign_in(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("one@example.com", PASSWORD).await;
    server.create_user("two@example.com", PASSWORD).await;
    let browser = server.browser();
    browser.sign_in("one@example.com", PASSWORD).await;
    let r = browser.sign_in_raw("two@example.com", PASSWORD).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "session_exists");
    server.stop().await;
}
