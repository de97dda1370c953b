//! Social sign-in against a real OpenID Connect provider (`oidc-provider`, run by Node on
//! 127.0.0.1) and a local server speaking GitHub's OAuth and user API, on SQLite and
//! PostgreSQL: sign-up and sign-in, transfer of an unknown account to a sign-up, linking
//! by verified email (never unverified), second factors, refused callbacks (tampered or
//! replayed state, another browser, wrong nonce, PKCE, denied consent, expiry, oversized
//! answers), linking and unlinking from `/v1/me`, and provider tokens through the Backend
//! API, refreshed when expired.

mod social_support;
mod support;

use gatehouse::clock::Clock;
use serde_json::{json, Value};
use social_support::*;
use support::{assert_error_shape, Browser, DbKind, TestServer, PASSWORD};

const MINUTE: i64 = 60_000;

fn accounts() -> Vec<Account<'static>> {
    vec![
        Account {
            login: "newbie",
            email: "newbie@example.com",
            email_verified: true,
            given_name: "New",
            family_name: "Bie",
        },
        Account {
            login: "ada",
            email: "ada@example.com",
            email_verified: true,
            given_name: "Ada",
            family_name: "Lovelace",
        },
        Account {
            login: "eve",
            email: "eve@example.com",
            email_verified: true,
            given_name: "Eve",
            family_name: "Banned",
        },
        Account {
            login: "mallory",
            email: "victim@example.com",
            email_verified: false,
            given_name: "Mal",
            family_name: "Lory",
        },
    ]
}

fn sso_callback() -> String {
    format!("{APP}/sso-callback")
}

fn dashboard() -> String {
    format!("{APP}/dashboard")
}

fn failed(reason: &str) -> String {
    format!("{APP}/sso-callback?__gatehouse_status=failed&__gatehouse_reason={reason}")
}

/// The browser's active sessions.
async fn sessions(b: &Browser) -> Vec<Value> {
    let r = b.get("/v1/client").await;
    r.body["response"]["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn user(server: &TestServer, id: &str) -> Value {
    let r = server.admin().get(&format!("/v1/users/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn user_count(server: &TestServer) -> u64 {
    server.admin().get("/v1/users").await.body["total_count"]
        .as_u64()
        .unwrap()
}

async fn oidc_sign_up_then_sign_in(db: DbKind) {
    let (server, provider) = server_with_oidc(db, &accounts(), "").await;
    let env = server.browser().get("/v1/environment").await;
    assert_eq!(
        env.body["response"]["auth_config"]["social_providers"],
        json!([{"strategy": "oauth_acme", "provider": "acme", "name": "Acme ID"}])
    );

    let b = server.browser();
    let start = start_sign_up(&b, "oauth_acme").await;
    assert_eq!(start.status, 200, "{}", start.body);
    let v = &start.body["response"]["verifications"]["external_account"];
    assert_eq!(v["status"], "unverified");
    assert_eq!(v["strategy"], "oauth_acme");
    let url = authorization_url(&start);
    assert!(url.starts_with(&format!("{}/", provider.issuer)), "{url}");
    assert_eq!(
        query_param(&url, "redirect_uri").unwrap(),
        format!("{}/v1/oauth_callback", server.public_url)
    );
    assert_eq!(query_param(&url, "code_challenge_method").unwrap(), "S256");
    assert_eq!(query_param(&url, "client_id").unwrap(), CLIENT_ID);
    assert!(query_param(&url, "nonce").unwrap().len() >= 43);
    assert!(query_param(&url, "state").unwrap().len() >= 43);
    // The client object shows the same pending verification.
    let client = b.get("/v1/client").await;
    assert_eq!(
        client.body["response"]["sign_up"]["verifications"]["external_account"]
            ["external_verification_redirect_url"],
        url.as_str()
    );

    let target = social_round_trip(&server, &b, start, "newbie").await;
    assert_eq!(target, dashboard());
    let active = sessions(&b).await;
    assert_eq!(active.len(), 1);
    let user_id = active[0]["user_id"].as_str().unwrap().to_string();
    let u = user(&server, &user_id).await;
    assert_eq!(
        u["email_addresses"][0]["email_address"],
        "newbie@example.com"
    );
    assert_eq!(
        u["email_addresses"][0]["verification"]["status"],
        "verified"
    );
    assert_eq!(
        u["email_addresses"][0]["verification"]["strategy"],
        "oauth_acme"
    );
    assert_eq!(u["first_name"], "New");
    assert_eq!(u["password_enabled"], false);
    let ea = &u["external_accounts"][0];
    assert!(ea["id"].as_str().unwrap().starts_with("eac_"), "{ea}");
    assert_eq!(ea["object"], "external_account");
    assert_eq!(ea["provider"], "oauth_acme");
    assert_eq!(ea["provider_user_id"], "newbie");
    assert_eq!(ea["email_address"], "newbie@example.com");
    assert_eq!(ea["first_name"], "New");
    assert_eq!(ea["last_name"], "Bie");
    assert_eq!(
        ea["verification"],
        json!({"status": "verified", "strategy": "oauth_acme"})
    );
    assert!(ea.get("avatar_url").is_some());
    // /v1/me shows it too.
    let me = b.get("/v1/me").await;
    assert_eq!(me.body["response"]["external_accounts"][0]["id"], ea["id"]);

    // The next sign-in, in another browser, is the same user.
    let b2 = server.browser();
    let target = social_round_trip(
        &server,
        &b2,
        start_sign_in(&b2, "oauth_acme").await,
        "newbie",
    )
    .await;
    assert_eq!(target, dashboard());
    let active = sessions(&b2).await;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["user_id"], user_id.as_str());
    assert_eq!(user_count(&server).await, 1);
    // A provider whose sign-in page is visited once more in the same browser: no forms.
    server.stop().await;
}

async fn unknown_account_at_sign_in_is_transferable(db: DbKind) {
    let (server, _provider) = server_with_oidc(db, &accounts(), "").await;
    let b = server.browser();
    let target =
        social_round_trip(&server, &b, start_sign_in(&b, "oauth_acme").await, "newbie").await;
    assert_eq!(
        target,
        format!("{APP}/sso-callback?__gatehouse_status=transferable")
    );
    assert!(sessions(&b).await.is_empty());
    let client = b.get("/v1/client").await;
    let v = &client.body["response"]["sign_in"]["first_factor_verification"];
    assert_eq!(v["status"], "transferable");
    assert_eq!(v["external_verification_redirect_url"], Value::Null);
    assert_eq!(user_count(&server).await, 0);

    let r = b
        .post("/v1/client/sign_ups", json!({"transfer": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    assert_eq!(
        r.body["response"]["verifications"]["external_account"]["status"],
        "verified"
    );
    let user_id = r.body["response"]["created_user_id"].as_str().unwrap();
    let u = user(&server, user_id).await;
    assert_eq!(u["external_accounts"][0]["provider_user_id"], "newbie");
    assert_eq!(
        u["email_addresses"][0]["verification"]["status"],
        "verified"
    );
    assert_eq!(sessions(&b).await.len(), 1);
    // A transfer is used once.
    let b2 = server.browser();
    let r = b2
        .post("/v1/client/sign_ups", json!({"transfer": true}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "sign_in_not_transferable");
    server.stop().await;
}

async fn links_by_verified_email_and_asks_for_the_second_factor(db: DbKind) {
    let (server, _provider) = server_with_oidc(db, &accounts(), "").await;
    let ada = server.create_user("ada@example.com", PASSWORD).await;
    let b = server.browser();
    let target = social_round_trip(&server, &b, start_sign_in(&b, "oauth_acme").await, "ada").await;
    assert_eq!(target, dashboard());
    assert_eq!(sessions(&b).await[0]["user_id"], ada.as_str());
    let u = user(&server, &ada).await;
    assert_eq!(u["external_accounts"].as_array().unwrap().len(), 1);
    assert_eq!(u["password_enabled"], true);
    assert_eq!(user_count(&server).await, 1);

    // With an authenticator app, the social sign-in is a first factor only.
    let r = b.post("/v1/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret =
        gatehouse::crypto::totp::base32_decode(r.body["response"]["secret"].as_str().unwrap())
            .unwrap();
    let code = |now_ms: i64| {
        gatehouse::crypto::totp::totp_at_step(
            &secret,
            gatehouse::crypto::totp::step_at(now_ms / 1000),
        )
    };
    let r = b
        .post(
            "/v1/me/totp/attempt_verification",
            json!({"code": code(server.clock.now_ms())}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b2 = server.browser();
    let target =
        social_round_trip(&server, &b2, start_sign_in(&b2, "oauth_acme").await, "ada").await;
    assert_eq!(
        target,
        format!("{APP}/sso-callback?__gatehouse_status=needs_second_factor")
    );
    assert!(sessions(&b2).await.is_empty());
    let client = b2.get("/v1/client").await;
    let sign_in = &client.body["response"]["sign_in"];
    assert_eq!(sign_in["status"], "needs_second_factor");
    server.clock.advance(30_000);
    let r = b2
        .post(
            &format!(
                "/v1/client/sign_ins/{}/attempt_second_factor",
                sign_in["id"].as_str().unwrap()
            ),
            json!({"strategy": "totp", "code": code(server.clock.now_ms())}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");

    // A banned user is neither linked nor signed in.
    let eve = server.create_user("eve@example.com", PASSWORD).await;
    assert_eq!(
        server
            .admin()
            .post(&format!("/v1/users/{eve}/ban"), json!({}))
            .await
            .status,
        200
    );
    let b3 = server.browser();
    let target =
        social_round_trip(&server, &b3, start_sign_in(&b3, "oauth_acme").await, "eve").await;
    assert_eq!(target, failed("user_banned"));
    assert!(sessions(&b3).await.is_empty());
    assert_eq!(user(&server, &eve).await["external_accounts"], json!([]));
    server.stop().await;
}

async fn an_unverified_email_is_never_linked(db: DbKind) {
    let (server, _provider) = server_with_oidc(db, &accounts(), "").await;
    let victim = server.create_user("victim@example.com", PASSWORD).await;
    for start in ["sign_in", "sign_up"] {
        let b = server.browser();
        let r = if start == "sign_in" {
            start_sign_in(&b, "oauth_acme").await
        } else {
            start_sign_up(&b, "oauth_acme").await
        };
        let target = social_round_trip(&server, &b, r, "mallory").await;
        assert_eq!(target, failed("email_not_verified"), "{start}");
        assert!(sessions(&b).await.is_empty(), "{start}");
        let client = b.get("/v1/client").await;
        let v = if start == "sign_in" {
            &client.body["response"]["sign_in"]["first_factor_verification"]
        } else {
            &client.body["response"]["sign_up"]["verifications"]["external_account"]
        };
        assert_eq!(v["status"], "failed", "{start}: {}", client.body);
    }
    assert_eq!(user(&server, &victim).await["external_accounts"], json!([]));
    assert_eq!(user_count(&server).await, 1);
    server.stop().await;
}

async fn refused_callbacks_create_no_session(db: DbKind) {
    let (server, _provider) = server_with_oidc(db, &accounts(), "").await;
    let ada = server.create_user("ada@example.com", PASSWORD).await;

    // A tampered state names no trip: the browser goes to the sign-in page.
    let b = server.browser();
    let start = start_sign_in(&b, "oauth_acme").await;
    let cb = drive(&b, &authorization_url(&start), "ada", false).await;
    let r = callback(
        &server,
        &b,
        &with_param(&cb, "state", "tampered-state-0123456789abcdefghijklmnopq"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        location(&r),
        format!(
            "{}/sign-in?__gatehouse_status=failed&__gatehouse_reason=state_invalid",
            server.public_url
        )
    );
    assert!(sessions(&b).await.is_empty());

    // The callback in another browser signs that browser in to nothing, and leaves the
    // trip to its own browser.
    let other = server.browser();
    let r = callback(&server, &other, &cb).await;
    assert_eq!(location(&r), failed("client_mismatch"));
    assert!(sessions(&other).await.is_empty());
    let r = callback(&server, &b, &cb).await;
    assert_eq!(location(&r), dashboard());
    assert_eq!(sessions(&b).await.len(), 1);

    // Replayed: refused, nothing more created.
    let r = callback(&server, &b, &cb).await;
    assert_eq!(location(&r), failed("state_used"));
    assert_eq!(sessions(&b).await.len(), 1);
    let all = server
        .admin()
        .get(&format!("/v1/sessions?user_id={ada}"))
        .await;
    assert_eq!(all.body["total_count"], 1, "{}", all.body);

    // An id_token carrying another nonce (as one for another attempt would).
    let b = server.browser();
    let url = authorization_url(&start_sign_in(&b, "oauth_acme").await);
    let other_nonce = with_param(&url, "nonce", "the-nonce-of-another-attempt-0123456789abcd");
    let cb = drive(&b, &other_nonce, "ada", false).await;
    assert_eq!(
        location(&callback(&server, &b, &cb).await),
        failed("id_token_invalid")
    );
    assert!(sessions(&b).await.is_empty());

    // The PKCE challenge of another verifier: the provider refuses to exchange the code.
    let b = server.browser();
    let url = authorization_url(&start_sign_in(&b, "oauth_acme").await);
    let challenge =
        gatehouse::crypto::pkce::s256_challenge("a verifier this sign-in never had 0123456");
    let cb = drive(
        &b,
        &with_param(&url, "code_challenge", &challenge),
        "ada",
        false,
    )
    .await;
    assert_eq!(
        location(&callback(&server, &b, &cb).await),
        failed("token_exchange_failed")
    );
    assert!(sessions(&b).await.is_empty());

    // Denied consent.
    let b = server.browser();
    let url = authorization_url(&start_sign_in(&b, "oauth_acme").await);
    let cb = drive(&b, &url, "ada", true).await;
    assert_eq!(query_param(&cb, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        location(&callback(&server, &b, &cb).await),
        failed("access_denied")
    );
    assert!(sessions(&b).await.is_empty());

    // Back after the trip expired.
    let b = server.browser();
    let url = authorization_url(&start_sign_in(&b, "oauth_acme").await);
    let cb = drive(&b, &url, "ada", false).await;
    server.clock.advance(11 * MINUTE);
    assert_eq!(
        location(&callback(&server, &b, &cb).await),
        format!("{APP}/sso-callback?__gatehouse_status=expired&__gatehouse_reason=expired")
    );
    assert!(sessions(&b).await.is_empty());
    assert_eq!(
        user(&server, &ada).await["external_accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

/// A server with the GitHub stand-in (and `extra` config).
async fn server_with_github(db: DbKind, extra: &str) -> (TestServer, GitHub) {
    let gh = GitHub::start().await;
    let toml = format!(
        "allowed_origins = [\"{APP}\"]\n[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\n{extra}\n{}",
        gh.config()
    );
    (TestServer::start_with(db, &toml).await, gh)
}

fn gh_user(id: u64, login: &str, emails: &[(&str, bool, bool)]) -> GitHubUser {
    GitHubUser {
        id,
        login: login.into(),
        name: format!("{login} Octocat"),
        emails: emails
            .iter()
            .map(|(e, p, v)| (e.to_string(), *p, *v))
            .collect(),
    }
}

async fn github_sign_up_link_and_tokens(db: DbKind) {
    let (server, gh) = server_with_github(db, "").await;
    gh.set_user(gh_user(
        42,
        "octo",
        &[
            ("old@example.com", false, true),
            ("octo@example.com", true, true),
        ],
    ));
    let b = server.browser();
    let target = social_round_trip(&server, &b, start_sign_up(&b, "oauth_github").await, "").await;
    assert_eq!(target, dashboard());
    let user_id = sessions(&b).await[0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = user(&server, &user_id).await;
    assert_eq!(u["email_addresses"][0]["email_address"], "octo@example.com");
    assert_eq!(
        u["email_addresses"][0]["verification"]["strategy"],
        "oauth_github"
    );
    let ea = &u["external_accounts"][0];
    assert_eq!(ea["provider_user_id"], "42");
    assert_eq!(ea["username"], "octo");
    assert_eq!(ea["avatar_url"], "https://avatars.example.com/u/42");

    // The provider's access token, through the Backend API.
    let path = format!("/v1/users/{user_id}/oauth_access_tokens/oauth_github");
    let r = server.admin().get(&path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total_count"], 1);
    let t = &r.body["data"][0];
    assert_eq!(t["object"], "oauth_access_token");
    assert_eq!(t["token"], "ghu_access_1");
    assert_eq!(t["provider"], "oauth_github");
    assert_eq!(t["external_account_id"], ea["id"]);
    let r2 = server
        .admin()
        .get(&format!("/v1/users/{user_id}/oauth_access_tokens/github"))
        .await;
    assert_eq!(r2.body["data"][0]["token"], "ghu_access_1");
    assert_eq!(gh.state.lock().unwrap().refreshed, 0);
    // Expired (GitHub's user tokens live eight hours): refreshed, once.
    server.clock.advance(8 * 60 * MINUTE + MINUTE);
    let r = server.admin().get(&path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"][0]["token"], "ghu_access_2");
    assert!(r.body["data"][0]["expires_at"].as_i64().unwrap() > server.clock.now_ms());
    let r = server.admin().get(&path).await;
    assert_eq!(r.body["data"][0]["token"], "ghu_access_2");
    assert_eq!(gh.state.lock().unwrap().refreshed, 1);
    // Sealed at rest: the database holds no token.
    assert_no_token_in_db(&server, "ghu_access_2").await;
    let r = server
        .admin()
        .get(&format!(
            "/v1/users/{user_id}/oauth_access_tokens/oauth_google"
        ))
        .await;
    assert_eq!(r.body, json!({"data": [], "total_count": 0}));
    let r = server
        .admin()
        .get("/v1/users/user_nobody/oauth_access_tokens/oauth_github")
        .await;
    assert_eq!(r.status, 404);

    // An unverified primary address is not linked, even when another one is verified.
    let prim = server.create_user("prim@example.com", PASSWORD).await;
    gh.set_user(gh_user(
        7,
        "prim",
        &[
            ("prim@example.com", true, false),
            ("other@example.com", false, true),
        ],
    ));
    let b = server.browser();
    let target = social_round_trip(&server, &b, start_sign_in(&b, "oauth_github").await, "").await;
    assert_eq!(target, failed("email_not_verified"));
    assert!(sessions(&b).await.is_empty());
    assert_eq!(user(&server, &prim).await["external_accounts"], json!([]));

    // A verified primary address is.
    let linked = server.create_user("linked@example.com", PASSWORD).await;
    gh.set_user(gh_user(8, "linked", &[("linked@example.com", true, true)]));
    let b = server.browser();
    let target = social_round_trip(&server, &b, start_sign_in(&b, "oauth_github").await, "").await;
    assert_eq!(target, dashboard());
    assert_eq!(sessions(&b).await[0]["user_id"], linked.as_str());
    server.stop().await;
}

/// No row of the tables holding provider data contains `token`.
async fn assert_no_token_in_db(server: &TestServer, token: &str) {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.db.url).await.unwrap();
    for sql in [
        "SELECT COALESCE(sealed_access_token, '') || COALESCE(sealed_refresh_token, '') FROM external_accounts",
        "SELECT sealed_verifier || COALESCE(sealed_result, '') FROM oauth_states",
    ] {
        for row in sqlx::query(sql).fetch_all(&pool).await.unwrap() {
            let text: String = row.get(0);
            assert!(!text.contains(token), "{sql}");
        }
    }
    pool.close().await;
}

async fn link_and_unlink_from_me(db: DbKind) {
    // Only passwords sign in here, so a social-only user has nothing but their account.
    let (server, gh) = server_with_github(db, "first_factors = [\"password\"]").await;
    server.create_user("me@example.com", PASSWORD).await;
    let b = server.browser();
    b.sign_in("me@example.com", PASSWORD).await;
    gh.set_user(gh_user(99, "me", &[("different@example.com", true, true)]));
    let r = b
        .post(
            "/v1/me/external_accounts",
            json!({"strategy": "oauth_github", "redirect_url": format!("{APP}/settings")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["verification"]["status"], "unverified");
    let cb = drive(&b, &authorization_url(&r), "", false).await;
    assert_eq!(
        location(&callback(&server, &b, &cb).await),
        format!("{APP}/settings?__gatehouse_status=verified")
    );
    let me = b.get("/v1/me").await;
    let accounts = me.body["response"]["external_accounts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["provider_user_id"], "99");
    assert_eq!(accounts[0]["email_address"], "different@example.com");

    // The same GitHub account cannot be linked to someone else.
    server.create_user("other@example.com", PASSWORD).await;
    let b2 = server.browser();
    b2.sign_in("other@example.com", PASSWORD).await;
    let r = b2
        .post(
            "/v1/me/external_accounts",
            json!({"strategy": "oauth_github", "redirect_url": format!("{APP}/settings")}),
        )
        .await;
    let cb = drive(&b2, &authorization_url(&r), "", false).await;
    assert_eq!(
        location(&callback(&server, &b2, &cb).await),
        format!(
            "{APP}/settings?__gatehouse_status=failed&__gatehouse_reason=external_account_exists"
        )
    );

    // Unlinked while a password remains.
    let id = accounts[0]["id"].as_str().unwrap();
    let r = b.delete(&format!("/v1/me/external_accounts/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        b.get("/v1/me").await.body["response"]["external_accounts"],
        json!([])
    );
    let r = b.delete(&format!("/v1/me/external_accounts/{id}")).await;
    assert_eq!(r.status, 404);

    // Never the last way to sign in.
    gh.set_user(gh_user(100, "solo", &[("solo@example.com", true, true)]));
    let b3 = server.browser();
    let target =
        social_round_trip(&server, &b3, start_sign_up(&b3, "oauth_github").await, "").await;
    assert_eq!(target, dashboard());
    let me = b3.get("/v1/me").await;
    let id = me.body["response"]["external_accounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b3.delete(&format!("/v1/me/external_accounts/{id}")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "cannot_remove_last_identifier");
    // Another user's account id is not found.
    let r = b2.delete(&format!("/v1/me/external_accounts/{id}")).await;
    assert_eq!(r.status, 404);
    server.stop().await;
}

async fn bad_input(db: DbKind) {
    let (server, gh) = server_with_github(
        db,
        "[oauth.down]\nkind = \"oidc\"\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
    )
    .await;
    let b = server.browser();
    let good = |strategy: &str| json!({"strategy": strategy, "redirect_url": sso_callback(), "action_complete_redirect_url": dashboard()});

    // Unknown providers, everywhere a strategy is taken.
    for path in ["/v1/client/sign_ins", "/v1/client/sign_ups"] {
        for strategy in [
            "oauth_nope",
            "oauth_",
            "oauth_GITHUB",
            &format!("oauth_{}", "x".repeat(5000)),
        ] {
            let r = b.post(path, good(strategy)).await;
            assert_eq!(r.status, 422, "{path} {strategy}: {}", r.body);
            assert_error_shape(&r.body);
            assert_eq!(r.error_code(), "form_param_format_invalid");
            assert_eq!(r.body["errors"][0]["meta"]["param_name"], "strategy");
        }
    }
    server.create_user("x@example.com", PASSWORD).await;
    let r = b
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "x@example.com"}),
        )
        .await;
    let sia = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = b
        .post(
            &format!("/v1/client/sign_ins/{sia}/prepare_first_factor"),
            good("oauth_nope"),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_format_invalid");
    let signed_in = server.browser();
    signed_in.sign_in("x@example.com", PASSWORD).await;
    let r = signed_in
        .post("/v1/me/external_accounts", good("oauth_nope"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_format_invalid");
    let r = signed_in
        .post(
            "/v1/me/external_accounts",
            json!({"redirect_url": sso_callback()}),
        )
        .await;
    assert_eq!(r.error_code(), "form_param_missing");

    // Redirect URLs: required, absolute, on an allowed origin.
    for (field, value, code) in [
        ("redirect_url", json!(null), "form_param_missing"),
        ("redirect_url", json!(""), "form_param_missing"),
        (
            "redirect_url",
            json!("https://evil.example.com/cb"),
            "form_param_format_invalid",
        ),
        (
            "redirect_url",
            json!("javascript:alert(1)"),
            "form_param_format_invalid",
        ),
        (
            "redirect_url",
            json!("/relative"),
            "form_param_format_invalid",
        ),
        (
            "redirect_url",
            json!(format!("{APP}/{}", "a".repeat(3000))),
            "form_param_format_invalid",
        ),
        (
            "action_complete_redirect_url",
            json!("https://evil.example.com/done"),
            "form_param_format_invalid",
        ),
        ("redirect_url", json!(7), "form_param_format_invalid"),
    ] {
        for path in ["/v1/client/sign_ins", "/v1/client/sign_ups"] {
            let mut body = good("oauth_github");
            body[field] = value.clone();
            let r = b.post(path, body).await;
            assert_eq!(r.status, 422, "{path} {field}={value}: {}", r.body);
            assert_eq!(r.error_code(), code, "{path} {field}={value}");
            assert_eq!(r.body["errors"][0]["meta"]["param_name"], field);
        }
    }

    // A provider that cannot be reached: a clear error, no trip.
    let r = b.post("/v1/client/sign_ins", good("oauth_down")).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.error_code(), "provider_unavailable");
    assert_error_shape(&r.body);

    // Callbacks without state, with garbage, and without a code.
    let cb = |q: &str| format!("{}/v1/oauth_callback{q}", server.public_url);
    for q in ["", "?code=abc", "?state=", "?state=&code=abc"] {
        let r = b.http.get(cb(q)).send().await.unwrap();
        assert_eq!(r.status(), 422, "{q}");
        let body: Value = r.json().await.unwrap();
        assert_error_shape(&body);
        assert_eq!(body["errors"][0]["code"], "form_param_missing");
        assert_eq!(body["errors"][0]["meta"]["param_name"], "state");
    }
    let sign_in_failed = format!(
        "{}/sign-in?__gatehouse_status=failed&__gatehouse_reason=state_invalid",
        server.public_url
    );
    for q in [
        "?state=garbage&code=abc".to_string(),
        format!("?state={}&code=abc", "s".repeat(10_000)),
        "?state=%ff%fe&code=abc".to_string(),
        "?state=garbage&error=access_denied".to_string(),
    ] {
        let r = callback(&server, &b, &cb(&q)).await;
        assert_eq!(r.status, 303, "{q}");
        assert_eq!(location(&r), sign_in_failed, "{q}");
    }
    let r = b.http.get(cb("?state=%00&code=abc")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_error_shape(&r.json().await.unwrap());
    gh.set_user(gh_user(5, "five", &[("five@example.com", true, true)]));
    let start = start_sign_in(&b, "oauth_github").await;
    let real = drive(&b, &authorization_url(&start), "", false).await;
    let state = query_param(&real, "state").unwrap();
    let r = callback(&server, &b, &cb(&format!("?state={state}"))).await;
    assert_eq!(location(&r), failed("provider_error"));
    assert!(sessions(&b).await.is_empty());

    // The form_post callback is passed on to the GET one.
    let r = b
        .http
        .post(cb(""))
        .header("origin", "https://appleid.apple.com")
        .form(&[("state", "s1"), ("code", "c1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        cb("?state=s1&code=c1")
    );
    let r = b
        .http
        .post(cb(""))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // An answer larger than Gatehouse reads from a provider.
    gh.state.lock().unwrap().oversized_user = true;
    let b = server.browser();
    let target = social_round_trip(&server, &b, start_sign_in(&b, "oauth_github").await, "").await;
    assert_eq!(target, failed("response_too_large"));
    assert!(sessions(&b).await.is_empty());
    server.stop().await;

    // Closed sign-ups: no social sign-up, and a sign-in for an unknown account fails.
    let (server, gh) = server_with_github(db, "sign_up = \"restricted\"").await;
    gh.set_user(gh_user(6, "six", &[("six@example.com", true, true)]));
    let b = server.browser();
    let r = start_sign_up(&b, "oauth_github").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "sign_up_disabled");
    let target = social_round_trip(&server, &b, start_sign_in(&b, "oauth_github").await, "").await;
    assert_eq!(target, failed("sign_up_disabled"));
    assert_eq!(user_count(&server).await, 0);
    server.stop().await;
}

both_dbs!(
    oidc_sign_up_then_sign_in,
    unknown_account_at_sign_in_is_transferable,
    links_by_verified_email_and_asks_for_the_second_factor,
    an_unverified_email_is_never_linked,
    refused_callbacks_create_no_session,
    github_sign_up_link_and_tokens,
    link_and_unlink_from_me,
    bad_input,
);
