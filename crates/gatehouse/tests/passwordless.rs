//! One-time codes as factors, end to end on SQLite and PostgreSQL: every code is read
//! from what a real SMTP server (mailin-embedded) or a server speaking the Twilio
//! Messages API received on loopback. Sign-in with `email_code` and `phone_code`,
//! sign-up verifying an email address and a phone number, the code rules (5 attempts,
//! single use, a new code replaces the old, 10-minute expiry, 30 s between sends), the
//! password reset, the factor policy, enumeration protection, and `phone_code` as the
//! second factor.

mod delivery_support;
mod flows_support;
mod support;

use flows_support::{
    assert_error, attempt, completed, created_user, factor, id_of, in_status, other_code, prepare,
    sign_in_step, sign_up_attempt, sign_up_prepare, start_sign_in, Flows, Stage, MINUTE,
};
use serde_json::{json, Value};
use support::{claims, shape, Browser, DbKind, Resp, PASSWORD};

both_dbs!(
    email_code_sign_in_over_smtp,
    phone_code_sign_in_over_sms,
    sign_up_verifies_email_and_phone,
    code_attempts_replacement_expiry_and_cooldown,
    reset_password_over_smtp,
    factor_policy,
    enumeration_protection_for_codes_and_links,
    phone_code_second_factor_over_sms,
);

const PHONE_AUTH: &str = "identifiers = [\"email_address\", \"phone_number\"]\n\
    first_factors = [\"password\", \"email_code\", \"email_link\", \"phone_code\"]\n\
    verify_email_at_sign_up = false\nverify_phone_at_sign_up = false";
const NEW_PASSWORD: &str = "a brand new passphrase 4 reset";

async fn email_code_sign_in_over_smtp(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    let user = f
        .server
        .create_user("Code.User@example.com", PASSWORD)
        .await;
    let browser = f.server.browser();
    let sign_in = start_sign_in(&browser, "code.user@example.com").await;
    let id = id_of(&sign_in);
    let offered = factor(&sign_in, "email_code");
    assert_eq!(offered["safe_identifier"], "C***@example.com");
    let email_id = offered["email_address_id"].clone();
    assert!(email_id.as_str().unwrap().starts_with("idn_"), "{offered}");

    // No code was asked for yet.
    let code_body = |code: &str| json!({"strategy": "email_code", "code": code});
    let r = sign_in_step(&browser, &id, "attempt_first_factor", code_body("123456")).await;
    assert_error(&r, 422, "verification_failed");

    let now = f.server.app.now();
    let r = sign_in_step(
        &browser,
        &id,
        "prepare_first_factor",
        json!({"strategy": "email_code", "email_address_id": email_id}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body["response"]["first_factor_verification"];
    assert_eq!(v["status"], "unverified", "{v}");
    assert_eq!(v["strategy"], "email_code");
    assert_eq!(v["attempts"], 0);
    assert_eq!(v["expire_at"], now + 10 * MINUTE);
    assert!(
        !r.body.to_string().contains("Code.User@example.com"),
        "the address is masked: {}",
        r.body
    );

    let mail = f.mail_after("Code.User@example.com", 0).await;
    let code = mail.code().unwrap();
    assert_eq!(
        mail.subject(),
        format!("{code} is your Gatehouse verification code")
    );
    let r = sign_in_step(
        &browser,
        &id,
        "attempt_first_factor",
        code_body(&other_code(&code)),
    )
    .await;
    assert_error(&r, 422, "form_code_incorrect");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "code");
    let r = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
    assert_eq!(
        r.body["response"]["first_factor_verification"]["attempts"],
        1
    );

    let r = sign_in_step(&browser, &id, "attempt_first_factor", code_body(&code)).await;
    let session = completed(&r);
    let v = &r.body["response"]["first_factor_verification"];
    assert_eq!(
        (&v["status"], &v["strategy"]),
        (&json!("verified"), &json!("email_code"))
    );
    assert_eq!(r.body["client"]["sessions"][0]["user"]["id"], user.as_str());
    let minted = browser.mint(&session).await;
    assert_eq!(minted.status, 200, "{}", minted.body);
    assert_eq!(
        claims(minted.body["jwt"].as_str().unwrap())["fva"],
        json!([0, -1])
    );

    // The code belonged to that sign-in: another one cannot use it.
    let other = f.server.browser();
    let again = id_of(&start_sign_in(&other, "code.user@example.com").await);
    let r = sign_in_step(&other, &again, "attempt_first_factor", code_body(&code)).await;
    assert_error(&r, 422, "verification_failed");
    f.server.stop().await;
}

async fn phone_code_sign_in_over_sms(db: DbKind) {
    let f = Flows::start(db, PHONE_AUTH, "").await;
    let r = f
        .server
        .admin()
        .post(
            "/v1/users",
            json!({"phone_number": ["+14155550123"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let browser = f.server.browser();
    let sign_in = start_sign_in(&browser, "+1 (415) 555-0123").await;
    let id = id_of(&sign_in);
    let offered = factor(&sign_in, "phone_code");
    assert_eq!(offered["safe_identifier"], "+*********23");
    assert_eq!(offered["phone_number_id"], r.body["phone_numbers"][0]["id"]);
    assert!(
        sign_in["supported_first_factors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["strategy"] != "email_code"),
        "no email factors without an email address: {sign_in}"
    );

    let r = sign_in_step(
        &browser,
        &id,
        "prepare_first_factor",
        json!({"strategy": "phone_code", "phone_number_id": offered["phone_number_id"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sms = f.sms_after("+14155550123", 0).await;
    assert_eq!(sms.from, "+14155550100");
    let code = delivery_support::six_digits(&sms.body).unwrap();
    let r = attempt(&browser, &id, Stage::First, "phone_code", &code).await;
    completed(&r);
    assert_eq!(
        r.body["response"]["first_factor_verification"]["strategy"],
        "phone_code"
    );
    f.server.stop().await;
}

async fn sign_up_verifies_email_and_phone(db: DbKind) {
    let auth = "identifiers = [\"email_address\", \"phone_number\"]\n\
        first_factors = [\"password\", \"email_code\", \"phone_code\"]\n\
        verify_email_at_sign_up = true\nverify_phone_at_sign_up = true";
    let f = Flows::start(db, auth, "").await;
    let browser = f.server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "Both@example.com", "phone_number": "+44 20 7946 0958", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["status"], "missing_requirements");
    assert_eq!(
        s["unverified_fields"],
        json!(["email_address", "phone_number"])
    );
    let id = id_of(s);

    // A phone code before one was sent, and the email code.
    let r = sign_up_attempt(&browser, &id, "phone_code", "123456").await;
    assert_error(&r, 422, "verification_failed");
    let r = sign_up_prepare(&browser, &id, "email_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = f.code_after("Both@example.com", 0).await;
    let r = sign_up_attempt(&browser, &id, "email_code", &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["status"], "missing_requirements");
    assert_eq!(s["unverified_fields"], json!(["phone_number"]));
    assert_eq!(s["verifications"]["email_address"]["status"], "verified");

    let r = sign_up_prepare(&browser, &id, "phone_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["verifications"]["phone_number"]["strategy"],
        "phone_code"
    );
    let code = f.sms_code_after("+442079460958", 0).await;
    let r = sign_up_attempt(&browser, &id, "phone_code", &code).await;
    completed(&r);
    let user = created_user(&f.server, &r).await;
    let email = &user["email_addresses"][0];
    let phone = &user["phone_numbers"][0];
    assert_eq!(email["verification"]["status"], "verified", "{user}");
    assert_eq!(email["verification"]["strategy"], "email_code");
    assert_eq!(phone["verification"]["status"], "verified", "{user}");
    assert_eq!(phone["verification"]["strategy"], "phone_code");
    assert_eq!(user["primary_phone_number_id"], phone["id"]);
    f.server.stop().await;
}

async fn code_attempts_replacement_expiry_and_cooldown(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    f.server.create_user("rules@example.com", PASSWORD).await;
    let browser = f.server.browser();
    let id = id_of(&start_sign_in(&browser, "rules@example.com").await);
    let ask_code = || prepare(&browser, &id, Stage::First, "email_code");
    let try_code = |code: &str| attempt(&browser, &id, Stage::First, "email_code", code);
    assert_eq!(ask_code().await.status, 200);
    let first = f.code_after("rules@example.com", 0).await;

    // Another code within 30 s: 429 with Retry-After.
    let r = ask_code().await;
    assert_error(&r, 429, "rate_limit_exceeded");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");

    // Five wrong codes, then even the right one fails.
    for n in 1..=5 {
        let r = try_code(&other_code(&first)).await;
        assert_error(&r, 422, "form_code_incorrect");
        let got = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
        assert_eq!(
            got.body["response"]["first_factor_verification"]["attempts"],
            n
        );
    }
    assert_error(
        &try_code(&other_code(&first)).await,
        422,
        "verification_failed",
    );
    assert_error(&try_code(&first).await, 422, "verification_failed");
    let got = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
    assert_eq!(
        got.body["response"]["first_factor_verification"]["status"],
        "failed"
    );

    // A new code replaces the old one.
    f.server.clock.advance(31_000);
    assert_eq!(ask_code().await.status, 200);
    let second = f.code_after("rules@example.com", 1).await;
    if second != first {
        assert_error(&try_code(&first).await, 422, "form_code_incorrect");
    }
    // Ten minutes later it has expired.
    f.server.clock.advance(10 * MINUTE);
    let got = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
    assert_eq!(
        got.body["response"]["first_factor_verification"]["status"],
        "expired"
    );
    assert_error(&try_code(&second).await, 422, "verification_expired");

    // A fresh code still works.
    assert_eq!(ask_code().await.status, 200);
    let third = f.code_after("rules@example.com", 2).await;
    completed(&try_code(&third).await);
    f.server.stop().await;
}

/// Mints a token for a session; the status says whether the session is active.
async fn mint_status(browser: &Browser, session: &str) -> u16 {
    browser.mint(session).await.status.as_u16()
}

async fn reset_password_over_smtp(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    f.server.create_user("reset.me@example.com", PASSWORD).await;
    // Signed in elsewhere before the reset.
    let laptop = f.server.browser();
    let laptop_session = laptop.sign_in("reset.me@example.com", PASSWORD).await;
    let phone = f.server.browser();
    let phone_session = phone.sign_in("reset.me@example.com", PASSWORD).await;

    // A reset without signing out the others.
    let reset = |browser: Browser, sign_out: bool, seen: usize| {
        let f = &f;
        async move {
            let sign_in = start_sign_in(&browser, "reset.me@example.com").await;
            let id = id_of(&sign_in);
            let offered = factor(&sign_in, "reset_password_email_code");
            let r = sign_in_step(
                &browser,
                &id,
                "prepare_first_factor",
                json!({"strategy": "reset_password_email_code", "email_address_id": offered["email_address_id"]}),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let mail = f.mail_after("reset.me@example.com", seen).await;
            let code = mail.code().unwrap();
            assert_eq!(
                mail.subject(),
                format!("{code} is your Gatehouse password reset code")
            );
            // Setting a password needs the code first.
            let r = sign_in_step(
                &browser,
                &id,
                "reset_password",
                json!({"password": NEW_PASSWORD}),
            )
            .await;
            assert_error(&r, 422, "sign_in_invalid_state");
            let r = attempt(
                &browser,
                &id,
                Stage::First,
                "reset_password_email_code",
                &code,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(
                r.body["response"]["status"], "needs_new_password",
                "{}",
                r.body
            );
            // The new password meets the policy.
            let r = sign_in_step(
                &browser,
                &id,
                "reset_password",
                json!({"password": "password123"}),
            )
            .await;
            assert_error(&r, 422, "form_password_pwned");
            let r = sign_in_step(
                &browser,
                &id,
                "reset_password",
                json!({"password": NEW_PASSWORD, "sign_out_of_other_sessions": sign_out}),
            )
            .await;
            (browser, completed(&r))
        }
    };
    let (first, first_session) = reset(f.server.browser(), false, 0).await;
    assert_eq!(
        mint_status(&laptop, &laptop_session).await,
        200,
        "others stay signed in"
    );
    assert_eq!(mint_status(&first, &first_session).await, 200);
    // The old password stops working, the new one works.
    let r = f
        .server
        .browser()
        .sign_in_raw("reset.me@example.com", PASSWORD)
        .await;
    assert_error(&r, 422, "form_password_incorrect");
    f.server
        .browser()
        .sign_in("reset.me@example.com", NEW_PASSWORD)
        .await;

    // With sign_out_of_other_sessions, every earlier session ends.
    let (second, second_session) = reset(f.server.browser(), true, 1).await;
    for (browser, session) in [
        (&laptop, &laptop_session),
        (&phone, &phone_session),
        (&first, &first_session),
    ] {
        assert_eq!(
            mint_status(browser, session).await,
            401,
            "{session} was signed out"
        );
    }
    assert_eq!(mint_status(&second, &second_session).await, 200);
    f.server.stop().await;
}

async fn factor_policy(db: DbKind) {
    // Passwords only (the reset code goes with them).
    let f = Flows::start(
        db,
        "first_factors = [\"password\"]\nverify_email_at_sign_up = false",
        "",
    )
    .await;
    f.server.create_user("policy@example.com", PASSWORD).await;
    let env = f.server.browser().get("/v1/environment").await;
    assert_eq!(
        env.body["response"]["auth_config"]["first_factors"],
        json!(["password"])
    );
    let browser = f.server.browser();
    let sign_in = start_sign_in(&browser, "policy@example.com").await;
    let strategies: Vec<&Value> = sign_in["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["strategy"])
        .collect();
    assert_eq!(
        strategies,
        [&json!("password"), &json!("reset_password_email_code")]
    );
    let id = id_of(&sign_in);
    for strategy in ["email_code", "email_link", "phone_code"] {
        let r = sign_in_step(
            &browser,
            &id,
            "prepare_first_factor",
            json!({"strategy": strategy, "redirect_url": f.server.public_url}),
        )
        .await;
        assert_error(&r, 422, "form_param_format_invalid");
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], "strategy");
        assert!(
            r.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not enabled"),
            "{}",
            r.body
        );
    }
    let r = attempt(&browser, &id, Stage::First, "email_code", "123456").await;
    assert_error(&r, 422, "form_param_format_invalid");
    assert_eq!(f.sink.count(), 0);
    f.server.stop().await;

    // Codes only: no password at sign-up, none accepted at sign-in; phone codes are
    // enabled but this user has no phone number.
    let auth = "identifiers = [\"email_address\", \"phone_number\"]\n\
        first_factors = [\"email_code\", \"phone_code\"]\nverify_email_at_sign_up = false";
    let f = Flows::start(db, auth, "").await;
    let browser = f.server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ups",
            json!({"email_address": "nopass@example.com"}),
        )
        .await;
    assert_eq!(
        r.body["response"]["required_fields"],
        json!(["email_address"]),
        "{}",
        r.body
    );
    completed(&r);
    let browser = f.server.browser();
    let r = browser.sign_in_raw("nopass@example.com", PASSWORD).await;
    assert_error(&r, 422, "form_param_format_invalid");
    let sign_in = start_sign_in(&browser, "nopass@example.com").await;
    let id = id_of(&sign_in);
    let r = prepare(&browser, &id, Stage::First, "phone_code").await;
    assert_error(&r, 422, "strategy_for_user_invalid");
    let r = prepare(&browser, &id, Stage::First, "email_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = f.code_after("nopass@example.com", 0).await;
    let r = attempt(&browser, &id, Stage::First, "email_code", &code).await;
    completed(&r);
    f.server.stop().await;
}

/// A response without what differs between any two requests (ids, times, the client).
fn comparable(r: &Resp) -> (u16, Value) {
    let mut body = r.body.clone();
    if let Some(response) = body.get_mut("response") {
        *response = shape(response);
    }
    if let Some(client) = body.get_mut("client") {
        *client = shape(client);
    }
    (r.status.as_u16(), body)
}

async fn enumeration_protection_for_codes_and_links(db: DbKind) {
    let f = Flows::start(
        db,
        "verify_email_at_sign_up = false\nprotect_against_enumeration = true",
        "",
    )
    .await;
    f.server.create_user("known@example.com", PASSWORD).await;
    let mut seen = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let browser = f.server.browser();
        let sign_in = start_sign_in(&browser, email).await;
        let id = id_of(&sign_in);
        let step = |action: &'static str, body: Value| {
            let (browser, id) = (&browser, &id);
            async move { comparable(&sign_in_step(browser, id, action, body).await) }
        };
        let redirect = format!("{}/done", f.server.public_url);
        seen.push(vec![
            (200, sign_in["supported_first_factors"].clone()),
            step(
                "prepare_first_factor",
                json!({"strategy": "email_code", "email_address_id": "idn_made_up"}),
            )
            .await,
            step("prepare_first_factor", json!({"strategy": "email_code"})).await,
            step(
                "attempt_first_factor",
                json!({"strategy": "email_code", "code": "000000"}),
            )
            .await,
            step(
                "prepare_first_factor",
                json!({"strategy": "email_link", "redirect_url": redirect}),
            )
            .await,
            step("prepare_first_factor", json!({"strategy": "phone_code"})).await,
        ]);
    }
    assert_eq!(
        seen[0], seen[1],
        "a known and an unknown address answer alike"
    );
    assert_eq!(
        seen[0][0].1,
        json!([{"strategy": "password"}, {"strategy": "email_code"}, {"strategy": "email_link"}, {"strategy": "reset_password_email_code"}]),
        "the factors name no address"
    );
    assert_eq!(
        seen[0][2].0, 429,
        "the second code within 30 s: {:?}",
        seen[0][2]
    );
    assert_eq!(
        seen[0][5].1["errors"][0]["code"],
        "form_param_format_invalid"
    );

    // Only the account's address got anything: a code and a link.
    let mail = f.mail_after("known@example.com", 1).await;
    assert!(
        mail.subject().contains("sign-in link"),
        "{}",
        mail.subject()
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(f.mail_count("unknown@example.com"), 0);
    assert_eq!(f.sink.count(), 2);
    let counts = f.server.app.store.outbox_status_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![("sent".to_string(), 2)],
        "nothing queued for the unknown address"
    );

    // A username offers the password alone, account or not.
    let sign_in = start_sign_in(&f.server.browser(), "nobody_here").await;
    assert_eq!(
        sign_in["supported_first_factors"],
        json!([{"strategy": "password"}])
    );
    f.server.stop().await;
}

/// Signs in with the password up to the second factor; returns the sign-in object.
async fn to_second_factor(browser: &Browser, email: &str) -> Value {
    in_status(
        &browser.sign_in_raw(email, PASSWORD).await,
        "needs_second_factor",
    )
}

async fn phone_code_second_factor_over_sms(db: DbKind) {
    let auth =
        format!("{PHONE_AUTH}\nsecond_factors = [\"totp\", \"backup_code\", \"phone_code\"]");
    let f = Flows::start(db, &auth, "").await;
    let admin = f.server.admin();
    let r = admin
        .post("/v1/users", json!({"email_address": ["two@example.com"], "phone_number": ["+14155550123"], "password": PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["two_factor_enabled"], true,
        "a verified phone is a second factor"
    );
    let phone_id = r.body["phone_numbers"][0]["id"].clone();
    f.server.create_user("one@example.com", PASSWORD).await;

    // Without a phone number, the password is enough.
    let browser = f.server.browser();
    browser.sign_in("one@example.com", PASSWORD).await;
    assert_eq!(
        browser.get("/v1/me").await.body["response"]["two_factor_enabled"],
        false
    );

    let browser = f.server.browser();
    let sign_in = to_second_factor(&browser, "two@example.com").await;
    assert_eq!(
        sign_in["supported_second_factors"],
        json!([{"strategy": "phone_code", "safe_identifier": "+*********23", "phone_number_id": phone_id}])
    );
    let id = id_of(&sign_in);
    let try_code = |code: &str| attempt(&browser, &id, Stage::Second, "phone_code", code);
    assert_error(&try_code("123456").await, 422, "verification_failed");
    let r = prepare(&browser, &id, Stage::Second, "totp").await;
    assert_error(&r, 422, "form_param_format_invalid");
    let r = sign_in_step(
        &browser,
        &id,
        "prepare_second_factor",
        json!({"strategy": "phone_code", "phone_number_id": "idn_not_mine"}),
    )
    .await;
    assert_error(&r, 422, "form_param_format_invalid");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "phone_number_id");
    let r = sign_in_step(
        &browser,
        &id,
        "prepare_second_factor",
        json!({"strategy": "phone_code", "phone_number_id": phone_id}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["second_factor_verification"]["strategy"],
        "phone_code"
    );
    let code = f.sms_code_after("+14155550123", 0).await;
    assert_error(
        &try_code(&other_code(&code)).await,
        422,
        "form_code_incorrect",
    );
    let r = try_code(&code).await;
    let session = completed(&r);
    assert_eq!(
        r.body["response"]["second_factor_verification"]["status"],
        "verified"
    );
    let minted = browser.mint(&session).await;
    assert_eq!(
        claims(minted.body["jwt"].as_str().unwrap())["fva"],
        json!([0, 0])
    );

    // The code was single use: the next sign-in needs a new one, and the sixth wrong
    // attempt fails the code.
    let browser = f.server.browser();
    let id = id_of(&to_second_factor(&browser, "two@example.com").await);
    let try_code = |code: &str| attempt(&browser, &id, Stage::Second, "phone_code", code);
    assert_error(&try_code(&code).await, 422, "verification_failed");
    f.server.clock.advance(31_000);
    let r = prepare(&browser, &id, Stage::Second, "phone_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = f.sms_code_after("+14155550123", 1).await;
    for _ in 0..5 {
        assert_error(
            &try_code(&other_code(&fresh)).await,
            422,
            "form_code_incorrect",
        );
    }
    assert_error(&try_code(&fresh).await, 422, "verification_failed");

    // A code by SMS as the first factor is not asked for again as the second.
    let browser = f.server.browser();
    let id = id_of(&start_sign_in(&browser, "+14155550123").await);
    f.server.clock.advance(31_000);
    let r = prepare(&browser, &id, Stage::First, "phone_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = f.sms_code_after("+14155550123", 2).await;
    let r = attempt(&browser, &id, Stage::First, "phone_code", &code).await;
    completed(&r);
    f.server.stop().await;
}
