//! Frontend API flows beyond the lifecycle: step-by-step sign-in and sign-up, password
//! policy, `/v1/me`, the environment, operations endpoints and the OpenAPI documents.

mod support;

use serde_json::json;
use support::{DbKind, TestServer, PASSWORD};

both_dbs!(
    sign_in_step_by_step,
    a_new_browser_s_client_is_stored_with_the_password_outcome,
    sign_up_step_by_step_and_password_policy,
    me_get_update_delete,
    environment_and_operations,
    openapi_documents_list_every_served_route,
    metrics_count_requests_sign_ins_and_tokens,
);

/// A one-request password sign-in from a browser with no client stores the client in
/// the same commit as the outcome: nothing when the request is refused first, the
/// client holding the failed attempt on a wrong password, the signed-in client on success.
async fn a_new_browser_s_client_is_stored_with_the_password_outcome(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("stored@example.com", PASSWORD).await;
    let clients = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
            .fetch_one(&mut server.db_connection().await)
            .await
            .unwrap();
        n
    };

    let refused = server.browser();
    let r = refused.sign_in_raw("not an identifier!", PASSWORD).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_format_invalid");
    assert!(r.headers.get("set-cookie").is_none(), "{:?}", r.headers);
    let r = refused.sign_in_raw("nobody@example.com", PASSWORD).await;
    assert_eq!(r.error_code(), "form_identifier_not_found", "{}", r.body);
    assert!(refused.cookie("__client").is_none());
    assert_eq!(clients().await, 0, "a refused sign-in stores no client");

    let wrong = server.browser();
    let r = wrong
        .sign_in_raw("stored@example.com", "not the password")
        .await;
    assert_eq!(r.error_code(), "form_password_incorrect", "{}", r.body);
    assert!(wrong.cookie("__client").is_some(), "{:?}", r.headers);
    assert_eq!(clients().await, 1);
    // The cookie names the stored client, which holds the failed attempt.
    let r = wrong.get("/v1/client").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["sign_in"]["status"],
        "needs_first_factor"
    );
    assert_eq!(
        r.body["response"]["sign_in"]["identifier"],
        "stored@example.com"
    );
    let r = wrong.sign_in_raw("stored@example.com", PASSWORD).await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    assert_eq!(clients().await, 1, "the same browser keeps its client");

    let fresh = server.browser();
    let r = fresh.sign_in_raw("stored@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    let session_id = r.body["response"]["created_session_id"].clone();
    assert_eq!(clients().await, 2);
    let r = fresh.get("/v1/client").await;
    assert_eq!(
        r.body["response"]["sessions"][0]["id"], session_id,
        "{}",
        r.body
    );
    server.stop().await;
}

async fn sign_in_step_by_step(db: DbKind) {
    let server = TestServer::start(db).await;
    let user = server.create_user("step@example.com", PASSWORD).await;
    let browser = server.browser();
    let r = browser.post("/v1/client/sign_ins", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "needs_identifier");
    assert_eq!(r.body["client"]["sign_in"]["id"], r.body["response"]["id"]);

    let r = browser
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "step@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let attempt = r.body["response"].clone();
    assert_eq!(attempt["status"], "needs_first_factor");
    // The default first factors: the password, a code or link to the (masked) address,
    // and a password reset code.
    let email_id = server.admin().get(&format!("/v1/users/{user}")).await.body
        ["primary_email_address_id"]
        .clone();
    assert!(email_id.as_str().unwrap().starts_with("idn_"));
    let by_email = |strategy: &str| json!({"strategy": strategy, "safe_identifier": "s***@example.com", "email_address_id": email_id});
    assert_eq!(
        attempt["supported_first_factors"],
        json!([
            {"strategy": "password"},
            by_email("email_code"),
            by_email("email_link"),
            by_email("reset_password_email_code"),
        ])
    );
    let id = attempt["id"].as_str().unwrap();
    assert!(id.starts_with("sia_"));

    let r = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
    assert_eq!(r.body["response"]["status"], "needs_first_factor");
    // Another client cannot see or drive this attempt.
    let other = server.browser();
    other.get("/v1/client").await;
    assert_eq!(
        other.get(&format!("/v1/client/sign_ins/{id}")).await.status,
        404
    );

    let r = browser
        .post(
            &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
            json!({"strategy": "password", "password": "nope nope nope"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "form_password_incorrect");
    let r = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
    assert_eq!(
        r.body["response"]["first_factor_verification"]["attempts"],
        1
    );

    let r = browser
        .post(
            &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
            json!({"strategy": "password", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    assert_eq!(
        r.body["response"]["first_factor_verification"]["status"],
        "verified"
    );
    let session = r.body["response"]["created_session_id"].as_str().unwrap();
    assert_eq!(r.body["client"]["last_active_session_id"], session);
    assert_eq!(r.body["client"]["sessions"][0]["user"]["id"], user.as_str());
    assert!(r.body["client"]["sessions"][0]["user"]
        .get("private_metadata")
        .is_none());

    // A one-call sign-in with a wrong password stays the client's sign-in, to retry.
    let retry = server.browser();
    let r = retry
        .sign_in_raw("step@example.com", "nope nope nope")
        .await;
    assert_eq!(r.error_code(), "form_password_incorrect");
    let r = retry.get("/v1/client").await;
    let pending = &r.body["response"]["sign_in"];
    assert_eq!(pending["status"], "needs_first_factor", "{}", r.body);
    assert_eq!(pending["first_factor_verification"]["attempts"], 1);
    let id = pending["id"].as_str().unwrap();
    let r = retry
        .post(
            &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
            json!({"strategy": "password", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);

    // A username works as the identifier too, case-insensitively.
    server
        .admin()
        .patch(&format!("/v1/users/{user}"), json!({"username": "Stepper"}))
        .await;
    let again = server.browser();
    again.sign_in("stepper", PASSWORD).await;
    server.stop().await;
}

async fn sign_up_step_by_step_and_password_policy(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let r = browser
        .post("/v1/client/sign_ups", json!({"first_name": "Ada"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["status"], "missing_requirements");
    assert_eq!(s["required_fields"], json!(["email_address", "password"]));
    assert_eq!(s["missing_fields"], json!(["email_address", "password"]));
    let id = s["id"].as_str().unwrap().to_string();

    for (password, code) in [
        ("short", "form_password_length_too_short"),
        ("password123", "form_password_pwned"),
        ("aaaaaaaaaaaaaaaaa", "form_password_not_strong_enough"),
        (&"x".repeat(257)[..], "form_password_length_too_long"),
    ] {
        let r = browser
            .patch(
                &format!("/v1/client/sign_ups/{id}"),
                json!({"email_address": "ada@example.org", "password": password}),
            )
            .await;
        assert_eq!(r.status, 422, "{password}: {}", r.body);
        assert_eq!(r.error_code(), code, "{password}");
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], "password");
    }
    let r = browser
        .patch(
            &format!("/v1/client/sign_ups/{id}"),
            json!({"email_address": "ada@example.org"}),
        )
        .await;
    assert_eq!(r.body["response"]["missing_fields"], json!(["password"]));
    let r = browser
        .patch(
            &format!("/v1/client/sign_ups/{id}"),
            json!({"password": PASSWORD, "username": "ada_l"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    assert_eq!(r.body["response"]["missing_fields"], json!([]));
    let user_id = r.body["response"]["created_user_id"].as_str().unwrap();
    let user = server
        .admin()
        .get(&format!("/v1/users/{user_id}"))
        .await
        .body;
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["username"], "ada_l");
    assert_eq!(user["password_enabled"], true);
    // Completed attempts are closed.
    let r = browser
        .patch(
            &format!("/v1/client/sign_ups/{id}"),
            json!({"last_name": "L"}),
        )
        .await;
    assert_eq!(r.status, 422);

    // The same email again is taken, whatever its case.
    let other = server.browser();
    let r = other
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": " ADA@example.ORG ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "form_identifier_exists");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "email_address");
    server.stop().await;
}

async fn me_get_update_delete(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (user_id, session) = browser.sign_up("me@example.com", PASSWORD).await;
    let r = browser.get("/v1/me").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["id"], user_id.as_str());
    assert_eq!(r.body["response"]["object"], "user");

    // With a Bearer token and no cookies, `client` is null.
    let jwt = browser.mint(&session).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::Client::new()
        .get(format!("{}/v1/me", server.public_url))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["response"]["id"], user_id.as_str());
    assert_eq!(body["client"], serde_json::Value::Null);

    let r = browser
        .patch("/v1/me", json!({"first_name": " Grace ", "last_name": "Hopper", "unsafe_metadata": {"theme": "dark"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Grace");
    assert_eq!(
        r.body["response"]["unsafe_metadata"],
        json!({"theme": "dark"})
    );
    // Users cannot set their own public or private metadata.
    let r = browser
        .patch("/v1/me", json!({"public_metadata": {"role": "admin"}}))
        .await;
    assert_eq!(r.status, 422);
    // The same through `POST ?_method=PATCH`.
    let r = browser
        .send(
            browser
                .request(reqwest::Method::POST, "/v1/me?_method=PATCH")
                .json(&json!({"last_name": "H."})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["last_name"], "H.");

    let r = browser.delete("/v1/me").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.set_cookie("__client_uat")
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
        "__client_uat=0"
    );
    assert_eq!(
        server
            .admin()
            .get(&format!("/v1/users/{user_id}"))
            .await
            .status,
        404
    );
    assert_eq!(browser.mint(&session).await.status, 401);
    server.stop().await;
}

async fn environment_and_operations(db: DbKind) {
    let server = TestServer::start(db).await;
    let r = reqwest::get(format!("{}/v1/environment", server.public_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the environment creates no client"
    );
    let env: serde_json::Value = r.json().await.unwrap();
    assert_eq!(env["client"], serde_json::Value::Null);
    assert_eq!(env["response"]["object"], "environment");
    assert!(env["response"]["id"].as_str().unwrap().starts_with("ins_"));
    assert_eq!(
        env["response"]["auth_config"]["identifiers"],
        json!(["email_address", "username"])
    );
    assert_eq!(
        env["response"]["auth_config"]["password_settings"]["min_length"],
        8
    );

    for base in [&server.public_url, &server.admin_url] {
        let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap(),
            json!({"status": "ok"})
        );
        assert_eq!(
            reqwest::get(format!("{base}/readyz"))
                .await
                .unwrap()
                .status(),
            200
        );
        let r = reqwest::get(format!("{base}/openapi.json")).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        reqwest::get(format!("{}/metrics", server.public_url))
            .await
            .unwrap()
            .status(),
        404
    );

    let discovery: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        server.public_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["issuer"], server.public_url.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", server.public_url)
    );

    // Readiness follows the database.
    server.app.store.close().await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", server.public_url))
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.public_url))
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await;
}

async fn openapi_documents_list_every_served_route(db: DbKind) {
    let server = TestServer::start(db).await;
    let http = reqwest::Client::new();
    for (base, ops, doc_path) in [
        (
            &server.public_url,
            gatehouse::http::openapi::PUBLIC_OPERATIONS,
            "/openapi.json",
        ),
        (
            &server.admin_url,
            gatehouse::http::openapi::ADMIN_OPERATIONS,
            "/openapi.json",
        ),
    ] {
        let doc: serde_json::Value = http
            .get(format!("{base}{doc_path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for (method, path, _, _) in ops {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} documented"
            );
            // Served: the answer is never the router's "no such route" fallback.
            let url = format!(
                "{base}{}",
                path.replace("{id}", "x_1").replace("{sid}", "x_1")
            );
            let r = http
                .request(method.to_uppercase().parse().unwrap(), url)
                .bearer_auth(&server.secret_key)
                .header("origin", &server.public_url)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert_ne!(status, 405, "{method} {path}");
            assert_ne!(
                body["errors"][0]["message"], "resource not found",
                "{method} {path} is routed"
            );
        }
    }
    server.stop().await;
}

async fn metrics_count_requests_sign_ins_and_tokens(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (_, session) = browser.sign_up("metrics@example.com", PASSWORD).await;
    browser.mint(&session).await;
    server
        .browser()
        .sign_in_raw("metrics@example.com", "definitely wrong pw")
        .await;
    let text = reqwest::get(format!("{}/metrics", server.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "gatehouse_http_requests_total{",
        "route=\"/v1/client/sessions/{sid}/tokens\"",
        "gatehouse_tokens_minted_total",
        "gatehouse_sign_ins_total{outcome=\"form_password_incorrect\"}",
        "gatehouse_password_hash_queue_depth",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    server.stop().await;
}
