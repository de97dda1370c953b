//! What the real binary writes: a full flow — sign-up with an email
//! code, password sign-in (right and wrong), sign-in with an email code and with a magic
//! link, a password reset, tokens, `/v1/me`, handshake, sign-out and Backend API calls —
//! leaves no password, code, link token, session token, cookie value or key in stdout or
//! stderr, even at `debug`; request log lines are JSON with a request id, and a client's
//! `X-Request-Id` is echoed and logged.

mod process_support;
mod social_support;
mod support;

use std::collections::BTreeSet;

use process_support::{ProcEnv, Server};
use serde_json::{json, Value};
use support::{Admin, Browser, DbKind, Resp, TestDb, PASSWORD, TEST_MASTER_KEY, TEST_SECRET_KEY};

both_dbs!(
    no_secrets_in_logs_and_request_ids,
    social_sign_up_leaves_no_provider_secret_in_logs
);

const WRONG_PASSWORD: &str = "not the password at all 991";
const WRONG_SECRET_KEY: &str = "sk_live_notARealKeyButLongEnough0123456789";
const EMAIL: &str = "Log.User@example.com";

/// Everything secret the flow handled.
#[derive(Default)]
struct Secrets {
    codes: BTreeSet<String>,
    link_tokens: BTreeSet<String>,
    jwts: BTreeSet<String>,
    client_values: BTreeSet<String>,
}

impl Secrets {
    /// Records the `__client` value the browser holds now.
    fn client_of(&mut self, browser: &Browser) {
        if let Some(v) = browser.cookie("__client") {
            self.client_values.insert(v);
        }
    }

    fn jwt(&mut self, r: &Resp) -> String {
        assert_eq!(r.status, 200, "{}", r.body);
        let jwt = r.body["jwt"].as_str().expect("a token").to_string();
        self.jwts.insert(jwt.clone());
        jwt
    }
}

/// The text of the newest message the dev outbox holds for `to`.
async fn newest_message(admin: &Admin, to: &str) -> String {
    let outbox = admin.get(&format!("/v1/dev/outbox?to={to}")).await;
    assert_eq!(outbox.status, 200, "{}", outbox.body);
    outbox.body["data"][0]["text"]
        .as_str()
        .expect("a message")
        .to_string()
}

/// The first six digits of a message: its code.
fn code_in(text: &str) -> String {
    let code: String = text
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    assert_eq!(code.len(), 6, "{text}");
    code
}

/// Starts a sign-in and sends its first factor; returns the sign-in id.
async fn sign_in_with(browser: &Browser, strategy: &str, extra: Value) -> String {
    let r = browser
        .post("/v1/client/sign_ins", json!({"identifier": EMAIL}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["response"]["id"].as_str().unwrap().to_string();
    let mut body = json!({"strategy": strategy});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let r = browser
        .post(
            &format!("/v1/client/sign_ins/{id}/prepare_first_factor"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

/// Attempts a sign-in's first factor with a code.
async fn attempt_code(browser: &Browser, id: &str, strategy: &str, code: &str) -> Resp {
    let r = browser
        .post(
            &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
            json!({"strategy": strategy, "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// Whether `code` occurs in `text` as a number of its own: not inside a longer run of
/// digits, nor as the fraction of a timestamp or float (`12.345678`).
fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

async fn no_secrets_in_logs_and_request_ids(kind: DbKind) {
    let db = TestDb::create(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url)
        .set("GATEHOUSE_AUTH__VERIFY_EMAIL_AT_SIGN_UP", "true")
        .set("GATEHOUSE_LOG", "debug");
    let mut server = Server::start(&env).await;
    let admin = server.admin();
    let mut secrets = Secrets::default();

    // Sign-up with an email code read from the dev outbox.
    let browser = server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "missing_requirements");
    secrets.client_of(&browser);
    let sign_up = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{sign_up}/prepare_verification"),
            json!({"strategy": "email_code"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = code_in(&newest_message(&admin, EMAIL).await);
    secrets.codes.insert(code.clone());
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{sign_up}/attempt_verification"),
            json!({"strategy": "email_code", "code": wrong_code}),
        )
        .await;
    assert_eq!(r.error_code(), "form_code_incorrect");
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{sign_up}/attempt_verification"),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    let user_id = r.body["response"]["created_user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.client_of(&browser);

    // Tokens, /v1/me by Bearer and by cookie, the handshake.
    let jwt = secrets.jwt(&browser.mint(&session).await);
    let r = reqwest::Client::new()
        .get(format!("{}/v1/me", server.public_url))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(browser.get("/v1/me").await.status, 200);
    let redirect = format!("{}/dashboard", server.public_url);
    let r = browser
        .get(&format!(
            "/v1/client/handshake?redirect_url={}",
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.set_cookie("__session").expect("handshake sets __session");
    let handshake_jwt = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__session=")
        .to_string();
    assert_eq!(handshake_jwt.split('.').count(), 3, "{cookie}");
    secrets.jwts.insert(handshake_jwt);

    // Sign-out, then a wrong and a right password on another browser.
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = server.browser();
    let r = other.sign_in_raw(EMAIL, WRONG_PASSWORD).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "form_password_incorrect");
    secrets.client_of(&other);
    let other_browser = server.browser();
    let session = other_browser.sign_in(EMAIL, PASSWORD).await;
    secrets.client_of(&other_browser);
    secrets.jwt(&other_browser.mint(&session).await);

    // Passwordless: an email code, a magic link and a password reset.
    let by_code = server.browser();
    let id = sign_in_with(&by_code, "email_code", json!({})).await;
    let code = code_in(&newest_message(&admin, EMAIL).await);
    secrets.codes.insert(code.clone());
    let r = attempt_code(&by_code, &id, "email_code", &code).await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    secrets.client_of(&by_code);
    let by_link = server.browser();
    let redirect = format!("{}/done", server.public_url);
    sign_in_with(&by_link, "email_link", json!({"redirect_url": redirect})).await;
    let text = newest_message(&admin, EMAIL).await;
    let start = text.find("/v1/verify?token=").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    secrets
        .link_tokens
        .insert(link.trim_start_matches("/v1/verify?token=").to_string());
    let r = by_link.get(&link).await;
    assert_eq!(r.status, 303, "{}", r.body);
    secrets.client_of(&by_link);
    let resetting = server.browser();
    let id = sign_in_with(&resetting, "reset_password_email_code", json!({})).await;
    let code = code_in(&newest_message(&admin, EMAIL).await);
    secrets.codes.insert(code.clone());
    let r = attempt_code(&resetting, &id, "reset_password_email_code", &code).await;
    assert_eq!(r.body["response"]["status"], "needs_new_password");
    let r = resetting
        .post(
            &format!("/v1/client/sign_ins/{id}/reset_password"),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    secrets.client_of(&resetting);

    // Backend API with the secret key (and once with a wrong one).
    let r = admin.get(&format!("/v1/users?email_address={EMAIL}")).await;
    assert_eq!(r.body["total_count"], 1, "{}", r.body);
    assert_eq!(admin.get(&format!("/v1/users/{user_id}")).await.status, 200);
    for (password, verified) in [(PASSWORD, true), (WRONG_PASSWORD, false)] {
        let r = admin
            .post(
                &format!("/v1/users/{user_id}/verify_password"),
                json!({"password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["verified"], verified);
    }
    assert_eq!(
        admin
            .get(&format!("/v1/sessions?user_id={user_id}"))
            .await
            .status,
        200
    );
    secrets.jwt(
        &admin
            .post(&format!("/v1/sessions/{session}/tokens"), json!({}))
            .await,
    );
    assert_eq!(
        admin
            .post(&format!("/v1/sessions/{session}/revoke"), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .admin_with(WRONG_SECRET_KEY)
            .get("/v1/users")
            .await
            .status,
        401
    );

    // A client's request id is echoed, on both listeners.
    let mut sent_ids = Vec::new();
    for (base, path, id) in [
        (
            &server.public_url,
            "/v1/environment",
            "logs-test-public-7f3a",
        ),
        (&server.admin_url, "/healthz", "logs-test-admin-9c2b"),
    ] {
        let r = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["x-request-id"],
            id,
            "{path}: X-Request-Id is echoed"
        );
        sent_ids.push((path, id));
    }
    // And one is made up when the client sends none.
    let r = reqwest::get(format!("{}/healthz", server.public_url))
        .await
        .unwrap();
    assert!(!r.headers()["x-request-id"].is_empty());

    let status = server.stop().await;
    assert!(status.success(), "exit {status}");
    let output = server.output();

    // No secret anywhere in stdout or stderr.
    let fixed = [
        ("the password", PASSWORD),
        ("the wrong password", WRONG_PASSWORD),
        ("the secret key", TEST_SECRET_KEY),
        ("the wrong secret key", WRONG_SECRET_KEY),
        ("the master key", TEST_MASTER_KEY),
    ];
    for (what, secret) in fixed {
        assert!(!output.contains(secret), "{what} is in the logs:\n{output}");
    }
    for code in secrets.codes.iter().chain([wrong_code.to_string()].iter()) {
        assert!(
            !contains_code(&output, code),
            "the code {code} is in the logs:\n{output}"
        );
    }
    assert_eq!(secrets.link_tokens.len(), 1);
    for token in &secrets.link_tokens {
        assert!(token.len() >= 43, "{token}");
        assert!(
            !output.contains(token.as_str()),
            "a link token is in the logs:\n{output}"
        );
    }
    assert!(secrets.codes.len() >= 3, "{:?}", secrets.codes);
    assert!(secrets.jwts.len() >= 4);
    for jwt in &secrets.jwts {
        let signature = jwt.rsplit('.').next().unwrap();
        assert!(
            !output.contains(signature),
            "a session token is in the logs:\n{output}"
        );
    }
    // Any JWT at all: a JOSE header starts `{"` (base64 `eyJ`) and ends at a dot.
    assert!(
        !contains_jwt_like(&output),
        "something like a JWT is in the logs:\n{output}"
    );
    assert!(
        secrets.client_values.len() >= 6,
        "{:?}",
        secrets.client_values
    );
    for value in &secrets.client_values {
        assert!(
            !output.contains(value.as_str()),
            "a __client value is in the logs:\n{output}"
        );
    }

    // Request log lines: JSON, each with a request id; the sent ids are logged.
    let json_lines: Vec<Value> = output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {l}"))
        })
        .collect();
    let requests: Vec<&Value> = json_lines
        .iter()
        .filter(|l| l["target"] == "gatehouse::http" && l["message"] == "request")
        .collect();
    assert!(
        requests.len() >= 25,
        "{} request lines:\n{output}",
        requests.len()
    );
    for line in &requests {
        let id = line["request_id"].as_str().unwrap_or("");
        assert!(
            !id.is_empty(),
            "a request line without a request id: {line}"
        );
        assert!(
            line["timestamp"].is_string() && line["level"] == "INFO",
            "{line}"
        );
        assert!(
            line["status"].is_u64() && line["method"].is_string() && line["path"].is_string(),
            "{line}"
        );
    }
    for (path, id) in sent_ids {
        assert!(
            requests
                .iter()
                .any(|l| l["request_id"] == id && l["path"] == path),
            "no request line with request_id {id} for {path}"
        );
    }
    // Generated ids are distinct per request.
    let ids: BTreeSet<&str> = requests
        .iter()
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    assert_eq!(ids.len(), requests.len(), "request ids repeat");
    // Every line that is not part of the start-up banner is a JSON log line.
    for line in output.lines() {
        let banner = line.is_empty() || line.starts_with("Gatehouse ") || line.starts_with("  ");
        assert!(
            banner || line.starts_with('{'),
            "a log line that is not JSON: {line}"
        );
    }
}

/// A sign-up through a real OpenID Connect provider, at `debug`: the `state`, the nonce's
/// trip, the authorization code, the provider's access token, its id_token and the client
/// secret appear nowhere in what the binary writes.
async fn social_sign_up_leaves_no_provider_secret_in_logs(kind: DbKind) {
    use social_support::{
        authorization_url, drive, query_param, start_sign_up, Account, OidcProvider, APP,
        CLIENT_ID, CLIENT_SECRET,
    };
    let mut provider = OidcProvider::start(&[Account {
        login: "lena",
        email: "lena@example.com",
        email_verified: true,
        given_name: "Lena",
        family_name: "Logs",
    }]);
    let db = TestDb::create(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url)
        .set("GATEHOUSE_LOG", "debug")
        .set("GATEHOUSE_ALLOWED_ORIGINS", APP)
        .set("GATEHOUSE_OAUTH__ACME__KIND", "oidc")
        .set("GATEHOUSE_OAUTH__ACME__ISSUER", &provider.issuer)
        .set("GATEHOUSE_OAUTH__ACME__CLIENT_ID", CLIENT_ID)
        .set("GATEHOUSE_OAUTH__ACME__CLIENT_SECRET", CLIENT_SECRET);
    let mut server = Server::start(&env).await;
    provider.allow_redirect(&format!("{}/v1/oauth_callback", server.public_url));

    let browser = server.browser();
    let start = start_sign_up(&browser, "oauth_acme").await;
    assert_eq!(start.status, 200, "{}", start.body);
    let authorize = authorization_url(&start);
    let state = query_param(&authorize, "state").expect("a state");
    let nonce = query_param(&authorize, "nonce").expect("a nonce");
    let callback = drive(&browser, &authorize, "lena", false).await;
    let code = query_param(&callback, "code").expect("an authorization code");
    let r = browser.http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{APP}/dashboard")
    );

    let admin = server.admin();
    let users = admin.get("/v1/users?email_address=lena@example.com").await;
    assert_eq!(users.body["total_count"], 1, "{}", users.body);
    let user_id = users.body["data"][0]["id"].as_str().unwrap().to_string();
    let tokens = admin
        .get(&format!("/v1/users/{user_id}/oauth_access_tokens/acme"))
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access_token = tokens.body["data"][0]["token"]
        .as_str()
        .expect("the provider's access token")
        .to_string();
    server.stop().await;

    let output = server.output();
    assert!(
        output.contains("oauth_callback"),
        "the callback was logged at all"
    );
    for (what, secret) in [
        ("the state", state.as_str()),
        ("the nonce", nonce.as_str()),
        ("the authorization code", code.as_str()),
        ("the provider's access token", access_token.as_str()),
        ("the client secret", CLIENT_SECRET),
    ] {
        assert!(
            secret.len() >= 16,
            "{what} is too short to search for: {secret}"
        );
        assert!(!output.contains(secret), "{what} is in the logs:\n{output}");
    }
    // The provider's id_token (and any other JWT).
    assert!(
        !contains_jwt_like(&output),
        "a JWT is in the logs:\n{output}"
    );
}

/// Whether `text` holds something shaped like a compact JWS: `eyJ` and more base64url
/// characters, then a dot. (A random id may contain `eyJ`, but never a dot after it.)
fn contains_jwt_like(text: &str) -> bool {
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(at, _)| {
        let rest = &text[at..];
        let header = rest.find(|c: char| !base64url(c)).unwrap_or(rest.len());
        header >= 10 && rest[header..].starts_with('.')
    })
}

#[test]
fn jwt_like_strings_are_told_from_ids() {
    assert!(contains_jwt_like(
        "x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln y"
    ));
    assert!(!contains_jwt_like(
        r#""request_id":"req_3MpJM5XqJzYXzzSa8geyJlctFtK","#
    ));
    assert!(!contains_jwt_like("eyJ."));
}
