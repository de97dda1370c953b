//! The hosted pages and `gatehouse.js`: plain HTTP tests of every page and form on
//! both databases (CSRF, the Origin rule, redirect targets, bad input shown on the page,
//! a sign-in by forms alone, security headers), and the end-to-end tests in headless
//! Chromium (`browser` below).

mod pages_support;
mod saml_support;
mod social_support;
mod support;

use gatehouse::config::Config;
use pages_support::{latest_code, latest_message, FormBrowser, Html};
use serde_json::json;
use support::{DbKind, TestServer, PASSWORD};

both_dbs!(
    forms_need_the_csrf_token_and_an_allowed_origin,
    redirect_url_is_honoured_only_on_allowed_origins,
    sign_in_with_a_password_by_forms_alone,
    every_form_shows_bad_input_on_the_page,
    account_page_changes_by_forms,
    magic_link_landing_states_and_the_waiting_page,
    pages_carry_security_headers,
    sign_up_verifies_the_email_address_by_code,
    social_buttons_follow_the_environment,
);

const EMAIL: &str = "page.user@example.com";

async fn server(db: DbKind) -> TestServer {
    server_with(db, "").await
}

async fn server_with(db: DbKind, extra: &str) -> TestServer {
    let toml = format!(
        "allowed_origins = [\"https://app.example.com\"]\n{extra}\n[rate_limits]\nenabled = false\n"
    );
    let toml = if toml.contains("[auth]") {
        toml
    } else {
        format!("{toml}[auth]\nverify_email_at_sign_up = false\n")
    };
    TestServer::start_with(db, &toml).await
}

/// Posts the identifier and the password; returns the final response.
async fn sign_in(b: &FormBrowser, identifier: &str, password: &str, query: &str) -> Html {
    let page = b.get(&format!("/sign-in{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut fields = vec![
        ("csrf_token", page.csrf()),
        ("identifier", identifier.to_string()),
    ];
    if let Some(r) = page.input("redirect_url") {
        fields.push(("redirect_url", r));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/sign-in", &pairs).await;
    assert_eq!(r.status, 303, "identifier: {}", r.body);
    let step = b.follow(&r).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("Enter your password"), "{}", step.body);
    let attempt = step.input("attempt").expect("the attempt id");
    let mut fields = vec![
        ("csrf_token", step.csrf()),
        ("attempt", attempt),
        ("password", password.to_string()),
    ];
    if let Some(r) = step.input("redirect_url") {
        fields.push(("redirect_url", r));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/sign-in/password", &pairs).await
}

async fn forms_need_the_csrf_token_and_an_allowed_origin(db: DbKind) {
    let server = server(db).await;
    server.create_user(EMAIL, PASSWORD).await;
    let b = FormBrowser::new(&server);
    let page = b.get("/sign-in").await;
    let csrf = page.csrf();
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__gatehouse_csrf="))
        .expect("a CSRF cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // The token is the cookie's MAC, not the cookie itself.
    assert_ne!(Some(csrf.clone()), b.cookie("__gatehouse_csrf"));

    let refused = |r: &Html| {
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(
            r.header("content-type").starts_with("text/html"),
            "never a JSON page"
        );
        assert!(r.body.contains("This form has expired"), "{}", r.body);
    };
    refused(&b.post("/sign-in", &[("identifier", EMAIL)]).await);
    refused(
        &b.post("/sign-in", &[("csrf_token", "0000"), ("identifier", EMAIL)])
            .await,
    );
    let flipped: String = csrf
        .chars()
        .map(|c| if c == 'a' { 'b' } else { 'a' })
        .collect();
    refused(
        &b.post(
            "/sign-in",
            &[("csrf_token", &flipped), ("identifier", EMAIL)],
        )
        .await,
    );
    // Another browser's valid token does not fit this browser's cookie.
    let other = FormBrowser::new(&server);
    let other_csrf = other.get("/sign-in").await.csrf();
    refused(
        &b.post(
            "/sign-in",
            &[("csrf_token", &other_csrf), ("identifier", EMAIL)],
        )
        .await,
    );
    // A token without its cookie (a cross-site form has neither) is refused too.
    let fresh = FormBrowser::new(&server);
    refused(
        &fresh
            .post("/sign-in", &[("csrf_token", &csrf), ("identifier", EMAIL)])
            .await,
    );
    assert!(b.cookie("__client").is_none(), "nothing was started");

    // The right token works...
    let ok = b
        .post("/sign-in", &[("csrf_token", &csrf), ("identifier", EMAIL)])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(
        ok.location().starts_with("/sign-in?attempt=sia_"),
        "{}",
        ok.location()
    );
    // ...but not from a foreign Origin once the browser holds a client cookie.
    let mut foreign = FormBrowser::new(&server);
    foreign.inner.jar = b.inner.jar.clone();
    foreign.inner.http = b.inner.http.clone();
    foreign.inner.origin = Some("https://evil.example.com".into());
    let r = foreign
        .post("/sign-in", &[("csrf_token", &csrf), ("identifier", EMAIL)])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/html"));
    server.stop().await;
}

async fn redirect_url_is_honoured_only_on_allowed_origins(db: DbKind) {
    let server = server(db).await;
    server.create_user(EMAIL, PASSWORD).await;
    let user_page = format!("{}/user", server.public_url);

    let b = FormBrowser::new(&server);
    let evil = "?redirect_url=https%3A%2F%2Fevil.example.com%2Fsteal";
    let page = b.get(&format!("/sign-in{evil}")).await;
    assert!(
        page.input("redirect_url").is_none(),
        "a foreign target is dropped"
    );
    assert!(!page.body.contains("evil.example.com"), "{}", page.body);
    let r = sign_in(&b, EMAIL, PASSWORD, evil).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location(),
        user_page,
        "after_sign_in_url, not the foreign URL"
    );

    let b = FormBrowser::new(&server);
    for bad in [
        "javascript%3Aalert(1)",
        "%2F%2Fevil.example.com",
        "https%3A%2F%2Fapp.example.com.evil.com%2F",
    ] {
        let page = b.get(&format!("/sign-in?redirect_url={bad}")).await;
        assert!(page.input("redirect_url").is_none(), "{bad}");
    }
    let r = sign_in(
        &b,
        EMAIL,
        PASSWORD,
        "?redirect_url=https%3A%2F%2Fapp.example.com%2Fdashboard%3Fx%3D1",
    )
    .await;
    assert_eq!(r.location(), "https://app.example.com/dashboard?x=1");
    // The sign-out page honours the same rule.
    let out = b
        .get("/sign-out?redirect_url=https%3A%2F%2Fevil.example.com")
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let r = b
        .post(
            "/sign-out",
            &[
                ("csrf_token", &out.csrf()),
                ("redirect_url", "https://evil.example.com/"),
            ],
        )
        .await;
    assert_eq!(r.location(), format!("{}/sign-in", server.public_url));
    server.stop().await;
}

async fn sign_in_with_a_password_by_forms_alone(db: DbKind) {
    let server = server(db).await;
    let user_id = server.create_user(EMAIL, PASSWORD).await;
    let b = FormBrowser::new(&server);
    let r = sign_in(&b, EMAIL, PASSWORD, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{}/user", server.public_url));
    let cookies = r.set_cookies();
    for name in ["__client=", "__client_uat=", "__session="] {
        assert!(
            cookies.iter().any(|c| c.starts_with(name)),
            "{name}: {cookies:?}"
        );
    }
    let client = cookies.iter().find(|c| c.starts_with("__client=")).unwrap();
    assert!(client.contains("HttpOnly"), "{client}");
    // The session token is a real one for this user.
    let jwt = b.cookie("__session").expect("__session");
    assert_eq!(support::claims(&jwt)["sub"], user_id);
    let account = b.get("/user").await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(account.body.contains(EMAIL), "{}", account.body);
    // Signed in, the sign-in page sends the browser on.
    let again = b.get("/sign-in").await;
    assert_eq!(again.status, 303);
    // Signing out by the form ends the session.
    let out = b.get("/sign-out").await;
    let r = b.post("/sign-out", &[("csrf_token", &out.csrf())]).await;
    assert_eq!(r.status, 303);
    assert_eq!(b.cookie("__client_uat").as_deref(), Some("0"));
    let account = b.get("/user").await;
    assert_eq!(account.status, 303, "signed out: to the sign-in page");
    assert!(
        account.location().contains("/sign-in?redirect_url="),
        "{}",
        account.location()
    );
    server.stop().await;
}

/// Every form, given bad input, answers with the page again (4xx, HTML) and the error.
async fn every_form_shows_bad_input_on_the_page(db: DbKind) {
    let server = server(db).await;
    server.create_user(EMAIL, PASSWORD).await;
    let b = FormBrowser::new(&server);
    let shown = |r: &Html, status: u16, text: &str| {
        assert_eq!(r.status.as_u16(), status, "{text}: {}", r.body);
        assert!(r.header("content-type").starts_with("text/html"), "{text}");
        assert!(r.has_error(), "{text}: no error shown: {}", r.body);
        assert!(r.body.contains(text), "{text} not in: {}", r.body);
        assert!(r.body.contains("role=\"alert\""));
    };
    // Sign-in.
    let r = b.submit("/sign-in", "/sign-in", &[]).await;
    shown(&r, 422, "Enter your email address or username.");
    assert!(
        r.body.contains("aria-invalid=\"true\""),
        "the field is marked"
    );
    let r = b
        .submit(
            "/sign-in",
            "/sign-in",
            &[("identifier", "nobody@example.com")],
        )
        .await;
    shown(&r, 422, "We couldn&#39;t find an account");
    assert!(
        r.body.contains("value=\"nobody@example.com\""),
        "what was typed stays"
    );
    let r = b
        .submit("/sign-in", "/sign-in", &[("identifier", "@@ <script>")])
        .await;
    shown(&r, 422, "Enter a valid email address");
    assert!(!r.body.contains("<script>"), "escaped");
    let long = "a".repeat(100_000);
    let r = b
        .submit("/sign-in", "/sign-in", &[("identifier", &long)])
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    // A body that is not a form.
    let csrf = b.get("/sign-in").await.csrf();
    let r = b
        .inner
        .send(
            b.inner
                .request(reqwest::Method::POST, "/sign-in")
                .json(&json!({"csrf_token": csrf, "identifier": EMAIL})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = b
        .post("/sign-in", &[("csrf_token", &csrf), ("identifier", "a\0b")])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let r = b
        .submit("/sign-in", "/sign-in", &[("identifier", EMAIL)])
        .await;
    let step = b.follow(&r).await;
    let attempt = step.input("attempt").unwrap();
    let page = format!("/sign-in?attempt={attempt}");
    let r = b
        .submit(
            &page,
            "/sign-in/password",
            &with_attempt(&attempt, &[("password", "wrong password!")]),
        )
        .await;
    shown(&r, 422, "Password is incorrect");
    let r = b
        .submit(&page, "/sign-in/password", &with_attempt(&attempt, &[]))
        .await;
    shown(&r, 422, "Enter your password.");
    let r = b
        .submit(
            &page,
            "/sign-in/prepare",
            &with_attempt(&attempt, &[("strategy", "carrier_pigeon")]),
        )
        .await;
    shown(&r, 422, "That sign-in method is not available here.");
    let r = b
        .submit(
            &page,
            "/sign-in/code",
            &with_attempt(&attempt, &[("strategy", "email_code"), ("code", "123456")]),
        )
        .await;
    shown(&r, 422, "");
    let r = b
        .submit(
            &page,
            "/sign-in/new-password",
            &with_attempt(&attempt, &[("password", "whatever long enough")]),
        )
        .await;
    shown(&r, 422, "");
    let r = b
        .submit(
            &page,
            "/sign-in/second-factor",
            &with_attempt(&attempt, &[("strategy", "totp"), ("code", "1")]),
        )
        .await;
    shown(&r, 422, "");
    let r = b
        .submit(
            &page,
            "/sign-in/password",
            &[("attempt", "sia_notmine"), ("password", "x")],
        )
        .await;
    shown(&r, 422, "This took too long. Please start again.");
    // A code sent, then a wrong one; the code form shows the error next to the field.
    let r = b
        .submit(
            &page,
            "/sign-in/prepare",
            &with_attempt(&attempt, &[("strategy", "email_code")]),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let code_page = b.follow(&r).await;
    assert!(
        code_page.body.contains("We emailed a 6-digit code"),
        "{}",
        code_page.body
    );
    let r = b
        .submit(
            &page,
            "/sign-in/code",
            &with_attempt(&attempt, &[("strategy", "email_code"), ("code", "000000")]),
        )
        .await;
    shown(&r, 422, "That code is incorrect");
    assert!(
        r.body.contains("id=\"e-code\""),
        "next to the field: {}",
        r.body
    );
    let r = b
        .submit(
            &page,
            "/sign-in/prepare",
            &with_attempt(&attempt, &[("strategy", "email_code")]),
        )
        .await;
    shown(&r, 429, "Too many attempts");
    let r = b.get("/sign-in/social?strategy=javascript:alert(1)").await;
    shown(&r, 422, "That sign-in method is not available here.");
    let r = b.get("/sign-in/social?strategy=oauth_nowhere").await;
    shown(&r, 422, "That sign-in method is not available right now.");

    // Sign-up.
    let s = FormBrowser::new(&server);
    let r = s
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("email_address", "new@example.com"),
                ("password", "password"),
            ],
        )
        .await;
    shown(&r, 422, "");
    assert!(
        r.body.contains("id=\"e-password\""),
        "the password rule shows at the field: {}",
        r.body
    );
    assert!(
        r.body.contains("value=\"new@example.com\""),
        "the email stays"
    );
    assert!(
        !r.body.contains("value=\"password\""),
        "the password is never sent back"
    );
    let r = s
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", "not an email"), ("password", PASSWORD)],
        )
        .await;
    shown(&r, 422, "Enter a valid email address.");
    let r = s
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", EMAIL), ("password", PASSWORD)],
        )
        .await;
    shown(&r, 422, "is already in use");
    let r = s
        .submit("/sign-up", "/sign-up", &[("password", PASSWORD)])
        .await;
    shown(&r, 422, "Enter your email address.");
    let r = s
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("email_address", "x@example.com"),
                ("password", PASSWORD),
                ("first_name", &"n".repeat(300)),
            ],
        )
        .await;
    shown(&r, 422, "too long");
    let r = s
        .submit(
            "/sign-up",
            "/sign-up/verify",
            &[
                ("attempt", "sua_nope"),
                ("strategy", "email_code"),
                ("code", "1"),
            ],
        )
        .await;
    shown(&r, 422, "This took too long");

    // Account page forms.
    let r = sign_in(&b, EMAIL, PASSWORD, "").await;
    assert_eq!(r.status, 303);
    let checks: &[FormCheck] = &[
        (
            "/user/profile",
            &[("username", "!!")],
            422,
            "Usernames are 3 to 64",
        ),
        (
            "/user/profile",
            &[("first_name", &"x".repeat(300))],
            422,
            "too long",
        ),
        (
            "/user/identifiers/add",
            &[("kind", "email_address"), ("value", "nope")],
            422,
            "Enter a valid email address.",
        ),
        (
            "/user/identifiers/add",
            &[("kind", "email_address"), ("value", EMAIL)],
            422,
            "already in use",
        ),
        (
            "/user/identifiers/add",
            &[("kind", "fax"), ("value", "1")],
            422,
            "",
        ),
        (
            "/user/identifiers/verify",
            &[("kind", "email_address"), ("id", "idn_nope"), ("code", "1")],
            404,
            "",
        ),
        (
            "/user/identifiers/remove",
            &[("kind", "email_address"), ("id", "idn_nope")],
            404,
            "",
        ),
        (
            "/user/identifiers/primary",
            &[("kind", "email_address"), ("id", "idn_nope")],
            422,
            "",
        ),
        (
            "/user/password",
            &[
                ("current_password", "wrong one!"),
                ("new_password", "another good horse battery"),
            ],
            422,
            "Password is incorrect",
        ),
        (
            "/user/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
            422,
            "8 characters",
        ),
        (
            "/user/password",
            &[("current_password", PASSWORD)],
            422,
            "Enter your password.",
        ),
        ("/user/mfa/confirm", &[("code", "123456")], 422, ""),
        (
            "/user/reverify",
            &[("password", "wrong one!")],
            422,
            "Password is incorrect",
        ),
        ("/user/sessions/revoke", &[("id", "sess_nope")], 404, ""),
        ("/user/delete", &[], 422, "Tick the box"),
    ];
    for (action, fields, status, text) in checks {
        let r = b.submit("/user", action, fields).await;
        shown(&r, *status, text);
    }
    // The one email address cannot go: it is the last way to sign in.
    let account = b.get("/user").await;
    let id = account
        .body
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(id.starts_with("idn_"), "{id}");
    let r = b
        .submit(
            "/user",
            "/user/identifiers/remove",
            &[("kind", "email_address"), ("id", &id)],
        )
        .await;
    shown(&r, 422, "your last way to sign in");
    // Nothing above was a 500, and the user is still signed in.
    assert_eq!(b.get("/user").await.status, 200);
    server.stop().await;
}

async fn account_page_changes_by_forms(db: DbKind) {
    let server = server(db).await;
    server.create_user(EMAIL, PASSWORD).await;
    let b = FormBrowser::new(&server);
    assert_eq!(sign_in(&b, EMAIL, PASSWORD, "").await.status, 303);
    let done = |r: &Html, key: &str| {
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(
            r.location().contains(&format!("done={key}")),
            "{}",
            r.location()
        );
    };
    let r = b
        .submit(
            "/user",
            "/user/profile",
            &[("first_name", "Ada"), ("last_name", "Lovelace")],
        )
        .await;
    done(&r, "profile");
    let page = b.follow(&r).await;
    assert!(page.body.contains("Profile saved."), "{}", page.body);
    assert!(page.body.contains("value=\"Ada\""));

    // A second address: added, verified with the code sent, made primary, then the
    // first one removed.
    let second = "second.page@example.com";
    let r = b
        .submit(
            "/user",
            "/user/identifiers/add",
            &[("kind", "email_address"), ("value", second)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.follow(&r).await;
    assert!(
        page.body.contains(&format!("Code sent to {second}")),
        "{}",
        page.body
    );
    let id = page.form_input("/user/identifiers/verify", "id").unwrap();
    let code = latest_code(&server, second).await;
    let r = b
        .submit(
            "/user",
            "/user/identifiers/verify",
            &[("kind", "email_address"), ("id", &id), ("code", &code)],
        )
        .await;
    done(&r, "verified");
    let r = b
        .submit(
            "/user",
            "/user/identifiers/primary",
            &[("kind", "email_address"), ("id", &id)],
        )
        .await;
    done(&r, "primary");
    let me = server
        .admin()
        .get(&format!("/v1/users?query={second}"))
        .await;
    assert_eq!(me.body["data"][0]["primary_email_address_id"], id.as_str());

    // Password change, signing out the other devices.
    let other = FormBrowser::new(&server);
    assert_eq!(sign_in(&other, EMAIL, PASSWORD, "").await.status, 303);
    let account = b.get("/user").await;
    assert!(account.body.contains("This device"), "{}", account.body);
    assert_eq!(
        account.body.matches("name=\"id\" value=\"sess_").count(),
        2,
        "two devices"
    );
    let new_password = "a brand new horse battery";
    let r = b
        .submit(
            "/user",
            "/user/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("sign_out_of_other_sessions", "1"),
            ],
        )
        .await;
    done(&r, "password");
    assert_eq!(
        other.get("/user").await.status,
        303,
        "the other device is signed out"
    );
    assert_eq!(b.get("/user").await.status, 200, "this one is not");

    // TOTP: the page shows the key, a code turns it on and the backup codes appear once.
    let r = b.submit("/user", "/user/mfa/start", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<svg"), "a QR code");
    let secret = r.input("secret").expect("the key");
    let bytes = gatehouse::crypto::totp::base32_decode(&secret).expect("base32");
    let now = server.app.now() / 1000;
    let code = gatehouse::crypto::totp::totp_at_step(&bytes, gatehouse::crypto::totp::step_at(now));
    let r = b
        .post(
            "/user/mfa/confirm",
            &[
                ("csrf_token", &r.csrf()),
                ("code", &code),
                ("secret", &secret),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body.matches("<li><code>").count(),
        10,
        "ten backup codes: {}",
        r.body
    );
    let account = b.get("/user").await;
    assert!(account.body.contains("An authenticator app is set up."));
    // Later changes need the password again.
    server.clock.advance(11 * 60 * 1000);
    let account = b.get("/user").await;
    assert!(
        account.body.contains("confirm your password"),
        "{}",
        account.body
    );
    let r = b.submit("/user", "/user/mfa/disable", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = b
        .submit("/user", "/user/reverify", &[("password", new_password)])
        .await;
    done(&r, "reverified");
    let r = b.submit("/user", "/user/mfa/disable", &[]).await;
    done(&r, "mfa_off");

    // Devices: revoking this one signs out; deleting the account needs the box ticked.
    let c = FormBrowser::new(&server);
    assert_eq!(sign_in(&c, second, new_password, "").await.status, 303);
    let r = c
        .submit("/user", "/user/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{}/sign-in", server.public_url));
    let gone = server
        .admin()
        .get(&format!("/v1/users?query={second}"))
        .await;
    assert_eq!(gone.body["total_count"], 0, "{}", gone.body);
    assert_eq!(
        b.get("/user").await.status,
        303,
        "every session ended with the user"
    );
    server.stop().await;
}

async fn magic_link_landing_states_and_the_waiting_page(db: DbKind) {
    let server = server(db).await;
    server.create_user(EMAIL, PASSWORD).await;
    // The browser that asks for the link waits on the "check your email" page.
    let asking = FormBrowser::new(&server);
    let r = asking
        .submit("/sign-in", "/sign-in", &[("identifier", EMAIL)])
        .await;
    let step = asking.follow(&r).await;
    let attempt = step.input("attempt").unwrap();
    let page = format!("/sign-in?attempt={attempt}");
    let methods = asking.get(&format!("{page}&view=methods")).await;
    assert!(
        methods.body.contains("Email a sign-in link to"),
        "{}",
        methods.body
    );
    let id = methods
        .body
        .split("name=\"email_address_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = asking
        .submit(
            &page,
            "/sign-in/prepare",
            &[
                ("attempt", &attempt),
                ("strategy", "email_link"),
                ("email_address_id", &id),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let waiting = asking.follow(&r).await;
    assert!(
        waiting.body.contains("data-poll=\"/v1/client/sign_ins/"),
        "{}",
        waiting.body
    );
    assert!(
        waiting
            .body
            .contains("<noscript><meta http-equiv=\"refresh\""),
        "works without scripts"
    );

    // Opened in another browser: verified, "return to your other tab".
    let text = latest_message(&server, EMAIL).await["text"]
        .as_str()
        .unwrap()
        .to_string();
    let link = support_link(&text, &server.public_url);
    let elsewhere = FormBrowser::new(&server);
    let r = elsewhere.get(&link).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().contains("/verify?flow=sign_in"),
        "{}",
        r.location()
    );
    assert!(
        r.location().contains("__gatehouse_status=verified"),
        "{}",
        r.location()
    );
    let landing = elsewhere.follow(&r).await;
    assert_eq!(landing.status, 200, "{}", landing.body);
    assert!(
        landing.body.contains("Return to the tab where you started"),
        "{}",
        landing.body
    );
    assert!(
        elsewhere.cookie("__client_uat").is_none_or(|v| v == "0"),
        "no session there"
    );
    // The waiting page (its reload, without scripts) finishes the sign-in there.
    let r = asking.get(&page).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{}/user", server.public_url));
    assert!(asking.cookie("__session").is_some());

    // The link again: failed. An unknown one, expired ones: their states.
    let again = FormBrowser::new(&server).get(&link).await;
    let landing = elsewhere.follow(&again).await;
    assert!(
        landing.body.contains("This link can&#39;t be used"),
        "{}",
        landing.body
    );
    let r = elsewhere.get("/verify?__gatehouse_status=expired").await;
    assert!(r.body.contains("This link has expired"), "{}", r.body);
    for q in [
        "",
        "?__gatehouse_status=%3Cscript%3E",
        "?__gatehouse_status=verified&attempt=sia_x",
    ] {
        let r = elsewhere.get(&format!("/verify{q}")).await;
        assert_eq!(r.status, 200, "{q}");
        assert!(!r.body.contains("<script>"), "{q}");
    }
    server.stop().await;
}

/// A form post: (action, fields, expected status, text the page shows).
type FormCheck<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

fn with_attempt<'a>(
    attempt: &'a str,
    extra: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    let mut v = vec![("attempt", attempt)];
    v.extend_from_slice(extra);
    v
}

fn support_link(text: &str, public_url: &str) -> String {
    let prefix = format!("{public_url}/v1/verify?token=");
    let start = text.find(&prefix).expect("a link") + public_url.len();
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

async fn pages_carry_security_headers(db: DbKind) {
    let server = server_with(
        db,
        "[pages]\nprimary_color = \"#0a7\"\nlogo_url = \"https://cdn.example.com/logo.svg\"\n",
    )
    .await;
    let b = FormBrowser::new(&server);
    for (path, status) in [
        ("/sign-in", 200),
        ("/sign-up", 200),
        ("/verify?__gatehouse_status=failed", 200),
        ("/sign-in?attempt=sia_x", 422),
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let csp = r.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "img-src 'self' data: https://cdn.example.com",
            "form-action 'self' https://app.example.com",
        ] {
            assert!(csp.contains(part), "{path}: {part} not in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        // The one inline style is allowed by its hash, and only it.
        let style = r
            .body
            .split("<style>")
            .nth(1)
            .unwrap()
            .split("</style>")
            .next()
            .unwrap();
        assert!(style.contains("#0a7"), "{style}");
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(style.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        assert_eq!(
            r.body.matches("<script").count(),
            1,
            "one external module script"
        );
        assert!(!r.body.contains("<script>"), "no inline script");
        assert_eq!(r.header("x-frame-options"), "DENY");
        assert_eq!(r.header("referrer-policy"), "same-origin");
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(r.body.contains("src=\"https://cdn.example.com/logo.svg\""));
    }
    // Assets: long-cached by content hash; gatehouse.js versioned or revalidated.
    let page = b.get("/sign-in").await;
    let css = page
        .body
        .split("href=\"/pages/assets/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = b.get(&format!("/pages/assets/{css}")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() <= 8 * 1024, "the CSS budget: {}", r.body.len());
    let script = page
        .body
        .split("src=\"/pages/assets/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let pages_js = b.get(&format!("/pages/assets/{script}")).await;
    assert!(
        pages_js.body.contains("/v1/gatehouse.js?v="),
        "imports the versioned client"
    );
    assert!(r.header("cache-control").contains("immutable"));
    assert!(r.header("content-type").starts_with("text/css"));
    assert_eq!(b.get("/pages/assets/pages.0000.css").await.status, 404);
    let js = b.get("/v1/gatehouse.js").await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("export default gatehouse"));
    let scripts = js.body.len() + pages_js.body.len();
    assert!(scripts <= 10 * 1024, "the JavaScript budget: {scripts}");
    let etag = js.header("etag").to_string();
    let r = b
        .inner
        .send(
            b.inner
                .request(reqwest::Method::GET, "/v1/gatehouse.js")
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(r.status, 304);
    let version = etag.trim_matches('"');
    let r = b.get(&format!("/v1/gatehouse.js?v={version}")).await;
    assert!(
        r.header("cache-control").contains("immutable"),
        "{}",
        r.header("cache-control")
    );
    // CORS: an allowed origin may call the Frontend API with credentials; others not.
    let preflight = |origin: &str| {
        b.inner
            .http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/client", server.public_url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let no = preflight("https://evil.example.com").await.unwrap();
    assert!(no.headers().get("access-control-allow-origin").is_none());
    server.stop().await;
}

async fn sign_up_verifies_the_email_address_by_code(db: DbKind) {
    let server = server_with(
        db,
        "[pages]\nafter_sign_up_url = \"https://app.example.com/welcome\"\n[auth]\nverify_email_at_sign_up = true\n",
    )
    .await;
    let b = FormBrowser::new(&server);
    let form = b.get("/sign-up").await;
    assert!(
        form.body.contains("At least 8 characters"),
        "the password rules are explained"
    );
    let r = b
        .post(
            "/sign-up",
            &[
                ("csrf_token", &form.csrf()),
                ("email_address", "fresh@example.com"),
                ("password", PASSWORD),
                ("first_name", "Fresh"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let verify = b.follow(&r).await;
    assert!(
        verify
            .body
            .contains("We emailed a 6-digit code to fresh@example.com"),
        "{}",
        verify.body
    );
    let attempt = verify.input("attempt").unwrap();
    let r = b
        .submit(
            &format!("/sign-up?attempt={attempt}"),
            "/sign-up/verify",
            &[
                ("attempt", &attempt),
                ("strategy", "email_code"),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("That code is incorrect"));
    let code = latest_code(&server, "fresh@example.com").await;
    let r = b
        .submit(
            &format!("/sign-up?attempt={attempt}"),
            "/sign-up/verify",
            &[
                ("attempt", &attempt),
                ("strategy", "email_code"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "https://app.example.com/welcome");
    assert!(b.cookie("__session").is_some());
    server.stop().await;
}

#[test]
fn pages_config_is_validated() {
    let e = Config::from_toml_str("[pages]\nafter_sign_up_url = \"https://evil.example.com\"\n")
        .unwrap_err()
        .0;
    assert!(e.contains("pages.after_sign_up_url"), "{e}");
}

/// The end-to-end tests in headless Chromium (`tests/browser/run.mjs`): one browser,
/// several contexts, against a real server on SQLite whose clock follows the wall clock
/// (the browser's timers are real).
mod browser {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use crate::saml_support::TestIdp;
    use crate::social_support::{Account, OidcProvider};
    use crate::support::{DbKind, TestServer};

    /// Seconds a session token lives here: short, so the test waits past it.
    const TOKEN_LIFETIME: u64 = 3;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hosted_pages_and_gatehouse_js_in_chromium() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            Path::new("/usr/bin/chromium").exists(),
            "headless Chromium is needed: apt-get install chromium (.ci/run installs it)"
        );
        if !dir.join("node_modules/playwright-core").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm is needed for the browser tests");
            assert!(status.success(), "npm ci failed in {}", dir.display());
        }
        let app_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let app = format!("http://127.0.0.1:{app_port}");
        // The protected-app example (axum + gatehouse-sdk), on its own port.
        let protected_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let protected_url = format!(
            "http://127.0.0.1:{}",
            protected_listener.local_addr().unwrap().port()
        );
        // A real OpenID Connect provider with its own login and consent pages.
        let mut provider = OidcProvider::start(&[Account {
            login: "sam",
            email: "sam@example.com",
            email_verified: true,
            given_name: "Sam",
            family_name: "Social",
        }]);
        let toml = format!(
            "allowed_origins = [\"{app}\", \"{protected_url}\"]\n\
             [session]\ntoken_lifetime = \"{TOKEN_LIFETIME}s\"\n\
             [pages]\nafter_sign_up_url = \"{app}/app\"\n\
             [auth]\nverify_email_at_sign_up = false\n\
             [rate_limits]\nenabled = false\n{}",
            provider.config()
        );
        let server = TestServer::start_with(DbKind::Sqlite, &toml).await;
        provider.allow_redirect(&format!("{}/v1/oauth_callback", server.public_url));
        let verifier_clock = server.clock.clone();
        let verifier = gatehouse_sdk::Verifier::builder(&server.public_url)
            .authorized_parties([server.public_url.clone(), protected_url.clone()])
            .clock(move || {
                use gatehouse::clock::Clock;
                verifier_clock.now_ms() / 1000
            })
            .build()
            .unwrap();
        let protected_app = protected_app::router(
            protected_app::Settings {
                issuer: server.public_url.clone(),
                app_url: protected_url.clone(),
            },
            verifier,
        );
        let protected_task = tokio::spawn(async move {
            axum::serve(protected_listener, protected_app)
                .await
                .unwrap()
        });
        // The browser's timers are real: the server's clock follows the wall clock.
        let clock = server.clock.clone();
        let follower = tokio::spawn(async move {
            let start = Instant::now();
            let mut applied = 0i64;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let elapsed = start.elapsed().as_millis() as i64;
                clock.advance(elapsed - applied);
                applied = elapsed;
            }
        });
        // A SAML identity provider on another site than Gatehouse (localhost rather than
        // 127.0.0.1), so its post to the ACS is cross-site as in production.
        let idp = TestIdp::start();
        let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
        let config = serde_json::json!({
            "idpEntityId": idp.entity_id,
            "idpSsoUrl": idp.sso_url.replace("127.0.0.1", "localhost"),
            "idpCertificate": idp.certificate,
            "publicUrl": server.public_url,
            "adminUrl": server.admin_url,
            "secretKey": server.secret_key,
            "appPort": app_port,
            "protectedAppUrl": protected_url,
            "providerIssuer": provider.issuer,
            "tokenLifetime": TOKEN_LIFETIME,
            "artifacts": artifacts,
        });
        let started = Instant::now();
        let run = tokio::process::Command::new("node")
            .arg(dir.join("run.mjs"))
            .arg(config.to_string())
            .current_dir(&dir)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(240), run)
            .await
            .expect("the browser tests finish within 4 minutes")
            .expect("node runs");
        follower.abort();
        protected_task.abort();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "browser tests took {:.1} s; screenshots in {}\n{stdout}",
            started.elapsed().as_secs_f64(),
            artifacts.display()
        );
        let report: serde_json::Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no report from run.mjs:\n{stdout}\n{stderr}"));
        assert!(
            out.status.success(),
            "browser tests failed: {report:#}\n{stderr}"
        );
        assert_eq!(report["failures"], serde_json::json!([]), "{report:#}");
        assert!(
            report["timings"]["other_tab_signed_out_ms"]
                .as_u64()
                .unwrap()
                <= 2000,
            "{report}"
        );
        // Every scenario ran (a scenario that throws is in `failures`).
        for scenario in [
            "sign_up_tabs_and_refresh",
            "magic_link_in_another_browser",
            "mfa_enroll_totp_and_backup_code",
            "password_reset",
            "error_states",
            "protected_app",
            "social_sign_in",
            "enterprise_sso",
        ] {
            assert!(
                report["timings"][scenario].is_u64(),
                "{scenario} did not run: {report}"
            );
        }
        // axe-core ran on every page and state, and each was screenshotted in both schemes.
        let pages = [
            "sign-up",
            "sign-in",
            "sign-in-password",
            "sign-in-methods",
            "sign-in-check-email",
            "sign-in-code",
            "sign-in-new-password",
            "sign-in-totp",
            "sign-in-backup-code",
            "sign-in-backup-code-error",
            "sign-in-error",
            "sign-in-sso",
            "verify-other-browser",
            "verify-expired",
            "verify-failed",
            "user",
            "mfa-enroll",
            "mfa-backup-codes",
            "sign-out",
        ];
        for name in pages {
            assert!(
                report["audited"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n == name)),
                "axe did not check {name}: {report}"
            );
            for scheme in ["light", "dark"] {
                let file = artifacts.join(format!("{name}-{scheme}.png"));
                assert!(file.exists(), "{} missing", file.display());
            }
        }
        server.stop().await;
    }
}

/// The sign-in page shows a button for every social provider the environment lists, and
/// the button's link starts that sign-in and sends the browser to the provider.
async fn social_buttons_follow_the_environment(db: DbKind) {
    let server = server_with(
        db,
        "[oauth.github]\nclient_id = \"Iv1.pagesTest\"\nclient_secret = \"not-a-real-secret\"\n",
    )
    .await;
    let b = FormBrowser::new(&server);
    let page = b
        .get("/sign-in?redirect_url=https%3A%2F%2Fapp.example.com%2Fhome")
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Continue with GitHub"), "{}", page.body);
    let href = page
        .body
        .split("href=\"/sign-in/social?")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a social link")
        .replace("&amp;", "&");
    assert!(href.contains("strategy=oauth_github"), "{href}");
    assert!(
        href.contains("redirect_url="),
        "the destination is kept: {href}"
    );
    let r = b.get(&format!("/sign-in/social?{href}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location()
            .starts_with("https://github.com/login/oauth/authorize?"),
        "{}",
        r.location()
    );
    assert!(
        r.location().contains("client_id=Iv1.pagesTest"),
        "{}",
        r.location()
    );
    let sign_up = b.get("/sign-up").await;
    assert!(
        sign_up.body.contains("Continue with GitHub"),
        "{}",
        sign_up.body
    );
    // Back from the provider with the sign-in not finished and nothing to go on with:
    // the sign-in page as usual.
    for status in [
        "needs_second_factor",
        "missing_requirements",
        "transferable",
    ] {
        let r = FormBrowser::new(&server)
            .get(&format!("/sign-in?__gatehouse_status={status}"))
            .await;
        assert_eq!(r.status, 200, "{status}: {}", r.body);
    }
    // Without providers there are no buttons.
    let plain = server_with(db, "").await;
    let page = FormBrowser::new(&plain).get("/sign-in").await;
    assert!(!page.body.contains("Continue with"), "{}", page.body);
    plain.stop().await;
    server.stop().await;
}
