//! Magic links end to end on SQLite and PostgreSQL, read from mail a real SMTP server
//! received: sign-in and sign-up completed in the browser that asked for the link, and
//! across two browsers (the link opened in one, the other completing by polling); links
//! that are used, replaced, expired or unknown; the redirect with `__gatehouse_status`;
//! a link followed by a second factor.

mod delivery_support;
mod flows_support;
mod support;

use flows_support::{
    assert_error, attempt, completed, created_user, factor, id_of, prepare, sign_in_step,
    sign_up_attempt, sign_up_step, start_sign_in, Flows, Stage, MINUTE,
};
use serde_json::{json, Value};
use support::{Browser, DbKind, Resp, PASSWORD};

both_dbs!(
    sign_in_link_in_the_same_browser,
    sign_in_link_opened_in_another_browser,
    used_replaced_expired_and_unknown_links,
    sign_up_links_in_the_same_and_another_browser,
    link_then_second_factor,
);

const EMAIL: &str = "link.user@example.com";

/// The redirect target apps give, and what the browser is sent to.
fn redirect(f: &Flows) -> String {
    format!("{}/after-link?from=mail", f.server.public_url)
}

#[track_caller]
fn assert_redirect(r: &Resp, to: &str, status: &str) {
    assert_eq!(r.status, 303, "{:?} {}", r.headers, r.body);
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("{to}&__gatehouse_status={status}")
    );
    assert_eq!(r.headers["cache-control"], "no-store");
}

/// Asks for a sign-in link; returns the sign-in id.
async fn sign_in_link(f: &Flows, browser: &Browser, email: &str) -> String {
    let sign_in = start_sign_in(browser, email).await;
    let id = id_of(&sign_in);
    let offered = factor(&sign_in, "email_link").clone();
    let r = sign_in_step(
        browser,
        &id,
        "prepare_first_factor",
        json!({"strategy": "email_link", "email_address_id": offered["email_address_id"], "redirect_url": redirect(f)}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

async fn get_sign_in(browser: &Browser, id: &str) -> Resp {
    browser.get(&format!("/v1/client/sign_ins/{id}")).await
}

async fn sign_in_link_in_the_same_browser(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    let user = f.server.create_user(EMAIL, PASSWORD).await;
    let browser = f.server.browser();
    let now = f.server.app.now();
    let id = sign_in_link(&f, &browser, EMAIL).await;
    let r = get_sign_in(&browser, &id).await;
    let v = &r.body["response"]["first_factor_verification"];
    assert_eq!(
        (
            &v["status"],
            &v["strategy"],
            &v["expire_at"],
            &v["verified_at_client"]
        ),
        (
            &json!("unverified"),
            &json!("email_link"),
            &json!(now + 15 * MINUTE),
            &Value::Null
        ),
        "{v}"
    );

    let mail = f.mail_after(EMAIL, 0).await;
    assert_eq!(mail.subject(), "Your Gatehouse sign-in link");
    let link = f.link_after(EMAIL, 0).await;
    assert!(
        mail.part("text/html")
            .unwrap()
            .contains(&link.replace('&', "&amp;")),
        "the HTML part links too"
    );
    let before = browser.cookie("__client").unwrap();
    let r = browser.get(&link).await;
    assert_redirect(&r, &redirect(&f), "verified");
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    // Signed in right there: a new __client value, a fresh __client_uat.
    assert_ne!(browser.cookie("__client").unwrap(), before, "rotated");
    assert_ne!(browser.cookie("__client_uat").as_deref(), Some("0"));
    let client = browser.get("/v1/client").await.body["response"].clone();
    assert_eq!(
        client["sessions"][0]["user"]["id"],
        user.as_str(),
        "{client}"
    );
    let session = client["last_active_session_id"].as_str().unwrap();
    let sign_in = get_sign_in(&browser, &id).await.body["response"].clone();
    assert_eq!(sign_in["status"], "complete");
    assert_eq!(sign_in["created_session_id"], session);
    assert_eq!(
        sign_in["first_factor_verification"]["verified_at_client"],
        "same_client"
    );
    assert_eq!(browser.mint(session).await.status, 200);

    // A link works once.
    let r = browser.get(&link).await;
    assert_redirect(&r, &redirect(&f), "failed");
    f.server.stop().await;
}

async fn sign_in_link_opened_in_another_browser(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    f.server.create_user(EMAIL, PASSWORD).await;
    let laptop = f.server.browser();
    let id = sign_in_link(&f, &laptop, EMAIL).await;
    let link = f.link_after(EMAIL, 0).await;
    // Polling before the link is opened changes nothing.
    let r = get_sign_in(&laptop, &id).await;
    assert_eq!(r.body["response"]["status"], "needs_first_factor");
    assert!(r.set_cookie("__client").is_none());

    // The link is opened on a phone: verified there, signed in nowhere yet.
    let phone = f.server.browser();
    let r = phone.get(&link).await;
    assert_redirect(&r, &redirect(&f), "verified");
    assert!(r.set_cookie("__client").is_none(), "{:?}", r.set_cookies());
    assert_eq!(
        phone.get("/v1/client").await.body["response"]["sessions"],
        json!([])
    );
    // Another browser cannot take the attempt over.
    assert_eq!(get_sign_in(&phone, &id).await.status, 404);

    // The laptop's next polls complete the sign-in there, once, even when several
    // arrive at once. A poll the server reaches only after the winner rotated
    // `__client` carries a dead value: refused, and it touches no cookie.
    let before = laptop.cookie("__client").unwrap();
    let polls = futures::future::join_all((0..4).map(|_| get_sign_in(&laptop, &id))).await;
    let (late, polls): (Vec<&Resp>, Vec<&Resp>) = polls.iter().partition(|r| r.status == 401);
    for r in late {
        assert_eq!(r.error_code(), "authentication_invalid", "{}", r.body);
        assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    }
    let mut sessions: Vec<String> = polls
        .iter()
        .map(|r| {
            assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
            r.body["response"]["created_session_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    sessions.dedup();
    assert_eq!(sessions.len(), 1, "one session: {sessions:?}");
    let session = sessions.remove(0);
    let winner = polls
        .iter()
        .find(|r| r.set_cookie("__client_uat").is_some())
        .expect("the completing poll signs the client in");
    assert_eq!(
        winner.body["response"]["first_factor_verification"]["verified_at_client"],
        "other_client"
    );
    assert_ne!(laptop.cookie("__client").unwrap(), before, "rotated");
    // The value from before the rotation is dead, and a request still carrying it
    // cannot overwrite the new one.
    let stale = f.server.browser();
    let r = stale
        .send(
            stale
                .request(reqwest::Method::GET, &format!("/v1/client/sign_ins/{id}"))
                .header("cookie", format!("__client={before}")),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    assert_eq!(laptop.mint(&session).await.status, 200);
    // Polling again is harmless.
    let r = get_sign_in(&laptop, &id).await;
    assert_eq!(r.body["response"]["created_session_id"], session.as_str());
    assert_eq!(r.body["client"]["sessions"].as_array().unwrap().len(), 1);
    // The link is used up.
    assert_redirect(&phone.get(&link).await, &redirect(&f), "failed");
    f.server.stop().await;
}

async fn used_replaced_expired_and_unknown_links(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    f.server.create_user(EMAIL, PASSWORD).await;
    let browser = f.server.browser();
    let id = id_of(&start_sign_in(&browser, EMAIL).await);
    let ask_link = |redirect_url: Value| {
        sign_in_step(
            &browser,
            &id,
            "prepare_first_factor",
            json!({"strategy": "email_link", "redirect_url": redirect_url}),
        )
    };
    // The redirect must be given, and allowed.
    let r = ask_link(Value::Null).await;
    assert_error(&r, 422, "form_param_missing");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "redirect_url");
    for bad in [
        "https://evil.example/after",
        "javascript:alert(1)",
        "/relative",
    ] {
        let r = ask_link(json!(bad)).await;
        assert_error(&r, 422, "form_param_format_invalid");
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], "redirect_url");
    }
    assert_eq!(f.sink.count(), 0);

    assert_eq!(ask_link(json!(redirect(&f))).await.status, 200);
    let first = f.link_after(EMAIL, 0).await;
    assert_error(
        &ask_link(json!(redirect(&f))).await,
        429,
        "rate_limit_exceeded",
    );
    // A newer link replaces it.
    f.server.clock.advance(31_000);
    assert_eq!(ask_link(json!(redirect(&f))).await.status, 200);
    let second = f.link_after(EMAIL, 1).await;
    assert_ne!(first, second);
    assert_redirect(&browser.get(&first).await, &redirect(&f), "failed");
    // Fifteen minutes later it has expired.
    f.server.clock.advance(15 * MINUTE);
    let r = get_sign_in(&browser, &id).await;
    assert_eq!(
        r.body["response"]["first_factor_verification"]["status"],
        "expired"
    );
    assert_redirect(&browser.get(&second).await, &redirect(&f), "expired");

    // Switching to a code leaves a link nothing to verify.
    assert_eq!(ask_link(json!(redirect(&f))).await.status, 200);
    let third = f.link_after(EMAIL, 2).await;
    let r = prepare(&browser, &id, Stage::First, "email_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_redirect(&browser.get(&third).await, &redirect(&f), "failed");
    assert_eq!(
        get_sign_in(&browser, &id).await.body["response"]["status"],
        "needs_first_factor"
    );

    // Tokens that name no link go to the sign-in page; no token is a bad request.
    for unknown in ["A".repeat(43), "x".repeat(4000)] {
        let r = browser.get(&format!("/v1/verify?token={unknown}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(
            r.headers["location"].to_str().unwrap(),
            format!("{}/sign-in?__gatehouse_status=failed", f.server.public_url)
        );
    }
    let r = browser.get("/v1/verify").await;
    assert_error(&r, 422, "form_param_missing");
    f.server.stop().await;
}

/// Starts a sign-up and asks for a link to verify its email address; returns its id.
async fn sign_up_with_link(f: &Flows, browser: &Browser, email: &str) -> String {
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        r.body["response"]["unverified_fields"],
        json!(["email_address"]),
        "{}",
        r.body
    );
    let id = id_of(&r.body["response"]);
    let body = json!({"strategy": "email_link", "redirect_url": redirect(f)});
    let r = sign_up_step(browser, &id, "prepare_verification", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["verifications"]["email_address"]["strategy"],
        "email_link"
    );
    id
}

async fn sign_up_links_in_the_same_and_another_browser(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = true", "").await;
    // Opened where it was asked for: complete at once.
    let browser = f.server.browser();
    let id = sign_up_with_link(&f, &browser, "same@example.com").await;
    let link = f.link_after("same@example.com", 0).await;
    // A link is no code.
    let r = sign_up_attempt(&browser, &id, "email_link", "123456").await;
    assert_error(&r, 422, "form_param_format_invalid");
    assert_redirect(&browser.get(&link).await, &redirect(&f), "verified");
    let r = browser.get(&format!("/v1/client/sign_ups/{id}")).await;
    completed(&r);
    let verification = &r.body["response"]["verifications"]["email_address"];
    assert_eq!(verification["status"], "verified");
    assert_eq!(verification["verified_at_client"], "same_client");
    let user = created_user(&f.server, &r).await;
    assert_eq!(
        user["email_addresses"][0]["verification"]["strategy"],
        "email_link"
    );

    // Opened in another browser: the asking one completes by polling.
    let laptop = f.server.browser();
    let id = sign_up_with_link(&f, &laptop, "other@example.com").await;
    let link = f.link_after("other@example.com", 0).await;
    let phone = f.server.browser();
    assert_redirect(&phone.get(&link).await, &redirect(&f), "verified");
    assert_eq!(
        phone.get("/v1/client").await.body["response"]["sessions"],
        json!([])
    );
    let r = laptop.get(&format!("/v1/client/sign_ups/{id}")).await;
    let session = completed(&r);
    assert_eq!(
        r.body["response"]["verifications"]["email_address"]["verified_at_client"],
        "other_client"
    );
    assert_eq!(laptop.mint(&session).await.status, 200);

    // A link for an address the sign-up no longer has verifies nothing.
    let browser = f.server.browser();
    let id = sign_up_with_link(&f, &browser, "changed@example.com").await;
    let link = f.link_after("changed@example.com", 0).await;
    let r = browser
        .patch(
            &format!("/v1/client/sign_ups/{id}"),
            json!({"email_address": "changed.again@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_redirect(&browser.get(&link).await, &redirect(&f), "failed");
    let r = browser.get(&format!("/v1/client/sign_ups/{id}")).await;
    assert_eq!(r.body["response"]["status"], "missing_requirements");
    f.server.stop().await;
}

async fn link_then_second_factor(db: DbKind) {
    let auth = "identifiers = [\"email_address\", \"phone_number\"]\n\
        second_factors = [\"totp\", \"backup_code\", \"phone_code\"]\nverify_email_at_sign_up = false";
    let f = Flows::start(db, auth, "").await;
    let r = f
        .server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": [EMAIL], "phone_number": ["+14155550199"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let laptop = f.server.browser();
    let id = sign_in_link(&f, &laptop, EMAIL).await;
    let link = f.link_after(EMAIL, 0).await;
    assert_redirect(
        &f.server.browser().get(&link).await,
        &redirect(&f),
        "verified",
    );
    let r = get_sign_in(&laptop, &id).await;
    assert_eq!(
        r.body["response"]["status"], "needs_second_factor",
        "{}",
        r.body
    );
    assert_eq!(
        r.body["response"]["supported_second_factors"][0]["strategy"],
        "phone_code"
    );
    let r = prepare(&laptop, &id, Stage::Second, "phone_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = f.sms_code_after("+14155550199", 0).await;
    let r = attempt(&laptop, &id, Stage::Second, "phone_code", &code).await;
    completed(&r);
    f.server.stop().await;
}
