//! Bad input never gets a 500: every 4xx carries the API error body
//! `{"errors": [{code, message, long_message, meta}]}`. Malformed and non-object JSON,
//! wrong types, content types, oversized bodies, unknown ids and routes, secret keys,
//! the Origin rule, client quirks (`?_method=`, empty bodies, forms), secrets kept out of
//! error bodies, and a property test that throws arbitrary bodies at every POST and PATCH
//! route of both listeners.

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use reqwest::Method;
use serde_json::{json, Map, Value};
use support::{assert_error_shape, Browser, DbKind, Resp, TestServer, PASSWORD, TEST_SECRET_KEY};

both_dbs!(
    malformed_json_is_400,
    json_that_is_not_an_object_is_400,
    wrong_field_types_are_422_with_param_name,
    wrong_content_type_is_400,
    oversized_bodies_are_413_on_both_listeners,
    unknown_ids_are_404,
    unknown_routes_are_404_json,
    missing_wrong_or_short_secret_keys_are_401,
    origin_rule_for_cookie_authenticated_mutations,
    allowed_origins_from_configuration,
    method_override_on_the_frontend_api,
    empty_post_body_reads_as_empty_object,
    form_bodies_on_the_frontend_api_only,
    secrets_never_appear_in_error_bodies,
    nul_characters_are_refused_alike_on_both_databases,
    undecodable_paths_and_queries_get_json_errors,
    passwordless_steps_refuse_bad_input,
);

// ---------------------------------------------------------------------------------------
// Helpers

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert_error_shape(&r.body);
    let ct = r
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "error content type {ct:?}"
    );
}

#[track_caller]
fn assert_param_error(r: &Resp, code: &str, param: &str) {
    assert_error(r, 422, code);
    assert_eq!(
        r.body["errors"][0]["meta"]["param_name"], param,
        "{}",
        r.body
    );
}

/// A server with a signed-in browser, an open sign-in and an open sign-up.
struct Fixture {
    server: TestServer,
    user_id: String,
    /// Signed in as `user@example.com`.
    signed_in: Browser,
    session_id: String,
    /// Holds `sign_in_id` (waiting for a password) and `sign_up_id` (missing requirements).
    attempts: Browser,
    sign_in_id: String,
    sign_up_id: String,
}

impl Fixture {
    async fn start(db: DbKind) -> Fixture {
        Self::on(TestServer::start(db).await).await
    }

    async fn on(server: TestServer) -> Fixture {
        let user_id = server.create_user("user@example.com", PASSWORD).await;
        let signed_in = server.browser();
        let session_id = signed_in.sign_in("user@example.com", PASSWORD).await;
        let attempts = server.browser();
        let r = attempts
            .post(
                "/v1/client/sign_ins",
                json!({"identifier": "user@example.com"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let sign_in_id = r.body["response"]["id"].as_str().unwrap().to_string();
        let r = attempts
            .post("/v1/client/sign_ups", json!({"username": "someone_new"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let sign_up_id = r.body["response"]["id"].as_str().unwrap().to_string();
        Fixture {
            server,
            user_id,
            signed_in,
            session_id,
            attempts,
            sign_in_id,
            sign_up_id,
        }
    }

    /// Frontend API routes that read a body, with the browser whose state they act on.
    fn public_body_routes(&self) -> Vec<(Method, String, &Browser)> {
        let (sia, sua, sess) = (&self.sign_in_id, &self.sign_up_id, &self.session_id);
        vec![
            (Method::POST, "/v1/client/sign_ins".into(), &self.attempts),
            (
                Method::POST,
                format!("/v1/client/sign_ins/{sia}/attempt_first_factor"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ins/{sia}/prepare_first_factor"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ins/{sia}/reset_password"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ins/{sia}/prepare_second_factor"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ins/{sia}/attempt_second_factor"),
                &self.attempts,
            ),
            (Method::POST, "/v1/client/sign_ups".into(), &self.attempts),
            (
                Method::PATCH,
                format!("/v1/client/sign_ups/{sua}"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ups/{sua}/prepare_verification"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sign_ups/{sua}/attempt_verification"),
                &self.attempts,
            ),
            (
                Method::POST,
                format!("/v1/client/sessions/{sess}/touch"),
                &self.signed_in,
            ),
            (Method::PATCH, "/v1/me".into(), &self.signed_in),
            (
                Method::POST,
                "/v1/me/change_password".into(),
                &self.signed_in,
            ),
            (
                Method::POST,
                "/v1/me/email_addresses".into(),
                &self.signed_in,
            ),
            (Method::POST, "/v1/me/phone_numbers".into(), &self.signed_in),
            (
                Method::POST,
                "/v1/me/external_accounts".into(),
                &self.signed_in,
            ),
        ]
    }

    /// Backend API routes that read a body.
    fn admin_body_routes(&self) -> Vec<(Method, String)> {
        let id = &self.user_id;
        vec![
            (Method::POST, "/v1/users".into()),
            (Method::PATCH, format!("/v1/users/{id}")),
            (Method::PATCH, format!("/v1/users/{id}/metadata")),
            (Method::POST, format!("/v1/users/{id}/verify_password")),
        ]
    }

    /// A raw Backend API request with the secret key.
    fn admin_request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{}", self.server.admin_url, path))
            .header(AUTHORIZATION, format!("Bearer {}", self.server.secret_key))
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        self.signed_in.send(rb).await
    }

    /// Requests carrying `body` with `content_type` to every body-reading route of both listeners.
    fn requests_everywhere(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<(String, reqwest::RequestBuilder)> {
        let mut out = Vec::new();
        for (method, path, browser) in self.public_body_routes() {
            out.push((
                format!("public {method} {path}"),
                browser.request(method, &path),
            ));
        }
        for (method, path) in self.admin_body_routes() {
            out.push((
                format!("admin {method} {path}"),
                self.admin_request(method, &path),
            ));
        }
        out.into_iter()
            .map(|(route, rb)| {
                let rb = rb.body(body.to_vec());
                (
                    route,
                    match content_type {
                        Some(ct) => rb.header(CONTENT_TYPE, ct),
                        None => rb,
                    },
                )
            })
            .collect()
    }

    /// Sends `body` with `content_type` to every body-reading route of both listeners.
    async fn send_everywhere(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<(String, Resp)> {
        let mut out = Vec::new();
        for (route, rb) in self.requests_everywhere(content_type, body) {
            out.push((route, self.send(rb).await));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Bodies

async fn malformed_json_is_400(db: DbKind) {
    let fx = Fixture::start(db).await;
    let deep_array = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_object = format!("{{\"a\":{}1{}}}", "{\"a\":".repeat(300), "}".repeat(300));
    let cases: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"{\"identifier\": }".to_vec(),
        b"{\"identifier\": \"a@b.co\",}".to_vec(),
        b"not json at all".to_vec(),
        b"{'single': 'quotes'}".to_vec(),
        b"{\"a\": 1}{\"b\": 2}".to_vec(),
        b"{\"a\": \"\\ud800\"}".to_vec(),
        b"{\"a\": \"unterminated".to_vec(),
        b"{\"a\": NaN}".to_vec(),
        vec![0xff, 0xfe, 0x7b, 0x7d],
        b"{\"a\": \"\xff\"}".to_vec(),
        deep_array.into_bytes(),
        deep_object.into_bytes(),
    ];
    for body in &cases {
        for ct in [
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            None,
        ] {
            for (route, r) in fx.send_everywhere(ct, body).await {
                assert_error(&r, 400, "request_body_invalid");
                let _ = route;
            }
        }
    }
    fx.server.stop().await;
}

async fn json_that_is_not_an_object_is_400(db: DbKind) {
    let fx = Fixture::start(db).await;
    for body in [
        "[]",
        "[1, 2]",
        "[{\"identifier\": \"user@example.com\"}]",
        "\"a string\"",
        "5",
        "-1.5e3",
        "null",
        "true",
    ] {
        for (route, r) in fx
            .send_everywhere(Some("application/json"), body.as_bytes())
            .await
        {
            assert_eq!(r.status, 400, "{route} {body}: {}", r.body);
            assert_error(&r, 400, "request_body_invalid");
        }
    }
    fx.server.stop().await;
}

async fn wrong_field_types_are_422_with_param_name(db: DbKind) {
    let fx = Fixture::start(db).await;
    let (a, s) = (&fx.attempts, &fx.signed_in);
    let sia = &fx.sign_in_id;
    let sua = &fx.sign_up_id;
    let public: Vec<(&Browser, Method, String, Value, &str)> = vec![
        (
            a,
            Method::POST,
            "/v1/client/sign_ins".into(),
            json!({"identifier": 5}),
            "identifier",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ins".into(),
            json!({"identifier": "user@example.com", "strategy": "password", "password": 5}),
            "password",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ins".into(),
            json!({"identifier": "user@example.com", "strategy": ["password"]}),
            "strategy",
        ),
        (
            a,
            Method::POST,
            format!("/v1/client/sign_ins/{sia}/attempt_first_factor"),
            json!({"strategy": "password", "password": {"a": 1}}),
            "password",
        ),
        (
            a,
            Method::POST,
            format!("/v1/client/sign_ins/{sia}/attempt_first_factor"),
            json!({"strategy": 1}),
            "strategy",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"email_address": {}}),
            "email_address",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"email_address": ["x@example.com"]}),
            "email_address",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"password": 12345678}),
            "password",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"username": true}),
            "username",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"first_name": 1.5}),
            "first_name",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"unsafe_metadata": "not an object"}),
            "unsafe_metadata",
        ),
        (
            a,
            Method::POST,
            "/v1/client/sign_ups".into(),
            json!({"unsafe_metadata": [1]}),
            "unsafe_metadata",
        ),
        (
            a,
            Method::PATCH,
            format!("/v1/client/sign_ups/{sua}"),
            json!({"phone_number": 14155550123_i64}),
            "phone_number",
        ),
        (
            a,
            Method::POST,
            format!("/v1/client/sign_ups/{sua}/attempt_verification"),
            json!({"strategy": "email_code", "code": 123456}),
            "code",
        ),
        (
            s,
            Method::PATCH,
            "/v1/me".into(),
            json!({"first_name": 1}),
            "first_name",
        ),
        (
            s,
            Method::PATCH,
            "/v1/me".into(),
            json!({"unsafe_metadata": "x"}),
            "unsafe_metadata",
        ),
        (
            s,
            Method::POST,
            "/v1/me/change_password".into(),
            json!({"current_password": PASSWORD, "new_password": "a new passphrase 77", "sign_out_of_other_sessions": "yes"}),
            "sign_out_of_other_sessions",
        ),
        (
            s,
            Method::POST,
            "/v1/me/change_password".into(),
            json!({"current_password": PASSWORD, "new_password": ["a new passphrase 77"]}),
            "new_password",
        ),
    ];
    for (browser, method, path, body, param) in public {
        let r = browser
            .send(browser.request(method.clone(), &path).json(&body))
            .await;
        assert_eq!(r.status, 422, "{method} {path} {body}: {}", r.body);
        assert_param_error(&r, "form_param_format_invalid", param);
    }
    let id = &fx.user_id;
    let admin: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/v1/users".into(),
            json!({"email_address": "single@example.com"}),
            "email_address",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"email_address": [{}]}),
            "email_address",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": 5}),
            "username",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "okname", "password": 5}),
            "password",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "okname", "skip_password_checks": "true"}),
            "skip_password_checks",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "okname", "public_metadata": 1}),
            "public_metadata",
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}"),
            json!({"first_name": []}),
            "first_name",
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}"),
            json!({"skip_password_checks": 1}),
            "skip_password_checks",
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}/metadata"),
            json!({"public_metadata": 5}),
            "public_metadata",
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}/metadata"),
            json!({"private_metadata": "x"}),
            "private_metadata",
        ),
        (
            Method::POST,
            format!("/v1/users/{id}/verify_password"),
            json!({"password": []}),
            "password",
        ),
        (
            Method::POST,
            format!("/v1/users/{id}/verify_password"),
            json!({"password": null, "x": 1}),
            "password",
        ),
    ];
    for (method, path, body, param) in admin {
        let r = fx
            .send(fx.admin_request(method.clone(), &path).json(&body))
            .await;
        let code = if body.get("password").is_some_and(Value::is_null) {
            "form_param_missing"
        } else {
            "form_param_format_invalid"
        };
        assert_eq!(r.status, 422, "{method} {path} {body}: {}", r.body);
        assert_param_error(&r, code, param);
    }
    // Query parameters of the Backend API, too.
    for (q, param) in [
        ("limit=ten", "limit"),
        ("offset=1e3", "offset"),
        ("limit=", "limit"),
    ] {
        let r = fx
            .send(fx.admin_request(Method::GET, &format!("/v1/users?{q}")))
            .await;
        assert_param_error(&r, "form_param_format_invalid", param);
    }
    // Nothing changed for the user.
    let u = fx
        .send(fx.admin_request(Method::GET, &format!("/v1/users/{id}")))
        .await;
    assert_eq!(u.body["first_name"], Value::Null);
    assert_eq!(u.body["public_metadata"], json!({}));
    fx.server.stop().await;
}

async fn wrong_content_type_is_400(db: DbKind) {
    let fx = Fixture::start(db).await;
    let json_body =
        json!({"identifier": "user@example.com", "email_address": ["x@example.com"]}).to_string();
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json-patch+json",
        "text/json",
        "application/jsonx",
        "",
        "*/*",
    ] {
        for (route, r) in fx.send_everywhere(Some(ct), json_body.as_bytes()).await {
            assert_eq!(r.status, 400, "{route} {ct:?}: {}", r.body);
            assert_error(&r, 400, "request_body_invalid");
        }
        // Even an empty body with a foreign content type.
        for (route, r) in fx.send_everywhere(Some(ct), b"").await {
            assert_eq!(r.status, 400, "{route} {ct:?} (empty): {}", r.body);
            assert_error(&r, 400, "request_body_invalid");
        }
    }
    fx.server.stop().await;
}

async fn oversized_bodies_are_413_on_both_listeners(db: DbKind) {
    let fx = Fixture::start(db).await;
    let limit = 1024 * 1024;
    let body = |size: usize| {
        let mut b = b"{\"first_name\": \"".to_vec();
        b.resize(size - 2, b'x');
        b.extend_from_slice(b"\"}");
        b
    };
    // Just over the limit: the whole body is sent, the answer is a 413 in the API's error shape.
    // Far over it: the server answers without reading everything and closes the
    // connection, so a client still writing may see the connection drop instead; any
    // answer that does arrive must be the 413.
    for (payload, strict) in [(body(limit + 1), true), (body(3 * limit), false)] {
        for ct in [
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            for (route, rb) in fx.requests_everywhere(ct, &payload) {
                let mut answer = None;
                for _ in 0..5 {
                    match try_send(rb.try_clone().expect("a cloneable request")).await {
                        Ok(r) => {
                            answer = Some(r);
                            break;
                        }
                        Err(e) => assert!(e.is_request() || e.is_body(), "{route}: {e}"),
                    }
                }
                let Some(r) = answer else {
                    assert!(
                        !strict,
                        "{route}: no answer to a body of {} bytes",
                        payload.len()
                    );
                    continue;
                };
                assert_eq!(
                    r.status,
                    413,
                    "{route} {ct:?} {} bytes: {}",
                    payload.len(),
                    r.body
                );
                assert_error(&r, 413, "request_body_too_large");
            }
        }
    }
    // Just under the limit is read (and then judged on its content).
    let fits = body(limit - 64);
    for (route, r) in fx.send_everywhere(Some("application/json"), &fits).await {
        assert!(
            r.status != 413 && r.status.as_u16() < 500,
            "{route}: {}",
            r.status
        );
        if !r.status.is_success() {
            assert_error_shape(&r.body);
        }
    }
    fx.server.stop().await;
}

/// Sends a request; a transport error is returned, not a panic.
async fn try_send(rb: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
    let r = rb.send().await?;
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await?;
    Ok(Resp {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

// ---------------------------------------------------------------------------------------
// Passwordless steps

async fn passwordless_steps_refuse_bad_input(db: DbKind) {
    let fx = Fixture::start(db).await;
    let (a, s) = (&fx.attempts, &fx.signed_in);
    let sia = &fx.sign_in_id;
    let step = |action: &str, body: Value| {
        let path = format!("/v1/client/sign_ins/{sia}/{action}");
        async move { a.post(&path, body).await }
    };
    let big = "9".repeat(100_000);
    let redirect = format!("{}/done", fx.server.public_url);

    // Strategies: missing, of the wrong type, unknown, or enormous.
    assert_param_error(
        &step("prepare_first_factor", json!({})).await,
        "form_param_missing",
        "strategy",
    );
    for strategy in [
        json!(5),
        json!("carrier_pigeon"),
        json!("password"),
        json!(big),
    ] {
        let r = step("prepare_first_factor", json!({"strategy": strategy})).await;
        assert_param_error(&r, "form_param_format_invalid", "strategy");
        assert!(
            r.body.to_string().len() < 1000,
            "the error does not echo it: {}",
            r.body
        );
        if strategy != "password" {
            let r = step(
                "attempt_first_factor",
                json!({"strategy": strategy, "code": "123456"}),
            )
            .await;
            assert_param_error(&r, "form_param_format_invalid", "strategy");
        }
    }
    // Ids that are not this sign-in's, of the wrong type, or enormous.
    for id in [json!("idn_0000000000000000000000000"), json!(big)] {
        let r = step(
            "prepare_first_factor",
            json!({"strategy": "email_code", "email_address_id": id}),
        )
        .await;
        assert_param_error(&r, "form_param_format_invalid", "email_address_id");
    }
    let r = step(
        "prepare_first_factor",
        json!({"strategy": "email_code", "email_address_id": ["x"]}),
    )
    .await;
    assert_param_error(&r, "form_param_format_invalid", "email_address_id");
    // Magic links need an allowed redirect of sane length.
    for url in [
        json!(null),
        json!(format!("{redirect}?{big}")),
        json!("https://evil.example/"),
        json!(7),
    ] {
        let r = step(
            "prepare_first_factor",
            json!({"strategy": "email_link", "redirect_url": url}),
        )
        .await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(
            r.body["errors"][0]["meta"]["param_name"], "redirect_url",
            "{}",
            r.body
        );
    }
    // Codes: missing, before one was sent, wrong type, enormous.
    assert_param_error(
        &step("attempt_first_factor", json!({"strategy": "email_code"})).await,
        "form_param_missing",
        "code",
    );
    assert_error(
        &step(
            "attempt_first_factor",
            json!({"strategy": "email_code", "code": "123456"}),
        )
        .await,
        422,
        "verification_failed",
    );
    assert_param_error(
        &step(
            "attempt_first_factor",
            json!({"strategy": "email_code", "code": 123456}),
        )
        .await,
        "form_param_format_invalid",
        "code",
    );
    assert_eq!(
        step("prepare_first_factor", json!({"strategy": "email_code"}))
            .await
            .status,
        200
    );
    assert_param_error(
        &step(
            "attempt_first_factor",
            json!({"strategy": "email_code", "code": big}),
        )
        .await,
        "form_code_incorrect",
        "code",
    );
    // Steps of another state.
    assert_error(
        &step("reset_password", json!({"password": PASSWORD})).await,
        422,
        "sign_in_invalid_state",
    );
    assert_param_error(
        &step("reset_password", json!({})).await,
        "form_param_missing",
        "password",
    );
    assert_error(
        &step("prepare_second_factor", json!({"strategy": "phone_code"})).await,
        422,
        "sign_in_invalid_state",
    );
    assert_error(
        &step(
            "attempt_second_factor",
            json!({"strategy": "phone_code", "code": "1"}),
        )
        .await,
        422,
        "sign_in_invalid_state",
    );
    // Forms work like JSON.
    let r = a
        .send(
            a.request(
                Method::POST,
                &format!("/v1/client/sign_ins/{sia}/attempt_first_factor"),
            )
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[("strategy", "email_code"), ("code", "")])),
        )
        .await;
    assert_param_error(&r, "form_param_missing", "code");

    // Another client's attempts are not found, whatever the step.
    let other = fx.server.browser();
    let theirs = other
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "user@example.com"}),
        )
        .await
        .body["response"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let their_sign_up = other
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "theirs@example.com"}),
        )
        .await
        .body["response"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (path, body) in [
        (
            format!("/v1/client/sign_ins/{theirs}/prepare_first_factor"),
            json!({"strategy": "email_code"}),
        ),
        (
            format!("/v1/client/sign_ins/{theirs}/attempt_first_factor"),
            json!({"strategy": "email_code", "code": "123456"}),
        ),
        (
            format!("/v1/client/sign_ins/{theirs}/reset_password"),
            json!({"password": PASSWORD}),
        ),
        (
            format!("/v1/client/sign_ins/{theirs}/prepare_second_factor"),
            json!({"strategy": "phone_code"}),
        ),
        (
            format!("/v1/client/sign_ins/{theirs}/attempt_second_factor"),
            json!({"strategy": "phone_code", "code": "123456"}),
        ),
        (
            format!("/v1/client/sign_ups/{their_sign_up}/prepare_verification"),
            json!({"strategy": "email_link", "redirect_url": redirect}),
        ),
    ] {
        assert_error(&a.post(&path, body).await, 404, "resource_not_found");
    }
    // Sign-up verification: unknown strategies, a field the sign-up lacks.
    let sua = &fx.sign_up_id;
    let r = a
        .post(
            &format!("/v1/client/sign_ups/{sua}/prepare_verification"),
            json!({"strategy": "carrier_pigeon"}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "strategy");
    let r = a
        .post(
            &format!("/v1/client/sign_ups/{sua}/prepare_verification"),
            json!({"strategy": "phone_code"}),
        )
        .await;
    assert_param_error(&r, "form_param_missing", "phone_number");
    // The link target: a missing or enormous token.
    assert_param_error(&s.get("/v1/verify").await, "form_param_missing", "token");
    let r = s
        .get(&format!("/v1/verify?token={}", "t".repeat(8_000)))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .ends_with("__gatehouse_status=failed"));
    // /v1/me identifiers: wrong types and enormous values.
    let r = s
        .post(
            "/v1/me/email_addresses",
            json!({"email_address": ["a@b.co"]}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "email_address");
    let r = s
        .post("/v1/me/email_addresses", json!({"email_address": big}))
        .await;
    assert_param_error(&r, "form_param_format_invalid", "email_address");
    let r = s
        .post(
            "/v1/me/email_addresses/idn_x/attempt_verification",
            json!({"code": big}),
        )
        .await;
    assert_error(&r, 404, "resource_not_found");
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Ids and routes

async fn unknown_ids_are_404(db: DbKind) {
    let fx = Fixture::start(db).await;
    let (a, s) = (&fx.attempts, &fx.signed_in);
    // Unknown, and known but belonging to another client or user.
    let other = fx.server.browser();
    let r = other
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "user@example.com"}),
        )
        .await;
    let foreign_sign_in = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = other.post("/v1/client/sign_ups", json!({})).await;
    let foreign_sign_up = r.body["response"]["id"].as_str().unwrap().to_string();
    fx.server.create_user("other@example.com", PASSWORD).await;
    let stranger = fx.server.browser();
    let foreign_session = stranger.sign_in("other@example.com", PASSWORD).await;

    for id in [
        "sia_0000000000000000000000000",
        "nope",
        foreign_sign_in.as_str(),
    ] {
        assert_error(
            &a.get(&format!("/v1/client/sign_ins/{id}")).await,
            404,
            "resource_not_found",
        );
        let r = a
            .post(
                &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
                json!({"strategy": "password", "password": PASSWORD}),
            )
            .await;
        assert_error(&r, 404, "resource_not_found");
    }
    for id in [
        "sua_0000000000000000000000000",
        "nope",
        foreign_sign_up.as_str(),
    ] {
        assert_error(
            &a.get(&format!("/v1/client/sign_ups/{id}")).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &a.patch(
                &format!("/v1/client/sign_ups/{id}"),
                json!({"first_name": "x"}),
            )
            .await,
            404,
            "resource_not_found",
        );
        let r = a
            .post(
                &format!("/v1/client/sign_ups/{id}/prepare_verification"),
                json!({"strategy": "email_code"}),
            )
            .await;
        assert_error(&r, 404, "resource_not_found");
        let r = a
            .post(
                &format!("/v1/client/sign_ups/{id}/attempt_verification"),
                json!({"strategy": "email_code", "code": "123456"}),
            )
            .await;
        assert_error(&r, 404, "resource_not_found");
    }
    for id in [
        "sess_0000000000000000000000000",
        "nope",
        foreign_session.as_str(),
    ] {
        for action in ["tokens", "touch", "end"] {
            let r = s
                .post(&format!("/v1/client/sessions/{id}/{action}"), json!({}))
                .await;
            assert_eq!(r.status, 404, "{action} {id}: {}", r.body);
            assert!(
                ["resource_not_found", "session_not_found"].contains(&r.error_code()),
                "{}",
                r.body
            );
            assert_error_shape(&r.body);
        }
        assert_error(
            &s.post(&format!("/v1/me/sessions/{id}/revoke"), json!({}))
                .await,
            404,
            "resource_not_found",
        );
    }
    // The foreign session was not touched.
    assert_eq!(stranger.mint(&foreign_session).await.status, 200);
    for id in [
        "user_0000000000000000000000000",
        "sess_0000000000000000000000000",
        "x",
    ] {
        for (method, path) in [
            (Method::GET, format!("/v1/users/{id}")),
            (Method::PATCH, format!("/v1/users/{id}")),
            (Method::DELETE, format!("/v1/users/{id}")),
            (Method::PATCH, format!("/v1/users/{id}/metadata")),
            (Method::POST, format!("/v1/users/{id}/ban")),
            (Method::POST, format!("/v1/users/{id}/verify_password")),
            (Method::GET, format!("/v1/sessions/{id}")),
            (Method::POST, format!("/v1/sessions/{id}/revoke")),
            (Method::POST, format!("/v1/sessions/{id}/tokens")),
        ] {
            let body = if path.ends_with("verify_password") {
                json!({"password": PASSWORD})
            } else {
                json!({})
            };
            let r = fx
                .send(fx.admin_request(method.clone(), &path).json(&body))
                .await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
            assert_error(&r, 404, "resource_not_found");
        }
    }
    fx.server.stop().await;
}

async fn unknown_routes_are_404_json(db: DbKind) {
    let fx = Fixture::start(db).await;
    let public = fx.server.public_url.clone();
    let admin = fx.server.admin_url.clone();
    let http = reqwest::Client::new();
    for (base, path) in [
        (&public, "/nope"),
        (&public, "/v1/nope"),
        (&public, "/v1/users"),
        (&public, "/v1/client/sign_ins/x/y/z"),
        (&public, "/v1/client/sign_ins/"),
        (&public, "/v1//client"),
        (&public, "/%2e%2e/etc/passwd"),
        (&admin, "/nope"),
        (&admin, "/v1/client"),
        (&admin, "/v1/me"),
        (&admin, "/v1/users/x/unknown_action"),
        (&admin, "/v1/users/"),
    ] {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            let rb = http
                .request(method.clone(), format!("{base}{path}"))
                .header(AUTHORIZATION, format!("Bearer {TEST_SECRET_KEY}"));
            let r = fx.send(rb).await;
            assert_eq!(r.status, 404, "{method} {base}{path}: {}", r.body);
            assert_error(&r, 404, "resource_not_found");
        }
    }
    // A known path with the wrong method: a JSON error too.
    for (base, method, path) in [
        (&public, Method::DELETE, "/v1/client/sign_ins"),
        (&public, Method::PUT, "/v1/me"),
        (&admin, Method::PUT, "/v1/users"),
        (&admin, Method::DELETE, "/v1/jwks"),
    ] {
        let rb = http
            .request(method.clone(), format!("{base}{path}"))
            .header(AUTHORIZATION, format!("Bearer {TEST_SECRET_KEY}"));
        let r = fx.send(rb).await;
        assert!(r.status.is_client_error(), "{method} {path}: {}", r.status);
        assert_error_shape(&r.body);
    }
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Credentials and the Origin rule

async fn missing_wrong_or_short_secret_keys_are_401(db: DbKind) {
    let fx = Fixture::start(db).await;
    let key = TEST_SECRET_KEY;
    let wrong_key = format!("{}X", &key[..key.len() - 1]);
    let headers: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some("Bearer short".into()),
        Some(format!("Bearer {wrong_key}")),
        Some(format!("Bearer {}", &key[..key.len() - 1])),
        Some(format!("Bearer {key}x")),
        Some(format!("Bearer {}", "k".repeat(5000))),
        Some(key.to_string()),
        Some(format!("Basic {key}")),
        Some(format!("Client {key}")),
        Some(format!("Bearer{key}")),
    ];
    let id = &fx.user_id;
    for header in &headers {
        for (method, path) in [
            (Method::GET, "/v1/users".to_string()),
            (Method::POST, "/v1/users".to_string()),
            (Method::GET, format!("/v1/users/{id}")),
            (Method::DELETE, format!("/v1/users/{id}")),
            (Method::POST, format!("/v1/users/{id}/ban")),
            (
                Method::GET,
                "/v1/users/user_0000000000000000000000000".to_string(),
            ),
            (Method::GET, "/v1/sessions".to_string()),
            (
                Method::POST,
                format!("/v1/sessions/{}/revoke", fx.session_id),
            ),
            (Method::GET, "/v1/jwks".to_string()),
            (Method::GET, "/v1/dev/outbox".to_string()),
        ] {
            let mut rb = reqwest::Client::new()
                .request(
                    method.clone(),
                    format!("{}{path}?secret_key={key}", fx.server.admin_url),
                )
                .json(&json!({"email_address": ["x@example.com"]}));
            if let Some(h) = header {
                rb = rb.header(AUTHORIZATION, h);
            }
            let r = fx.send(rb).await;
            assert_eq!(r.status, 401, "{header:?} {method} {path}: {}", r.body);
            assert_error(&r, 401, "authentication_invalid");
            assert!(!r.body.to_string().contains(key) && !r.body.to_string().contains(&wrong_key));
        }
    }
    // Nothing happened.
    let u = fx
        .send(fx.admin_request(Method::GET, &format!("/v1/users/{id}")))
        .await;
    assert_eq!(u.body["banned"], false);
    assert_eq!(fx.signed_in.mint(&fx.session_id).await.status, 200);
    // The right key, with surrounding spaces, works.
    let rb = reqwest::Client::new()
        .get(format!("{}/v1/users", fx.server.admin_url))
        .header(AUTHORIZATION, format!("Bearer  {key} "));
    assert_eq!(fx.send(rb).await.status, 200);
    fx.server.stop().await;
}

/// The same cookie jar with another (or no) Origin header.
fn with_origin(b: &Browser, origin: Option<&str>) -> Browser {
    Browser {
        http: b.http.clone(),
        jar: b.jar.clone(),
        base: b.base.clone(),
        origin: origin.map(String::from),
    }
}

async fn origin_rule_for_cookie_authenticated_mutations(db: DbKind) {
    let fx = Fixture::start(db).await;
    let sid = fx.session_id.clone();
    for origin in [
        Some("https://evil.example"),
        None,
        Some("null"),
        Some(""),
        Some("http://127.0.0.1"),
        Some("not a url"),
    ] {
        let b = with_origin(&fx.signed_in, origin);
        let attempts = with_origin(&fx.attempts, origin);
        for r in [
            b.patch("/v1/me", json!({"first_name": "Mallory"})).await,
            b.mint(&sid).await,
            b.post(&format!("/v1/client/sessions/{sid}/touch"), json!({}))
                .await,
            b.post(&format!("/v1/client/sessions/{sid}/end"), json!({}))
                .await,
            b.delete("/v1/client/sessions").await,
            b.delete("/v1/me").await,
            b.post(
                "/v1/me/change_password",
                json!({"current_password": PASSWORD, "new_password": "hijacked passphrase 1"}),
            )
            .await,
            b.post(&format!("/v1/me/sessions/{sid}/revoke"), json!({}))
                .await,
            b.send(b.request(Method::POST, "/v1/me?_method=DELETE"))
                .await,
            attempts
                .post(
                    &format!("/v1/client/sign_ins/{}/attempt_first_factor", fx.sign_in_id),
                    json!({"strategy": "password", "password": PASSWORD}),
                )
                .await,
            attempts
                .patch(
                    &format!("/v1/client/sign_ups/{}", fx.sign_up_id),
                    json!({"first_name": "x"}),
                )
                .await,
            attempts
                .post(
                    "/v1/client/sign_ins",
                    json!({"identifier": "user@example.com"}),
                )
                .await,
        ] {
            assert_error(&r, 403, "origin_invalid");
        }
        // Reads need no Origin.
        let r = b.get("/v1/me").await;
        assert_eq!(r.status, 200, "{origin:?}: {}", r.body);
        assert_eq!(b.get("/v1/client").await.status, 200);
    }
    // Nothing happened: same user, same password, the session is still active.
    let me = fx.signed_in.get("/v1/me").await;
    assert_eq!(me.body["response"]["first_name"], Value::Null);
    assert_eq!(fx.signed_in.mint(&sid).await.status, 200);
    let r = fx
        .send(
            fx.admin_request(
                Method::POST,
                &format!("/v1/users/{}/verify_password", fx.user_id),
            )
            .json(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.body["verified"], true);

    // `Authorization: Client <value>` is not a cookie: no Origin needed.
    let client_value = fx.signed_in.cookie("__client").expect("a __client cookie");
    let bare = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", fx.server.public_url);
    let r = fx
        .send(
            bare.post(url(&format!("/v1/client/sessions/{sid}/tokens")))
                .header(AUTHORIZATION, format!("Client {client_value}")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "token");
    let jwt = r.body["jwt"].as_str().unwrap().to_string();
    let r = fx
        .send(
            bare.patch(url("/v1/me"))
                .header(AUTHORIZATION, format!("Client {client_value}"))
                .json(&json!({"first_name": "Native"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Native");
    // ... even when a cookie rides along.
    let r = fx
        .send(
            bare.patch(url("/v1/me"))
                .header(AUTHORIZATION, format!("Client {client_value}"))
                .header(COOKIE, format!("__client={client_value}"))
                .json(&json!({"last_name": "App"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A Bearer session token is not a cookie either.
    let r = fx
        .send(
            bare.patch(url("/v1/me"))
                .bearer_auth(&jwt)
                .json(&json!({"last_name": "Bearer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // But a present Origin must still be allowed.
    let r = fx
        .send(
            bare.patch(url("/v1/me"))
                .header(AUTHORIZATION, format!("Client {client_value}"))
                .header("origin", "https://evil.example")
                .json(&json!({})),
        )
        .await;
    assert_error(&r, 403, "origin_invalid");
    // The cookie alone, without Origin: refused.
    let r = fx
        .send(
            bare.patch(url("/v1/me"))
                .header(COOKIE, format!("__client={client_value}"))
                .json(&json!({"first_name": "Csrf"})),
        )
        .await;
    assert_error(&r, 403, "origin_invalid");
    let r = fx
        .send(
            bare.post(url(&format!("/v1/client/sessions/{sid}/end")))
                .header(COOKIE, format!("__session={jwt}")),
        )
        .await;
    assert_error(&r, 403, "origin_invalid");

    // Starting a sign-in or sign-up without any credential needs no Origin.
    let r = fx
        .send(
            bare.post(url("/v1/client/sign_ins"))
                .json(&json!({"identifier": "user@example.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.get("gatehouse-client").is_some());
    let r = fx.send(bare.post(url("/v1/client/sign_ins")).json(&json!({"identifier": "user@example.com", "strategy": "password", "password": PASSWORD}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    let r = fx
        .send(
            bare.post(url("/v1/client/sign_ups"))
                .json(&json!({"username": "no_origin"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ... but a foreign Origin that is present is refused.
    for path in ["/v1/client/sign_ins", "/v1/client/sign_ups"] {
        let r = fx
            .send(
                bare.post(url(path))
                    .header("origin", "https://evil.example")
                    .json(&json!({"identifier": "user@example.com"})),
            )
            .await;
        assert_error(&r, 403, "origin_invalid");
    }
    // An unknown client value is no credential at all.
    let r = fx
        .send(
            bare.post(url(&format!("/v1/client/sessions/{sid}/tokens")))
                .header(AUTHORIZATION, "Client not-a-real-client"),
        )
        .await;
    assert_error(&r, 401, "authentication_invalid");
    fx.server.stop().await;
}

async fn allowed_origins_from_configuration(db: DbKind) {
    let toml = format!(
        "allowed_origins = [\"https://app.example.com\"]\n{}",
        support::DEFAULT_TEST_TOML
    );
    let fx = Fixture::on(TestServer::start_with(db, &toml).await).await;
    for origin in [
        "https://app.example.com",
        "https://app.example.com:443",
        "https://APP.example.com",
    ] {
        let b = with_origin(&fx.signed_in, Some(origin));
        let r = b.patch("/v1/me", json!({"first_name": "App"})).await;
        assert_eq!(r.status, 200, "{origin}: {}", r.body);
        let r = b.mint(&fx.session_id).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            support::claims(r.body["jwt"].as_str().unwrap())["azp"],
            "https://app.example.com"
        );
    }
    for origin in [
        "http://app.example.com",
        "https://app.example.com.evil.example",
        "https://evil.app.example.com",
        "https://app.example.com:8443",
    ] {
        let b = with_origin(&fx.signed_in, Some(origin));
        assert_error(
            &b.patch("/v1/me", json!({"first_name": "Evil"})).await,
            403,
            "origin_invalid",
        );
    }
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Client quirks

async fn method_override_on_the_frontend_api(db: DbKind) {
    let fx = Fixture::start(db).await;
    let b = &fx.signed_in;
    let r = b
        .send(
            b.request(Method::POST, "/v1/me?_method=PATCH")
                .json(&json!({"first_name": "Overridden"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Overridden");
    let r = b
        .send(
            b.request(Method::POST, "/v1/me?_method=patch&x=1")
                .json(&json!({"last_name": "Lower"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["last_name"], "Lower");
    let r = b
        .send(
            b.request(Method::POST, "/v1/me?_method=PUT")
                .json(&json!({})),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_error_shape(&r.body);
    let r = b.send(b.request(Method::POST, "/v1/me?_method=GET")).await;
    assert!(r.status.is_client_error(), "POST stays POST: {}", r.status);
    assert_error_shape(&r.body);
    // A GET is never turned into a mutation.
    let r = b
        .send(b.request(Method::GET, "/v1/me?_method=DELETE"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["response"]["first_name"], "Overridden");
    // Sign-up attempts are PATCHed this way too.
    let a = &fx.attempts;
    let r = a
        .send(
            a.request(
                Method::POST,
                &format!("/v1/client/sign_ups/{}?_method=PATCH", fx.sign_up_id),
            )
            .json(&json!({"first_name": "Via Post"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Via Post");
    // DELETE /v1/client/sessions signs out.
    let r = b
        .send(b.request(Method::POST, "/v1/client/sessions?_method=DELETE"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(b.mint(&fx.session_id).await.status, 401);
    // Not on the Backend API (its clients send real methods).
    let r = fx
        .send(fx.admin_request(
            Method::POST,
            &format!("/v1/users/{}?_method=DELETE", fx.user_id),
        ))
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_error_shape(&r.body);
    assert_eq!(
        fx.send(fx.admin_request(Method::GET, &format!("/v1/users/{}", fx.user_id)))
            .await
            .status,
        200
    );
    fx.server.stop().await;
}

async fn empty_post_body_reads_as_empty_object(db: DbKind) {
    let fx = Fixture::start(db).await;
    let fresh = fx.server.browser();
    for ct in [None, Some("application/json")] {
        let with_ct = |rb: reqwest::RequestBuilder| match ct {
            Some(ct) => rb.header(CONTENT_TYPE, ct),
            None => rb,
        };
        let r = fresh
            .send(with_ct(fresh.request(Method::POST, "/v1/client/sign_ins")))
            .await;
        assert_eq!(r.status, 200, "{ct:?}: {}", r.body);
        assert_eq!(r.body["response"]["status"], "needs_identifier");
        let r = fresh
            .send(with_ct(fresh.request(Method::POST, "/v1/client/sign_ups")))
            .await;
        assert_eq!(r.status, 200, "{ct:?}: {}", r.body);
        assert_eq!(r.body["response"]["status"], "missing_requirements");
        let a = &fx.attempts;
        let r = a
            .send(with_ct(a.request(
                Method::POST,
                &format!("/v1/client/sign_ins/{}/attempt_first_factor", fx.sign_in_id),
            )))
            .await;
        assert_param_error(&r, "form_param_missing", "strategy");
        let r = a
            .send(with_ct(a.request(
                Method::PATCH,
                &format!("/v1/client/sign_ups/{}", fx.sign_up_id),
            )))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let b = &fx.signed_in;
        let r = b.send(with_ct(b.request(Method::PATCH, "/v1/me"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = b
            .send(with_ct(b.request(Method::POST, "/v1/me/change_password")))
            .await;
        assert_param_error(&r, "form_param_missing", "new_password");
        let r = b
            .send(with_ct(b.request(
                Method::POST,
                &format!("/v1/client/sessions/{}/touch", fx.session_id),
            )))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Backend API.
        let r = fx
            .send(with_ct(fx.admin_request(Method::POST, "/v1/users")))
            .await;
        assert_error(&r, 422, "form_param_missing");
        let r = fx
            .send(with_ct(fx.admin_request(
                Method::POST,
                &format!("/v1/users/{}/verify_password", fx.user_id),
            )))
            .await;
        assert_param_error(&r, "form_param_missing", "password");
        let r = fx
            .send(with_ct(fx.admin_request(
                Method::PATCH,
                &format!("/v1/users/{}", fx.user_id),
            )))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = fx
            .send(with_ct(fx.admin_request(
                Method::PATCH,
                &format!("/v1/users/{}/metadata", fx.user_id),
            )))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    fx.server.stop().await;
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn form_bodies_on_the_frontend_api_only(db: DbKind) {
    let fx = Fixture::start(db).await;
    let send_form = |b: &Browser, method: Method, path: &str, pairs: &[(&str, &str)]| {
        b.request(method, path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs))
    };
    // Sign-up; empty values read as absent (a username of "" would be invalid).
    let b = fx.server.browser();
    let r = b
        .send(send_form(
            &b,
            Method::POST,
            "/v1/client/sign_ups",
            &[
                ("email_address", "form@example.com"),
                ("password", PASSWORD),
                ("username", ""),
                ("first_name", ""),
                ("phone_number", ""),
                ("unknown_field", "x"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    assert_eq!(r.body["response"]["username"], Value::Null);
    assert_eq!(r.body["response"]["first_name"], Value::Null);
    // Profile update: "" leaves a field alone.
    let r = b
        .send(send_form(
            &b,
            Method::PATCH,
            "/v1/me",
            &[("first_name", "Formy"), ("last_name", "")],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Formy");
    let r = b
        .send(send_form(
            &b,
            Method::PATCH,
            "/v1/me",
            &[("first_name", ""), ("last_name", "Formsby")],
        ))
        .await;
    assert_eq!(r.body["response"]["first_name"], "Formy");
    assert_eq!(r.body["response"]["last_name"], "Formsby");
    // Booleans from text; a wrong one names its parameter.
    let r = b
        .send(send_form(
            &b,
            Method::POST,
            "/v1/me/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a form based passphrase 5"),
                ("sign_out_of_other_sessions", "maybe"),
            ],
        ))
        .await;
    assert_param_error(
        &r,
        "form_param_format_invalid",
        "sign_out_of_other_sessions",
    );
    let r = b
        .send(send_form(
            &b,
            Method::POST,
            "/v1/me/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a form based passphrase 5"),
                ("sign_out_of_other_sessions", "true"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Sign-in; an empty password is a missing one.
    let c = fx.server.browser();
    let r = c
        .send(send_form(
            &c,
            Method::POST,
            "/v1/client/sign_ins",
            &[
                ("identifier", "form@example.com"),
                ("strategy", "password"),
                ("password", ""),
            ],
        ))
        .await;
    assert_param_error(&r, "form_param_missing", "password");
    let c = fx.server.browser();
    let r = c
        .send(send_form(
            &c,
            Method::POST,
            "/v1/client/sign_ins",
            &[
                ("identifier", "form@example.com"),
                ("strategy", "password"),
                ("password", "a form based passphrase 5"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    // Form bodies that are not pairs at all still get an answer, not a 500.
    for raw in ["&&&", "=", "a=%zz", "%", "a=1&a=2", "identifier=%00"] {
        let c = fx.server.browser();
        let r = c
            .send(
                c.request(Method::POST, "/v1/client/sign_ins")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(raw),
            )
            .await;
        assert!(r.status.as_u16() < 500, "{raw}: {}", r.status);
        if !r.status.is_success() {
            assert_error_shape(&r.body);
        }
    }

    // The Backend API reads JSON only.
    let id = &fx.user_id;
    for (method, path, pairs) in [
        (
            Method::POST,
            "/v1/users".to_string(),
            vec![("email_address", "f2@example.com")],
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}"),
            vec![("first_name", "X")],
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}/metadata"),
            vec![("public_metadata", "{}")],
        ),
        (
            Method::POST,
            format!("/v1/users/{id}/verify_password"),
            vec![("password", PASSWORD)],
        ),
    ] {
        let rb = fx
            .admin_request(method.clone(), &path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&pairs));
        let r = fx.send(rb).await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
        assert_error(&r, 400, "request_body_invalid");
    }
    assert_eq!(
        fx.send(fx.admin_request(Method::GET, "/v1/users?email_address=f2%40example.com"))
            .await
            .body["total_count"],
        0
    );
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Secrets

async fn secrets_never_appear_in_error_bodies(db: DbKind) {
    let fx = Fixture::start(db).await;
    let mut responses: Vec<(String, Resp)> = Vec::new();
    let pw_wrong = "Wr0ng-but-secret-passphrase!";
    let pw_short = "s3cr3t!";
    let pw_long = format!("very-long-secret-{}", "z".repeat(300));
    let pw_common = "password123";
    let client_value = fx.signed_in.cookie("__client").unwrap();
    let session_jwt = fx.signed_in.mint(&fx.session_id).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_string();
    let secrets: Vec<String> = vec![
        TEST_SECRET_KEY.into(),
        PASSWORD.into(),
        pw_wrong.into(),
        pw_short.into(),
        pw_long.clone(),
        pw_common.into(),
        client_value.clone(),
        session_jwt.clone(),
        "sk_live_guessedkey_0123456789abcdef".into(),
        "bogus-client-cookie-value-123456789".into(),
    ];

    // Sign-in and sign-up with passwords that fail.
    let b = fx.server.browser();
    responses.push((
        "wrong password".into(),
        b.sign_in_raw("user@example.com", pw_wrong).await,
    ));
    responses.push((
        "long password".into(),
        b.sign_in_raw("user@example.com", &pw_long).await,
    ));
    for pw in [pw_short, pw_long.as_str(), pw_common] {
        let r = fx
            .server
            .browser()
            .post(
                "/v1/client/sign_ups",
                json!({"email_address": "new@example.com", "password": pw}),
            )
            .await;
        responses.push((format!("sign-up {pw:.10}"), r));
    }
    responses.push((
        "typed password".into(),
        b.post(
            "/v1/client/sign_ins",
            json!({"identifier": "user@example.com", "password": [pw_wrong]}),
        )
        .await,
    ));
    responses.push((
        "object password".into(),
        b.post("/v1/client/sign_ups", json!({"password": {"p": pw_wrong}}))
            .await,
    ));
    let malformed = format!("{{\"identifier\": \"user@example.com\", \"password\": \"{pw_wrong}\"");
    responses.push((
        "malformed".into(),
        b.send(
            b.request(Method::POST, "/v1/client/sign_ins")
                .header(CONTENT_TYPE, "application/json")
                .body(malformed.clone()),
        )
        .await,
    ));
    responses.push((
        "text/plain".into(),
        b.send(
            b.request(Method::POST, "/v1/client/sign_ins")
                .header(CONTENT_TYPE, "text/plain")
                .body(malformed),
        )
        .await,
    ));
    let s = &fx.signed_in;
    responses.push((
        "change password".into(),
        s.post(
            "/v1/me/change_password",
            json!({"current_password": pw_wrong, "new_password": pw_short}),
        )
        .await,
    ));
    responses.push((
        "change password weak".into(),
        s.post(
            "/v1/me/change_password",
            json!({"current_password": PASSWORD, "new_password": pw_common}),
        )
        .await,
    ));
    let a = &fx.attempts;
    responses.push((
        "attempt".into(),
        a.post(
            &format!("/v1/client/sign_ins/{}/attempt_first_factor", fx.sign_in_id),
            json!({"strategy": "password", "password": pw_wrong}),
        )
        .await,
    ));
    responses.push((
        "strategy".into(),
        a.post(
            &format!("/v1/client/sign_ins/{}/attempt_first_factor", fx.sign_in_id),
            json!({"strategy": "pw", "password": pw_wrong}),
        )
        .await,
    ));
    // Cookies and client values that are wrong, or right on requests that fail.
    let bare = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", fx.server.public_url);
    responses.push((
        "bogus cookie".into(),
        fx.send(
            bare.patch(url("/v1/me"))
                .header(COOKIE, "__client=bogus-client-cookie-value-123456789")
                .header("origin", &fx.server.public_url)
                .json(&json!({})),
        )
        .await,
    ));
    responses.push((
        "bogus client".into(),
        fx.send(
            bare.get(url("/v1/me"))
                .header(AUTHORIZATION, "Client bogus-client-cookie-value-123456789"),
        )
        .await,
    ));
    responses.push((
        "real cookie, failing request".into(),
        fx.send(
            bare.post(url("/v1/client/sessions/sess_nope/tokens"))
                .header(
                    COOKIE,
                    format!("__client={client_value}; __session={session_jwt}"),
                )
                .header("origin", &fx.server.public_url),
        )
        .await,
    ));
    responses.push((
        "no origin".into(),
        fx.send(
            bare.post(url("/v1/client/sessions/sess_nope/end"))
                .header(COOKIE, format!("__client={client_value}")),
        )
        .await,
    ));
    fx.server.clock.advance(3_600_000);
    responses.push((
        "expired bearer".into(),
        fx.send(bare.get(url("/v1/me")).bearer_auth(&session_jwt))
            .await,
    ));
    let mut tampered = session_jwt.clone();
    tampered.push('x');
    responses.push((
        "tampered bearer".into(),
        fx.send(bare.get(url("/v1/me")).bearer_auth(&tampered))
            .await,
    ));
    // Secret keys, right and wrong, on requests that fail.
    let admin = |key: &str, method: Method, path: &str| {
        bare.request(method, format!("{}{path}", fx.server.admin_url))
            .header(AUTHORIZATION, format!("Bearer {key}"))
    };
    responses.push((
        "wrong key".into(),
        fx.send(admin(
            "sk_live_guessedkey_0123456789abcdef",
            Method::GET,
            "/v1/users",
        ))
        .await,
    ));
    responses.push((
        "right key, 404".into(),
        fx.send(admin(TEST_SECRET_KEY, Method::GET, "/v1/users/user_nope"))
            .await,
    ));
    responses.push((
        "right key, 400".into(),
        fx.send(
            admin(TEST_SECRET_KEY, Method::POST, "/v1/users")
                .header(CONTENT_TYPE, "application/json")
                .body("{"),
        )
        .await,
    ));
    responses.push((
        "right key, 422 password".into(),
        fx.send(
            admin(TEST_SECRET_KEY, Method::POST, "/v1/users")
                .json(&json!({"email_address": ["z@example.com"], "password": pw_short})),
        )
        .await,
    ));
    responses.push((
        "right key, 422 weak".into(),
        fx.send(
            admin(TEST_SECRET_KEY, Method::POST, "/v1/users")
                .json(&json!({"email_address": ["z@example.com"], "password": pw_common})),
        )
        .await,
    ));
    responses.push((
        "verify".into(),
        fx.send(
            admin(
                TEST_SECRET_KEY,
                Method::POST,
                "/v1/users/user_nope/verify_password",
            )
            .json(&json!({"password": pw_wrong})),
        )
        .await,
    ));
    responses.push((
        "digest".into(),
        fx.send(admin(TEST_SECRET_KEY, Method::POST, "/v1/users").json(&json!({"username": "digest_user", "password_digest": format!("$2b$04${pw_wrong}"), "password_hasher": "bcrypt"}))).await,
    ));

    for (what, r) in &responses {
        assert!(
            r.status.is_client_error(),
            "{what}: expected an error, got {} {}",
            r.status,
            r.body
        );
        assert_error_shape(&r.body);
        let text = r.body.to_string();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what}: the error body contains a secret: {text}"
            );
        }
        for (name, value) in r.headers.iter() {
            if name == "set-cookie" || name == "gatehouse-client" {
                continue; // cookies are where new cookie values belong
            }
            let v = value.to_str().unwrap_or("");
            assert!(
                !secrets.iter().any(|s| v.contains(s.as_str())),
                "{what}: header {name} contains a secret"
            );
        }
    }
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// NUL characters and undecodable URLs

async fn nul_characters_are_refused_alike_on_both_databases(db: DbKind) {
    let fx = Fixture::start(db).await;
    let id = &fx.user_id;
    // Bodies: whatever the answer, never a 500, and the same on both databases.
    let nul_bodies: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "nul_user", "first_name": "A\u{0}B"}),
            "first_name",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "nul_user", "last_name": "\u{0}"}),
            "last_name",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "nul\u{0}user"}),
            "username",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"email_address": ["nul\u{0}@example.com"]}),
            "email_address",
        ),
        (
            Method::POST,
            "/v1/users".into(),
            json!({"username": "nul_user", "password_digest": "pbkdf2_sha256$1000$a\u{0}b$Xu/FqErmOlOjeejALHax/gj3u5i/E0qM9RiVJSHJgkg=", "password_hasher": "pbkdf2_sha256_django"}),
            "password_digest",
        ),
        (
            Method::PATCH,
            format!("/v1/users/{id}"),
            json!({"first_name": "x\u{0}"}),
            "first_name",
        ),
    ];
    for (method, path, body, param) in nul_bodies {
        let r = fx
            .send(fx.admin_request(method.clone(), &path).json(&body))
            .await;
        assert_eq!(r.status, 422, "{method} {path} {body}: {}", r.body);
        assert_param_error(&r, "form_param_format_invalid", param);
    }
    let r = fx
        .attempts
        .post("/v1/client/sign_ups", json!({"first_name": "\u{0}"}))
        .await;
    assert_param_error(&r, "form_param_format_invalid", "first_name");
    let r = fx
        .signed_in
        .patch("/v1/me", json!({"last_name": "a\u{0}"}))
        .await;
    assert_param_error(&r, "form_param_format_invalid", "last_name");
    let r = fx
        .server
        .browser()
        .sign_in_raw("user\u{0}@example.com", PASSWORD)
        .await;
    assert_param_error(&r, "form_param_format_invalid", "identifier");
    // Metadata is stored as JSON text: a NUL inside it is just an escaped character.
    let r = fx
        .send(
            fx.admin_request(Method::PATCH, &format!("/v1/users/{id}/metadata"))
                .json(&json!({"public_metadata": {"k": "a\u{0}b"}})),
        )
        .await;
    assert!(r.status.as_u16() < 500, "{}", r.body);
    if r.status == 200 {
        assert_eq!(r.body["public_metadata"]["k"], "a\u{0}b");
    } else {
        assert_param_error(&r, "form_param_format_invalid", "public_metadata");
    }
    // Query parameters and path segments.
    for q in [
        "query=%00",
        "query=a%00b",
        "username=a%00b",
        "user_id=user_%00",
        "email_address=a%00%40example.com",
    ] {
        let r = fx
            .send(fx.admin_request(Method::GET, &format!("/v1/users?{q}")))
            .await;
        assert!(r.status.as_u16() < 500, "{q}: {} {}", r.status, r.body);
        if r.status == 200 {
            assert_eq!(r.body["total_count"], 0, "{q}");
        } else {
            assert_error_shape(&r.body);
            assert!(r.status.is_client_error());
        }
    }
    for q in ["user_id=%00", "client_id=a%00", "status=active%00"] {
        let r = fx
            .send(fx.admin_request(Method::GET, &format!("/v1/sessions?{q}")))
            .await;
        assert!(r.status.as_u16() < 500, "{q}: {} {}", r.status, r.body);
        if !r.status.is_success() {
            assert_error_shape(&r.body);
        }
    }
    for path in [
        "/v1/users/%00",
        "/v1/users/user_%00x",
        "/v1/sessions/%00",
        "/v1/users/%00/ban",
    ] {
        let method = if path.ends_with("ban") {
            Method::POST
        } else {
            Method::GET
        };
        let r = fx.send(fx.admin_request(method, path)).await;
        assert_error(&r, 404, "resource_not_found");
    }
    let a = &fx.attempts;
    for path in ["/v1/client/sign_ins/%00", "/v1/client/sign_ups/%00"] {
        assert_error(&a.get(path).await, 404, "resource_not_found");
    }
    let r = fx
        .signed_in
        .post("/v1/client/sessions/%00/tokens", json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_error_shape(&r.body);
    let r = fx
        .signed_in
        .post("/v1/me/sessions/%00/revoke", json!({}))
        .await;
    assert_error(&r, 404, "resource_not_found");
    // The server is fine afterwards.
    assert_eq!(fx.signed_in.mint(&fx.session_id).await.status, 200);
    fx.server.stop().await;
}

async fn undecodable_paths_and_queries_get_json_errors(db: DbKind) {
    let fx = Fixture::start(db).await;
    for path in [
        "/v1/users/%FF",
        "/v1/users/%C3%28/ban",
        "/v1/sessions/%E2%82",
        "/v1/users/%ff%fe/metadata",
    ] {
        let method = if path.ends_with("ban") {
            Method::POST
        } else if path.ends_with("metadata") {
            Method::PATCH
        } else {
            Method::GET
        };
        let r = fx
            .send(fx.admin_request(method.clone(), path).json(&json!({})))
            .await;
        assert_eq!(r.status, 404, "{method} {path}: {} {}", r.status, r.body);
        assert_error(&r, 404, "resource_not_found");
    }
    let (a, s) = (&fx.attempts, &fx.signed_in);
    for r in [
        a.get("/v1/client/sign_ins/%FF").await,
        a.post("/v1/client/sign_ins/%FF/attempt_first_factor", json!({}))
            .await,
        a.patch("/v1/client/sign_ups/%C3%28", json!({})).await,
        s.post("/v1/client/sessions/%FF/tokens", json!({})).await,
        s.post("/v1/me/sessions/%FF/revoke", json!({})).await,
    ] {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_error_shape(&r.body);
    }
    // Query strings that cannot be read.
    for q in ["limit=%FF", "limit=1&limit=2", "query=%FF", "order_by=%FF"] {
        let r = fx
            .send(fx.admin_request(Method::GET, &format!("/v1/users?{q}")))
            .await;
        assert!(r.status.as_u16() < 500, "{q}: {}", r.status);
        if !r.status.is_success() {
            assert_error_shape(&r.body);
        }
    }
    for q in [
        "redirect_url=a&redirect_url=b",
        "redirect_url=%FF",
        "redirect_url=javascript:alert(1)",
        "",
        "redirect_url=https://evil.example/",
    ] {
        let r = fx.signed_in.get(&format!("/v1/client/handshake?{q}")).await;
        assert!(r.status.is_client_error(), "{q}: {}", r.status);
        assert_error_shape(&r.body);
    }
    fx.server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Property test: arbitrary bodies at every POST and PATCH route of both listeners

/// Field names the routes read, so generated objects hit the typed paths often.
const FIELDS: &[&str] = &[
    "email_address",
    "username",
    "phone_number",
    "password",
    "first_name",
    "last_name",
    "unsafe_metadata",
    "public_metadata",
    "private_metadata",
    "strategy",
    "code",
    "identifier",
    "current_password",
    "new_password",
    "sign_out_of_other_sessions",
    "active_organization_id",
    "primary_email_address_id",
    "primary_phone_number_id",
    "password_digest",
    "password_hasher",
    "skip_password_checks",
    "redirect_url",
];

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-z0-9._+-]{0,12}@[a-z]{1,8}\\.(com|org|x)",
        1 => "\\+?[0-9 ()-]{0,18}",
        1 => "[a-zA-Z0-9_.-]{0,70}",
        1 => prop::sample::select(vec![
            "", " ", "password", "email_code", "phone_code", "email_link", "totp", "bcrypt", "argon2id",
            "pbkdf2_sha256_django", "scrypt_firebase", PASSWORD, "user@example.com", "+14155550123", "null", "true",
            "\u{0}", "123456", "$2b$04$LOW6V1y0BPy9vi.03PlZaeK5byvrISKf6MeCsrNMJsjYSRDuUmjpG",
        ])
        .prop_map(String::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        interesting_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(FIELDS).prop_map(String::from), 1 => any::<String>()]
}

/// What to send: a body and its content type.
#[derive(Debug, Clone)]
enum Payload {
    /// Any JSON value (mostly not an object).
    Json(Value, Option<&'static str>),
    /// A JSON object with the routes' field names.
    Object(Vec<(String, Value)>, Option<&'static str>),
    /// Form pairs.
    Form(Vec<(String, String)>, Option<&'static str>),
    /// Arbitrary bytes.
    Bytes(Vec<u8>, Option<&'static str>),
}

impl Payload {
    fn encode(&self) -> (Vec<u8>, Option<&'static str>) {
        match self {
            Payload::Json(v, ct) => (v.to_string().into_bytes(), *ct),
            Payload::Object(kv, ct) => (
                Value::Object(kv.iter().cloned().collect())
                    .to_string()
                    .into_bytes(),
                *ct,
            ),
            Payload::Form(pairs, ct) => (
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish()
                    .into_bytes(),
                *ct,
            ),
            Payload::Bytes(b, ct) => (b.clone(), *ct),
        }
    }
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        2 => Just(None),
        2 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("multipart/form-data")),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        2 => (json_value(), content_type()).prop_map(|(v, ct)| Payload::Json(v, ct)),
        5 => (prop::collection::vec((field_name(), json_value()), 0..8), content_type()).prop_map(|(kv, ct)| Payload::Object(kv, ct)),
        2 => (prop::collection::vec((field_name(), interesting_string()), 0..8), content_type()).prop_map(|(p, ct)| Payload::Form(p, ct)),
        2 => (prop::collection::vec(any::<u8>(), 0..256), content_type()).prop_map(|(b, ct)| Payload::Bytes(b, ct)),
    ]
}

/// How to fill `{id}`: the real one, a well-formed unknown one, or garbage.
#[derive(Debug, Clone)]
enum IdChoice {
    Real,
    Unknown,
    Text(String),
    Bytes(Vec<u8>),
}

fn id_choice() -> impl Strategy<Value = IdChoice> {
    prop_oneof![
        6 => Just(IdChoice::Real),
        1 => Just(IdChoice::Unknown),
        2 => any::<String>().prop_map(IdChoice::Text),
        1 => prop::sample::select(vec![".", ".."]).prop_map(|s| IdChoice::Text(s.into())),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(IdChoice::Bytes),
    ]
}

fn fill_id(choice: &IdChoice, real: &str, prefix: &str) -> String {
    match choice {
        IdChoice::Real => real.to_string(),
        IdChoice::Unknown => format!("{prefix}_0000000000000000000000000"),
        IdChoice::Text(s) => url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
        IdChoice::Bytes(b) => b.iter().map(|b| format!("%{b:02X}")).collect(),
    }
}

/// An id that leaves no route to match (empty) or that no resource can have (escapes
/// that are not UTF-8, or a NUL).
fn names_no_resource(choice: &IdChoice) -> bool {
    match choice {
        IdChoice::Real | IdChoice::Unknown => false,
        IdChoice::Text(s) => s.is_empty() || s.contains('\0'),
        IdChoice::Bytes(b) => b.is_empty() || b.contains(&0) || std::str::from_utf8(b).is_err(),
    }
}

/// An id that is a dot segment, escaped or not: the client's URL parser removes it (as
/// RFC 3986 asks), so the request goes to another path, which may be another route.
fn is_dot_segment(choice: &IdChoice) -> bool {
    let dots = |b: &[u8]| b == b"." || b == b"..";
    match choice {
        IdChoice::Real | IdChoice::Unknown => false,
        IdChoice::Text(s) => dots(s.as_bytes()),
        IdChoice::Bytes(b) => dots(b),
    }
}

fn prefix_for(path: &str) -> &'static str {
    if path.contains("sign_ins") {
        "sia"
    } else if path.contains("sign_ups") {
        "sua"
    } else if path.contains("sessions") {
        "sess"
    } else {
        "user"
    }
}

#[track_caller]
fn check(what: &str, r: &Resp) {
    assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.body);
    if r.status.is_client_error() {
        assert_error_shape(&r.body);
    }
}

/// Routes of an OpenAPI table that take a body.
fn body_routes(
    ops: &[(
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    )],
) -> Vec<(Method, &'static str)> {
    ops.iter()
        .filter(|(m, ..)| *m == "post" || *m == "patch")
        .map(|(m, p, ..)| {
            (
                if *m == "post" {
                    Method::POST
                } else {
                    Method::PATCH
                },
                *p,
            )
        })
        .collect()
}

#[test]
fn arbitrary_bodies_never_get_a_500() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start(DbKind::Sqlite));
    let public_routes = body_routes(gatehouse::http::openapi::PUBLIC_OPERATIONS);
    let admin_routes = body_routes(gatehouse::http::openapi::ADMIN_OPERATIONS);
    assert!(
        public_routes.len() >= 10 && admin_routes.len() >= 8,
        "{public_routes:?} {admin_routes:?}"
    );
    let counter = std::sync::atomic::AtomicUsize::new(0);
    // 64 cases per listener; `PROPTEST_CASES` asks for more.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };

    // Frontend API: a fresh user, a signed-in browser and one with open attempts per case.
    let mut runner = TestRunner::new(config.clone());
    let result = runner.run(&(payload(), id_choice()), |(payload, id)| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(async {
            let email = format!("prop{n}@example.com");
            let r = server
                .admin()
                .post("/v1/users", json!({"email_address": [email], "password": PASSWORD, "skip_password_checks": true}))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let signed_in = server.browser();
            let session = signed_in.sign_in(&email, PASSWORD).await;
            let attempts = server.browser();
            let sia = attempts.post("/v1/client/sign_ins", json!({ "identifier": email })).await.body["response"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let sua = attempts.post("/v1/client/sign_ups", json!({})).await.body["response"]["id"].as_str().unwrap().to_string();
            let (body, ct) = payload.encode();
            for (method, template) in &public_routes {
                let (browser, real) = if template.contains("sign_ins") {
                    (&attempts, sia.as_str())
                } else if template.contains("sign_ups") {
                    (&attempts, sua.as_str())
                } else {
                    (&signed_in, session.as_str())
                };
                let id = fill_id(&id, real, prefix_for(template));
                let path = template.replace("{id}", &id).replace("{sid}", &id);
                for with_credentials in [true, false] {
                    let mut rb = if with_credentials {
                        browser.request(method.clone(), &path)
                    } else {
                        reqwest::Client::new().request(method.clone(), format!("{}{path}", server.public_url))
                    };
                    if let Some(ct) = ct {
                        rb = rb.header(CONTENT_TYPE, ct);
                    }
                    let r = browser.send(rb.body(body.clone())).await;
                    check(&format!("public {method} {path} credentials={with_credentials}"), &r);
                }
            }
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("Frontend API: {e}");
    }

    // Backend API: a fresh user and session per case.
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(payload(), id_choice()), |(payload, id)| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id_choice_of = id.clone();
        rt.block_on(async {
            let email = format!("admin{n}@example.com");
            let user = server
                .admin()
                .post("/v1/users", json!({"email_address": [email]}))
                .await
                .body["id"]
                .as_str()
                .unwrap()
                .to_string();
            let session = server
                .app
                .store
                .list_sessions(&gatehouse::store::SessionQuery {
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap()
                .0
                .first()
                .map(|s| s.id.clone())
                .unwrap_or_default();
            let (body, ct) = payload.encode();
            let sender = server.browser();
            for (method, template) in &admin_routes {
                let real = if template.starts_with("/v1/sessions") {
                    session.as_str()
                } else {
                    user.as_str()
                };
                let id = fill_id(&id, real, prefix_for(template));
                let path = template.replace("{id}", &id);
                for with_credentials in [true, false] {
                    let mut rb = reqwest::Client::new()
                        .request(method.clone(), format!("{}{path}", server.admin_url));
                    if with_credentials {
                        rb = rb.header(AUTHORIZATION, format!("Bearer {}", server.secret_key));
                    }
                    if let Some(ct) = ct {
                        rb = rb.header(CONTENT_TYPE, ct);
                    }
                    let r = sender.send(rb.body(body.clone())).await;
                    check(
                        &format!("admin {method} {path} credentials={with_credentials}"),
                        &r,
                    );
                    // Without a key: 401, except that a path no resource can have is a 404,
                    // like an unknown route, and that a path the client rewrote may be
                    // another route's, where the method may not be allowed.
                    let excused = (names_no_resource(&id_choice_of) && r.status == 404)
                        || (is_dot_segment(&id_choice_of)
                            && matches!(r.status.as_u16(), 404 | 405));
                    if !(with_credentials || excused) {
                        assert_eq!(
                            r.status, 401,
                            "admin {method} {path} without a key: {}",
                            r.body
                        );
                    }
                }
            }
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("Backend API: {e}");
    }
    rt.block_on(server.stop());
}
