//! `/v1/me/email_addresses` and `/v1/me/phone_numbers` on SQLite and PostgreSQL, with
//! codes read from what a real SMTP server and a Twilio-shaped SMS server received: add,
//! verify, make primary, remove; an unverified address signs nobody in; the last way to
//! sign in cannot be removed; taken, malformed and foreign identifiers.

mod delivery_support;
mod flows_support;
mod support;

use flows_support::{assert_error, other_code, Flows};
use serde_json::{json, Value};
use support::{Browser, DbKind, Resp, PASSWORD};

both_dbs!(
    emails_add_verify_make_primary_remove,
    phones_add_verify_remove,
    the_last_way_to_sign_in_stays,
    taken_malformed_and_foreign_identifiers,
);

const AUTH: &str = "identifiers = [\"email_address\", \"username\", \"phone_number\"]\n\
    first_factors = [\"password\", \"email_code\", \"email_link\", \"phone_code\"]\n\
    verify_email_at_sign_up = false\nverify_phone_at_sign_up = false";

/// `POST /v1/me/<kind>` (`email_addresses`, `phone_numbers`); returns the response.
async fn add(browser: &Browser, kind: &str, value: &str) -> Resp {
    let field = if kind == "email_addresses" {
        "email_address"
    } else {
        "phone_number"
    };
    browser
        .post(&format!("/v1/me/{kind}"), json!({ field: value }))
        .await
}

async fn prepare(browser: &Browser, kind: &str, id: &str) -> Resp {
    browser
        .post(
            &format!("/v1/me/{kind}/{id}/prepare_verification"),
            json!({}),
        )
        .await
}

async fn verify(browser: &Browser, kind: &str, id: &str, code: &str) -> Resp {
    browser
        .post(
            &format!("/v1/me/{kind}/{id}/attempt_verification"),
            json!({ "code": code }),
        )
        .await
}

async fn me(browser: &Browser) -> Value {
    let r = browser.get("/v1/me").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["response"].clone()
}

async fn emails_add_verify_make_primary_remove(db: DbKind) {
    let f = Flows::start(db, AUTH, "").await;
    f.server.create_user("old@example.com", PASSWORD).await;
    let browser = f.server.browser();
    browser.sign_in("old@example.com", PASSWORD).await;
    let old_id = me(&browser).await["primary_email_address_id"].clone();

    let r = add(&browser, "email_addresses", " New@Example.com ").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let added = r.body["response"].clone();
    assert_eq!(added["object"], "email_address");
    assert_eq!(added["email_address"], "New@Example.com");
    assert_eq!(added["verification"]["status"], "unverified");
    let id = added["id"].as_str().unwrap().to_string();
    // Unverified, it signs nobody in, and cannot be primary.
    let r = f
        .server
        .browser()
        .sign_in_raw("new@example.com", PASSWORD)
        .await;
    assert_error(&r, 422, "form_identifier_not_found");
    let r = browser
        .patch("/v1/me", json!({"primary_email_address_id": id}))
        .await;
    assert_error(&r, 422, "form_param_format_invalid");
    // A code before one was asked for.
    assert_error(
        &verify(&browser, "email_addresses", &id, "123456").await,
        422,
        "verification_failed",
    );

    let r = prepare(&browser, "email_addresses", &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body["response"]["verification"];
    assert_eq!(
        (&v["status"], &v["strategy"]),
        (&json!("unverified"), &json!("email_code"))
    );
    assert!(v["expire_at"].is_number(), "{v}");
    let code = f.code_after("New@Example.com", 0).await;
    let r = verify(&browser, "email_addresses", &id, &other_code(&code)).await;
    assert_error(&r, 422, "form_code_incorrect");
    let user = me(&browser).await;
    let pending = user["email_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap();
    assert_eq!(pending["verification"]["attempts"], 1, "{user}");
    let r = verify(&browser, "email_addresses", &id, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["verification"]["status"], "verified");
    assert_eq!(r.body["response"]["verification"]["strategy"], "email_code");
    // Verified once is enough.
    assert_error(
        &prepare(&browser, "email_addresses", &id).await,
        422,
        "identifier_already_verified",
    );

    // Make it primary, remove the old one: sign-in follows.
    let r = browser
        .patch("/v1/me", json!({"primary_email_address_id": id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["primary_email_address_id"], id.as_str());
    let old_id = old_id.as_str().unwrap();
    let r = browser
        .delete(&format!("/v1/me/email_addresses/{old_id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["deleted"], true);
    let user = me(&browser).await;
    let emails: Vec<&Value> = user["email_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["email_address"])
        .collect();
    assert_eq!(emails, [&json!("New@Example.com")]);
    assert_error(
        &f.server
            .browser()
            .sign_in_raw("old@example.com", PASSWORD)
            .await,
        422,
        "form_identifier_not_found",
    );
    f.server
        .browser()
        .sign_in("new@example.com", PASSWORD)
        .await;
    f.server.stop().await;
}

async fn phones_add_verify_remove(db: DbKind) {
    let f = Flows::start(db, AUTH, "").await;
    f.server.create_user("phones@example.com", PASSWORD).await;
    let browser = f.server.browser();
    browser.sign_in("phones@example.com", PASSWORD).await;
    let r = add(&browser, "phone_numbers", "+1 415 555 0177").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["object"], "phone_number");
    assert_eq!(r.body["response"]["phone_number"], "+14155550177");
    let id = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = browser
        .post(
            &format!("/v1/me/phone_numbers/{id}/prepare_verification"),
            json!({"strategy": "email_code"}),
        )
        .await;
    assert_error(&r, 422, "form_param_format_invalid");
    assert_eq!(prepare(&browser, "phone_numbers", &id).await.status, 200);
    let code = f.sms_code_after("+14155550177", 0).await;
    let r = verify(&browser, "phone_numbers", &id, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["verification"]["strategy"], "phone_code");
    // The first verified phone number becomes the primary one, and signs in.
    assert_eq!(me(&browser).await["primary_phone_number_id"], id.as_str());
    let other = f.server.browser();
    other.sign_in("+14155550177", PASSWORD).await;

    let r = browser.delete(&format!("/v1/me/phone_numbers/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = me(&browser).await;
    assert_eq!(user["phone_numbers"], json!([]));
    assert_eq!(user["primary_phone_number_id"], Value::Null);
    f.server.stop().await;
}

async fn the_last_way_to_sign_in_stays(db: DbKind) {
    let f = Flows::start(db, AUTH, "").await;
    // No password: the email address is the only way in.
    let r = f
        .server
        .admin()
        .post("/v1/users", json!({"email_address": ["only@example.com"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let only = r.body["email_addresses"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = f.server.browser();
    let sign_in = flows_support::start_sign_in(&browser, "only@example.com").await;
    let id = flows_support::id_of(&sign_in);
    let r = flows_support::prepare(&browser, &id, flows_support::Stage::First, "email_code").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = f.code_after("only@example.com", 0).await;
    let r = flows_support::attempt(
        &browser,
        &id,
        flows_support::Stage::First,
        "email_code",
        &code,
    )
    .await;
    flows_support::completed(&r);

    let remove = |id: String| {
        let browser = &browser;
        async move {
            browser
                .delete(&format!("/v1/me/email_addresses/{id}"))
                .await
        }
    };
    let r = remove(only.clone()).await;
    assert_error(&r, 422, "cannot_remove_last_identifier");
    // An address added but not verified does not count...
    let added = add(&browser, "email_addresses", "second@example.com")
        .await
        .body["response"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        &remove(only.clone()).await,
        422,
        "cannot_remove_last_identifier",
    );
    // ...and can itself always go.
    assert_eq!(remove(added).await.status, 200);
    // A verified phone number is another way in.
    let phone = add(&browser, "phone_numbers", "+14155550188").await.body["response"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(prepare(&browser, "phone_numbers", &phone).await.status, 200);
    let code = f.sms_code_after("+14155550188", 0).await;
    assert_eq!(
        verify(&browser, "phone_numbers", &phone, &code)
            .await
            .status,
        200
    );
    assert_eq!(remove(only).await.status, 200, "the phone number remains");
    let r = browser
        .delete(&format!("/v1/me/phone_numbers/{phone}"))
        .await;
    assert_error(&r, 422, "cannot_remove_last_identifier");
    let user = me(&browser).await;
    assert_eq!(user["email_addresses"], json!([]));
    assert_eq!(user["primary_email_address_id"], Value::Null);

    // With a password and a username, the email address is not the last way in.
    let browser = f.server.browser();
    let (user_id, _) = browser.sign_up("named@example.com", PASSWORD).await;
    let r = f
        .server
        .admin()
        .patch(
            &format!("/v1/users/{user_id}"),
            json!({"username": "named"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let email = me(&browser).await["primary_email_address_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = browser
        .delete(&format!("/v1/me/email_addresses/{email}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    f.server.browser().sign_in("named", PASSWORD).await;
    f.server.stop().await;
}

async fn taken_malformed_and_foreign_identifiers(db: DbKind) {
    let f = Flows::start(db, "verify_email_at_sign_up = false", "").await;
    f.server.create_user("taken@example.com", PASSWORD).await;
    let someone = f.server.browser();
    someone.sign_in("taken@example.com", PASSWORD).await;
    let theirs = me(&someone).await["primary_email_address_id"]
        .as_str()
        .unwrap()
        .to_string();
    f.server.create_user("me@example.com", PASSWORD).await;
    let browser = f.server.browser();
    browser.sign_in("me@example.com", PASSWORD).await;

    let r = add(&browser, "email_addresses", "TAKEN@example.com").await;
    assert_error(&r, 422, "form_identifier_exists");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "email_address");
    let r = add(&browser, "email_addresses", "not an email").await;
    assert_error(&r, 422, "form_param_format_invalid");
    let r = add(
        &browser,
        "email_addresses",
        &format!("{}@example.com", "a".repeat(5000)),
    )
    .await;
    assert_error(&r, 422, "form_param_format_invalid");
    let r = browser.post("/v1/me/email_addresses", json!({})).await;
    assert_error(&r, 422, "form_param_missing");
    // Phone numbers are not enabled on this instance.
    let r = add(&browser, "phone_numbers", "+14155550123").await;
    assert_error(&r, 422, "form_param_unknown");
    // Someone else's address, and one that does not exist, are not found.
    for id in [theirs.as_str(), "idn_nope", "x"] {
        for r in [
            prepare(&browser, "email_addresses", id).await,
            verify(&browser, "email_addresses", id, "123456").await,
            browser
                .delete(&format!("/v1/me/email_addresses/{id}"))
                .await,
        ] {
            assert_error(&r, 404, "resource_not_found");
        }
    }
    // At most ten addresses.
    let mut mine = String::new();
    for n in 0..9 {
        let r = add(
            &browser,
            "email_addresses",
            &format!("extra{n}@example.com"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        mine = r.body["response"]["id"].as_str().unwrap().to_string();
    }
    let r = browser
        .post(
            &format!("/v1/me/email_addresses/{mine}/attempt_verification"),
            json!({}),
        )
        .await;
    assert_error(&r, 422, "form_param_missing");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "code");
    let r = add(&browser, "email_addresses", "eleventh@example.com").await;
    assert_error(&r, 422, "identifier_limit_reached");
    // Signed out: 401.
    let r = f
        .server
        .browser()
        .post(
            "/v1/me/email_addresses",
            json!({"email_address": "x@example.com"}),
        )
        .await;
    assert_error(&r, 401, "authentication_invalid");
    assert_eq!(f.sink.count(), 0);
    f.server.stop().await;
}
