//! Multi-factor authentication: enrollment with codes computed by `oathtool` at the
//! server's (manual) clock and a QR code read back by `zbarimg`, TOTP and backup-code
//! sign-in with replay protection, re-verification, removal, `require_mfa`, lockout,
//! concurrent use of one code, and the secret sealed at rest.
//!
//! Needs `oathtool`, `rsvg-convert` and `zbarimg` (Debian: oathtool, librsvg2-bin,
//! zbar-tools).

mod mfa_support;
mod support;

use mfa_support::{
    check_otpauth, decode_qr_svg, retyped_backup_code, step_of_ms, totp_code_at_ms, wrong_code,
};
use serde_json::{json, Value};
use sqlx::Row;
use support::{claims, Browser, DbKind, Resp, TestDb, TestServer, PASSWORD};

both_dbs!(
    enrollment_with_oathtool_and_qr_code,
    issuer_and_account_in_the_uri,
    totp_sign_in_at_a_later_step_and_no_replay,
    totp_accepts_one_step_either_way,
    backup_codes_are_single_use_and_forgiving,
    regenerated_backup_codes_replace_the_old_ones,
    fva_reports_both_factors,
    changing_mfa_needs_a_recent_first_factor,
    removing_mfa_by_the_user_and_by_the_backend,
    require_mfa_blocks_until_enrolled,
    failed_second_factors_count_toward_lockout,
    one_code_wins_one_concurrent_race,
    totp_secret_is_sealed_and_backup_codes_hashed,
);

const EMAIL: &str = "mfa.user@example.com";
const MINUTE: i64 = 60_000;
const STEP_MS: i64 = 30_000;
const BOTH: &[&str] = &["totp", "backup_code"];
const TOTP_ONLY: &[&str] = &["totp"];

/// A user who finished TOTP enrollment.
struct Enrolled {
    secret: String,
    backup_codes: Vec<String>,
}

/// The code for the step `offset` away from the server's now.
fn code(server: &TestServer, secret: &str, offset: i64) -> String {
    totp_code_at_ms(secret, server.app.now(), offset)
}

fn assert_error(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
    assert_eq!(r.error_code(), code, "{what}: {}", r.body);
}

/// `GET /v1/me` → the user object.
async fn me(browser: &Browser) -> Value {
    let r = browser.get("/v1/me").await;
    assert_eq!(r.status, 200, "GET /v1/me: {}", r.body);
    r.body["response"].clone()
}

fn assert_flags(user: &Value, totp: bool, backup: bool, two: bool, what: &str) {
    assert_eq!(
        (
            &user["totp_enabled"],
            &user["backup_code_enabled"],
            &user["two_factor_enabled"]
        ),
        (&json!(totp), &json!(backup), &json!(two)),
        "{what}: (totp_enabled, backup_code_enabled, two_factor_enabled) of {user}"
    );
}

/// `POST /v1/me/totp`, checked against the API contract; returns (secret, uri).
async fn start_totp(browser: &Browser, issuer: &str, account: &str) -> (String, String) {
    let r = browser.post("/v1/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "POST /v1/me/totp: {}", r.body);
    let totp = &r.body["response"];
    assert_eq!(totp["object"], "totp", "{totp}");
    assert_eq!(totp["verified"], false, "{totp}");
    let uri = totp["uri"].as_str().expect("uri").to_string();
    let secret = check_otpauth(&uri, issuer, account);
    assert_eq!(totp["secret"], secret.as_str(), "secret field = URI secret");
    let svg = totp["qr_svg"].as_str().expect("qr_svg");
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "qr_svg is an SVG document: {svg}"
    );
    assert_eq!(
        decode_qr_svg(svg),
        uri,
        "the QR code holds exactly the otpauth URI"
    );
    (secret, uri)
}

/// `POST /v1/me/totp/attempt_verification` with `code`.
async fn confirm_totp(browser: &Browser, code: &str) -> Resp {
    browser
        .post("/v1/me/totp/attempt_verification", json!({"code": code}))
        .await
}

/// Checks a successful verification and returns its backup codes.
fn backup_codes_of_confirmation(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "attempt_verification: {}", r.body);
    let totp = &r.body["response"];
    assert_eq!(totp["object"], "totp", "{totp}");
    assert_eq!(totp["verified"], true, "{totp}");
    ten_codes(&totp["backup_codes"])
}

fn ten_codes(v: &Value) -> Vec<String> {
    let codes: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("backup codes are a list: {v}"))
        .iter()
        .map(|c| c.as_str().expect("backup codes are strings").to_string())
        .collect();
    assert_eq!(codes.len(), 10, "ten backup codes: {v}");
    assert!(codes.iter().all(|c| c.trim().len() >= 6), "{codes:?}");
    let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 10, "distinct backup codes: {codes:?}");
    codes
}

/// Enrolls the browser's signed-in user with a code for the server's current step.
async fn enroll(server: &TestServer, browser: &Browser, account: &str) -> Enrolled {
    let (secret, _) = start_totp(browser, "Gatehouse", account).await;
    let r = confirm_totp(browser, &code(server, &secret, 0)).await;
    let backup_codes = backup_codes_of_confirmation(&r);
    Enrolled {
        secret,
        backup_codes,
    }
}

/// A signed-up user with TOTP: (browser, user id, session id, enrollment).
async fn enrolled_user(server: &TestServer, email: &str) -> (Browser, String, String, Enrolled) {
    let browser = server.browser();
    let (user, session) = browser.sign_up(email, PASSWORD).await;
    let enrolled = enroll(server, &browser, email).await;
    (browser, user, session, enrolled)
}

/// Password sign-in that must stop at `needs_second_factor` offering `factors`; returns
/// the sign-in id.
async fn sign_in_to_second_factor(browser: &Browser, identifier: &str, factors: &[&str]) -> String {
    let r = browser.sign_in_raw(identifier, PASSWORD).await;
    assert_eq!(r.status, 200, "sign in: {}", r.body);
    let sign_in = &r.body["response"];
    assert_eq!(sign_in["status"], "needs_second_factor", "{sign_in}");
    let offered: Vec<Value> = factors.iter().map(|f| json!({"strategy": f})).collect();
    assert_eq!(
        sign_in["supported_second_factors"],
        Value::Array(offered),
        "supported_second_factors"
    );
    assert!(
        sign_in["created_session_id"].is_null(),
        "no session before the second factor: {sign_in}"
    );
    assert!(
        r.body["client"]["sessions"]
            .as_array()
            .is_none_or(|s| s.is_empty()),
        "no active session before the second factor: {}",
        r.body["client"]
    );
    sign_in["id"].as_str().unwrap().to_string()
}

async fn attempt_second(browser: &Browser, sign_in: &str, strategy: &str, code: &str) -> Resp {
    browser
        .post(
            &format!("/v1/client/sign_ins/{sign_in}/attempt_second_factor"),
            json!({"strategy": strategy, "code": code}),
        )
        .await
}

/// Checks a completed second factor; returns the new session id.
fn completed(r: &Resp, strategy: &str, what: &str) -> String {
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    let sign_in = &r.body["response"];
    assert_eq!(sign_in["status"], "complete", "{what}: {sign_in}");
    assert_eq!(
        sign_in["second_factor_verification"]["status"], "verified",
        "{what}: {sign_in}"
    );
    assert_eq!(
        sign_in["second_factor_verification"]["strategy"], strategy,
        "{what}: {sign_in}"
    );
    let session = sign_in["created_session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a session: {sign_in}"))
        .to_string();
    assert_eq!(
        r.body["client"]["last_active_session_id"],
        session.as_str(),
        "{what}"
    );
    session
}

/// A fresh browser signs in with password then `strategy`/`code`; returns the response.
async fn sign_in_with(
    server: &TestServer,
    identifier: &str,
    factors: &[&str],
    strategy: &str,
    code: &str,
) -> (Browser, Resp) {
    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, identifier, factors).await;
    let r = attempt_second(&browser, &sign_in, strategy, code).await;
    (browser, r)
}

/// The `fva` claim of a freshly minted token.
async fn fva(browser: &Browser, session: &str) -> Value {
    let r = browser.mint(session).await;
    assert_eq!(r.status, 200, "mint: {}", r.body);
    claims(r.body["jwt"].as_str().unwrap())["fva"].clone()
}

async fn sign_out(browser: &Browser, session: &str) {
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "sign out: {}", r.body);
}

/// (rows in `totp_secrets`, rows in `backup_codes`) of a user.
async fn mfa_rows(server: &TestServer, user: &str) -> (i64, i64) {
    let mut conn = server.db_connection().await;
    let mut counts = [0i64; 2];
    for (i, table) in ["totp_secrets", "backup_codes"].iter().enumerate() {
        counts[i] = sqlx::query(&format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1"))
            .bind(user)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>(0);
    }
    (counts[0], counts[1])
}

async fn enrollment_with_oathtool_and_qr_code(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (user, session) = browser.sign_up(EMAIL, PASSWORD).await;
    assert_flags(
        &me(&browser).await,
        false,
        false,
        false,
        "before enrollment",
    );

    // A pending secret; a second POST replaces it.
    let (first, first_uri) = start_totp(&browser, "Gatehouse", EMAIL).await;
    let (second, second_uri) = start_totp(&browser, "Gatehouse", EMAIL).await;
    assert_ne!(first, second, "a second POST makes a new secret");
    assert_ne!(first_uri, second_uri);
    assert_flags(&me(&browser).await, false, false, false, "while pending");

    let valid: Vec<String> = (-1..=1).map(|o| code(&server, &second, o)).collect();
    let stale = code(&server, &first, 0);
    if !valid.contains(&stale) {
        let r = confirm_totp(&browser, &stale).await;
        assert_error(
            &r,
            422,
            "form_code_incorrect",
            "a code of the replaced secret",
        );
    }
    let wrong = wrong_code(&second, server.app.now());
    let r = confirm_totp(&browser, &wrong).await;
    assert_error(&r, 422, "form_code_incorrect", "a wrong code");
    assert_flags(
        &me(&browser).await,
        false,
        false,
        false,
        "after wrong codes",
    );

    // The oathtool code at the server's time turns TOTP on.
    let r = confirm_totp(&browser, &code(&server, &second, 0)).await;
    backup_codes_of_confirmation(&r);
    let user_now = me(&browser).await;
    assert_eq!(user_now["id"], user.as_str());
    assert_flags(&user_now, true, true, true, "after enrollment");
    let r = server.admin().get(&format!("/v1/users/{user}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_flags(&r.body, true, true, true, "Backend API user");

    // Enrolling verified a second factor on this session.
    assert_eq!(fva(&browser, &session).await, json!([0, 0]));

    // Already enabled: no new secret.
    let r = browser.post("/v1/me/totp", json!({})).await;
    assert_error(&r, 422, "totp_already_enabled", "POST /v1/me/totp again");
    server.stop().await;
}

async fn issuer_and_account_in_the_uri(db: DbKind) {
    let db = TestDb::create(db).await;
    let server = TestServer::start_on(db, support::DEFAULT_TEST_TOML, |c| {
        c.application_name = "Acme Corp".into();
    })
    .await;
    let admin = server.admin();

    // Username only: the account is the username.
    let r = admin
        .post(
            "/v1/users",
            json!({"username": "ada_lovelace", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let browser = server.browser();
    browser.sign_in("ada_lovelace", PASSWORD).await;
    let (secret, _) = start_totp(&browser, "Acme Corp", "ada_lovelace").await;
    let r = confirm_totp(&browser, &code(&server, &secret, 0)).await;
    backup_codes_of_confirmation(&r);
    server.clock.advance(STEP_MS);
    let (_, r) = sign_in_with(
        &server,
        "ada_lovelace",
        BOTH,
        "totp",
        &code(&server, &secret, 0),
    )
    .await;
    completed(&r, "totp", "username sign-in with TOTP");

    // Email and username: the primary email is the account.
    let r = admin
        .post(
            "/v1/users",
            json!({"email_address": ["grace+mfa@example.com"], "username": "grace", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let browser = server.browser();
    browser.sign_in("grace", PASSWORD).await;
    start_totp(&browser, "Acme Corp", "grace+mfa@example.com").await;
    server.stop().await;
}

async fn totp_sign_in_at_a_later_step_and_no_replay(db: DbKind) {
    let server = TestServer::start(db).await;
    let (browser, user, session, enrolled) = enrolled_user(&server, EMAIL).await;
    let secret = &enrolled.secret;
    sign_out(&browser, &session).await;

    // Password first, then the second factor.
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, BOTH).await;
    let r = browser.get(&format!("/v1/client/sign_ins/{sign_in}")).await;
    assert_eq!(r.body["response"]["status"], "needs_second_factor");
    assert_eq!(browser.get("/v1/me").await.status, 401, "not signed in yet");
    // The step used at enrollment is spent.
    let r = attempt_second(&browser, &sign_in, "totp", &code(&server, secret, 0)).await;
    assert_error(&r, 422, "form_code_incorrect", "the enrollment step again");

    // 30 s later: the next step's code completes the sign-in.
    server.clock.advance(STEP_MS);
    let fresh = code(&server, secret, 0);
    let r = attempt_second(&browser, &sign_in, "totp", &fresh).await;
    let new_session = completed(&r, "totp", "TOTP at the next step");
    assert_eq!(me(&browser).await["id"], user.as_str());
    assert_eq!(fva(&browser, &new_session).await, json!([0, 0]));

    // The same code on a new sign-in: refused. So is the earlier step.
    let other = server.browser();
    let sign_in = sign_in_to_second_factor(&other, EMAIL, BOTH).await;
    let r = attempt_second(&other, &sign_in, "totp", &fresh).await;
    assert_error(&r, 422, "form_code_incorrect", "the same code again");
    let r = attempt_second(&other, &sign_in, "totp", &code(&server, secret, -1)).await;
    assert_error(&r, 422, "form_code_incorrect", "an earlier step");
    let r = other.get(&format!("/v1/client/sign_ins/{sign_in}")).await;
    assert_eq!(r.body["response"]["status"], "needs_second_factor");

    // The attempt goes on: the next step (within the window) is accepted, once.
    let next = code(&server, secret, 1);
    let r = attempt_second(&other, &sign_in, "totp", &next).await;
    completed(&r, "totp", "the next step");
    let third = server.browser();
    let sign_in = sign_in_to_second_factor(&third, EMAIL, BOTH).await;
    for (c, what) in [(&next, "the next step again"), (&fresh, "an earlier step")] {
        let r = attempt_second(&third, &sign_in, "totp", c).await;
        assert_error(&r, 422, "form_code_incorrect", what);
    }
    server.stop().await;
}

async fn totp_accepts_one_step_either_way(db: DbKind) {
    let server = TestServer::start(db).await;
    let (_, _, _, enrolled) = enrolled_user(&server, EMAIL).await;
    let secret = &enrolled.secret;
    server.clock.advance(10 * MINUTE);

    let valid: Vec<String> = (-1..=1).map(|o| code(&server, secret, o)).collect();
    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, BOTH).await;
    for (offset, what) in [(-2, "two steps ago"), (2, "two steps ahead")] {
        let c = code(&server, secret, offset);
        if valid.contains(&c) {
            continue; // the same digits by chance; nothing to learn
        }
        let r = attempt_second(&browser, &sign_in, "totp", &c).await;
        assert_error(&r, 422, "form_code_incorrect", what);
    }
    let r = attempt_second(&browser, &sign_in, "totp", &code(&server, secret, -1)).await;
    completed(&r, "totp", "one step ago");

    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "totp", &code(&server, secret, 0)).await;
    completed(&r, "totp", "the current step after the previous one");

    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, BOTH).await;
    let r = attempt_second(&browser, &sign_in, "totp", &code(&server, secret, 0)).await;
    assert_error(&r, 422, "form_code_incorrect", "the current step again");
    let r = attempt_second(&browser, &sign_in, "totp", &code(&server, secret, 1)).await;
    completed(&r, "totp", "one step ahead");

    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, BOTH).await;
    for offset in [1, 0, -1] {
        let r = attempt_second(&browser, &sign_in, "totp", &code(&server, secret, offset)).await;
        assert_error(
            &r,
            422,
            "form_code_incorrect",
            &format!("step {offset:+} after step +1 was used"),
        );
    }
    server.stop().await;
}

async fn backup_codes_are_single_use_and_forgiving(db: DbKind) {
    let server = TestServer::start(db).await;
    let (_, user, _, enrolled) = enrolled_user(&server, EMAIL).await;
    let codes = &enrolled.backup_codes;

    for (i, c) in codes.iter().enumerate() {
        // Typed with the other case, spaces and dashes.
        let typed = retyped_backup_code(c, i);
        let (browser, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &typed).await;
        let session = completed(&r, "backup_code", &format!("backup code {i} as {typed:?}"));
        let remaining = i < codes.len() - 1;
        assert_flags(
            &me(&browser).await,
            true,
            remaining,
            true,
            &format!("after {} backup codes", i + 1),
        );
        if i == 0 {
            assert_eq!(fva(&browser, &session).await, json!([0, 0]));
            let mut conn = server.db_connection().await;
            let used: Vec<Option<i64>> =
                sqlx::query("SELECT used_at FROM backup_codes WHERE user_id = $1")
                    .bind(&user)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            assert_eq!(used.len(), 10);
            assert_eq!(
                used.iter().filter(|u| u.is_some()).count(),
                1,
                "one code marked used: {used:?}"
            );
            // The same code again, as shown and retyped: refused.
            for again in [c.clone(), typed.clone(), c.to_uppercase(), c.to_lowercase()] {
                let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &again).await;
                assert_error(
                    &r,
                    422,
                    "form_code_incorrect",
                    &format!("a used backup code again ({again:?})"),
                );
            }
        }
    }

    // None left: only TOTP is offered, and backup codes are refused.
    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, TOTP_ONLY).await;
    let r = attempt_second(&browser, &sign_in, "backup_code", &codes[9]).await;
    assert_eq!(
        r.status, 422,
        "a backup code when none are left: {}",
        r.body
    );
    server.clock.advance(STEP_MS);
    let r = attempt_second(
        &browser,
        &sign_in,
        "totp",
        &code(&server, &enrolled.secret, 0),
    )
    .await;
    let session = completed(&r, "totp", "TOTP after the backup codes ran out");

    // New codes bring backup codes back.
    let r = browser.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = ten_codes(&r.body["response"]["codes"]);
    assert_flags(&me(&browser).await, true, true, true, "after regenerating");
    sign_out(&browser, &session).await;
    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &fresh[3]).await;
    completed(&r, "backup_code", "a regenerated code");
    server.stop().await;
}

async fn regenerated_backup_codes_replace_the_old_ones(db: DbKind) {
    let server = TestServer::start(db).await;
    let (browser, user, _, enrolled) = enrolled_user(&server, EMAIL).await;
    let old = &enrolled.backup_codes;

    let r = browser.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 200, "POST /v1/me/backup_codes: {}", r.body);
    assert_eq!(r.body["response"]["object"], "backup_code", "{}", r.body);
    let new = ten_codes(&r.body["response"]["codes"]);
    assert!(
        new.iter().all(|c| !old.contains(c)),
        "new codes: {new:?}, old: {old:?}"
    );
    assert_eq!(mfa_rows(&server, &user).await, (1, 10), "ten stored codes");

    for c in old {
        let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", c).await;
        assert_error(&r, 422, "form_code_incorrect", "an old backup code");
    }
    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &new[0]).await;
    completed(&r, "backup_code", "a new backup code");

    // Once more: the codes of the previous generation die too, used or not.
    let r = browser.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let newest = ten_codes(&r.body["response"]["codes"]);
    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &new[1]).await;
    assert_error(&r, 422, "form_code_incorrect", "a replaced backup code");
    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "backup_code", &newest[9]).await;
    completed(&r, "backup_code", "a newest backup code");

    // Without TOTP there are no backup codes to make.
    let other = server.browser();
    other.sign_up("no.totp@example.com", PASSWORD).await;
    let r = other.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 422, "backup codes without TOTP: {}", r.body);
    assert_flags(&me(&other).await, false, false, false, "no TOTP");
    server.stop().await;
}

async fn fva_reports_both_factors(db: DbKind) {
    let server = TestServer::start(db).await;
    // Password only, from sign-up.
    let first = server.browser();
    let (_, s1) = first.sign_up(EMAIL, PASSWORD).await;
    assert_eq!(fva(&first, &s1).await, json!([0, -1]));
    server.clock.advance(5 * MINUTE + 10_000);
    assert_eq!(fva(&first, &s1).await, json!([5, -1]));

    // Enrolling is a second factor now.
    let enrolled = enroll(&server, &first, EMAIL).await;
    assert_eq!(fva(&first, &s1).await, json!([5, 0]));
    server.clock.advance(7 * MINUTE + 10_000);
    assert_eq!(fva(&first, &s1).await, json!([12, 7]));

    // A TOTP sign-in: both factors now, then both age.
    let (second, r) = sign_in_with(
        &server,
        EMAIL,
        BOTH,
        "totp",
        &code(&server, &enrolled.secret, 0),
    )
    .await;
    let s2 = completed(&r, "totp", "TOTP sign-in");
    assert_eq!(fva(&second, &s2).await, json!([0, 0]));
    server.clock.advance(7 * MINUTE + 10_000);
    assert_eq!(fva(&second, &s2).await, json!([7, 7]));
    assert_eq!(fva(&first, &s1).await, json!([19, 14]));

    // A backup-code sign-in.
    let (third, r) = sign_in_with(
        &server,
        EMAIL,
        BOTH,
        "backup_code",
        &enrolled.backup_codes[0],
    )
    .await;
    let s3 = completed(&r, "backup_code", "backup-code sign-in");
    server.clock.advance(2 * MINUTE + 10_000);
    assert_eq!(fva(&third, &s3).await, json!([2, 2]));

    // Password only, from sign-in.
    server.create_user("plain@example.com", PASSWORD).await;
    let fourth = server.browser();
    let s4 = fourth.sign_in("plain@example.com", PASSWORD).await;
    server.clock.advance(3 * MINUTE + 10_000);
    assert_eq!(fva(&fourth, &s4).await, json!([3, -1]));
    server.stop().await;
}

async fn changing_mfa_needs_a_recent_first_factor(db: DbKind) {
    let server = TestServer::start(db).await;
    let first = server.browser();
    let (_, s1) = first.sign_up(EMAIL, PASSWORD).await;
    let second = server.browser();
    let s2 = second.sign_in(EMAIL, PASSWORD).await;

    // 9 minutes: still recent.
    server.clock.advance(9 * MINUTE + 10_000);
    let (pending, _) = start_totp(&first, "Gatehouse", EMAIL).await;

    // 11 minutes: every MFA change needs re-verification.
    server.clock.advance(2 * MINUTE);
    let r = confirm_totp(&first, &code(&server, &pending, 0)).await;
    assert_error(
        &r,
        403,
        "session_reverification_required",
        "attempt_verification after 11 minutes",
    );
    let r = first.post("/v1/me/totp", json!({})).await;
    assert_error(
        &r,
        403,
        "session_reverification_required",
        "POST /v1/me/totp after 11 minutes",
    );
    assert_flags(&me(&first).await, false, false, false, "nothing changed");
    assert_eq!(fva(&first, &s1).await, json!([11, -1]));

    let r = first
        .post(
            "/v1/me/reverify",
            json!({"password": "not the password 1234"}),
        )
        .await;
    assert_error(
        &r,
        422,
        "form_password_incorrect",
        "reverify, wrong password",
    );
    let r = first
        .post("/v1/me/reverify", json!({"password": PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "reverify: {}", r.body);
    assert_eq!(fva(&first, &s1).await, json!([0, -1]));
    enroll(&server, &first, EMAIL).await;
    assert_eq!(fva(&first, &s1).await, json!([0, 0]));

    // Re-verifying one session does not vouch for another.
    for r in [
        second.post("/v1/me/backup_codes", json!({})).await,
        second.delete("/v1/me/totp").await,
    ] {
        assert_error(
            &r,
            403,
            "session_reverification_required",
            "the other session",
        );
    }
    assert_eq!(fva(&second, &s2).await, json!([11, -1]));

    // 11 minutes after the re-verification: refused again, until the next one.
    server.clock.advance(11 * MINUTE);
    for r in [
        first.post("/v1/me/backup_codes", json!({})).await,
        first.delete("/v1/me/totp").await,
    ] {
        assert_error(
            &r,
            403,
            "session_reverification_required",
            "11 minutes after reverify",
        );
    }
    assert_flags(&me(&first).await, true, true, true, "nothing changed");
    assert_eq!(fva(&first, &s1).await, json!([11, 11]));
    let r = first
        .post("/v1/me/reverify", json!({"password": PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "reverify: {}", r.body);
    assert_eq!(fva(&first, &s1).await, json!([0, 11]));
    let r = first.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 200, "backup codes after reverify: {}", r.body);
    let r = first.delete("/v1/me/totp").await;
    assert_eq!(
        r.status, 200,
        "DELETE /v1/me/totp after reverify: {}",
        r.body
    );
    assert_flags(&me(&first).await, false, false, false, "TOTP removed");
    server.stop().await;
}

async fn removing_mfa_by_the_user_and_by_the_backend(db: DbKind) {
    let server = TestServer::start(db).await;
    let (browser, user, session, _) = enrolled_user(&server, EMAIL).await;
    assert_eq!(mfa_rows(&server, &user).await, (1, 10));

    // By the user.
    let r = browser.delete("/v1/me/totp").await;
    assert_eq!(r.status, 200, "DELETE /v1/me/totp: {}", r.body);
    assert_flags(
        &me(&browser).await,
        false,
        false,
        false,
        "after DELETE /v1/me/totp",
    );
    assert_eq!(
        mfa_rows(&server, &user).await,
        (0, 0),
        "secret and codes gone"
    );
    let r = browser.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 422, "backup codes without TOTP: {}", r.body);
    sign_out(&browser, &session).await;
    let browser = server.browser();
    let r = browser.sign_in_raw(EMAIL, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["response"]["status"], "complete",
        "password alone again: {}",
        r.body
    );
    let session = r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fva(&browser, &session).await, json!([0, -1]));

    // Enrolled again, then removed through the Backend API.
    server.clock.advance(STEP_MS);
    enroll(&server, &browser, EMAIL).await;
    let admin = server.admin();
    let r = admin.get(&format!("/v1/users/{user}")).await;
    assert_flags(&r.body, true, true, true, "Backend API, enrolled again");
    let r = admin.delete(&format!("/v1/users/{user}/mfa")).await;
    assert_eq!(r.status, 200, "DELETE /v1/users/{{id}}/mfa: {}", r.body);
    assert_eq!(r.body["object"], "user", "{}", r.body);
    assert_eq!(r.body["id"], user.as_str(), "{}", r.body);
    assert_flags(&r.body, false, false, false, "DELETE /v1/users/{id}/mfa");
    assert_flags(&me(&browser).await, false, false, false, "seen by the user");
    assert_eq!(
        mfa_rows(&server, &user).await,
        (0, 0),
        "secret and codes gone"
    );
    let other = server.browser();
    let r = other.sign_in_raw(EMAIL, PASSWORD).await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);

    let r = admin
        .delete("/v1/users/user_0000000000000000000000000/mfa")
        .await;
    assert_error(&r, 404, "resource_not_found", "an unknown user's MFA");
    server.stop().await;
}

async fn require_mfa_blocks_until_enrolled(db: DbKind) {
    let toml = format!("{}require_mfa = true\n", support::DEFAULT_TEST_TOML);
    let server = TestServer::start_with(db, &toml).await;
    let browser = server.browser();
    let (user, session) = browser.sign_up(EMAIL, PASSWORD).await;

    let r = browser.mint(&session).await;
    assert_error(&r, 403, "mfa_enrollment_required", "token minting");
    let blocked = [
        browser.patch("/v1/me", json!({"first_name": "Ada"})).await,
        browser.get("/v1/me/sessions").await,
        browser
            .post(&format!("/v1/me/sessions/{session}/revoke"), json!({}))
            .await,
        browser
            .post(
                "/v1/me/change_password",
                json!({"current_password": PASSWORD, "new_password": "a brand new passphrase 77"}),
            )
            .await,
        browser.post("/v1/me/backup_codes", json!({})).await,
        browser.delete("/v1/me").await,
    ];
    let mut wrong = Vec::new();
    for (r, what) in blocked.iter().zip([
        "PATCH /v1/me",
        "GET /v1/me/sessions",
        "POST /v1/me/sessions/{id}/revoke",
        "POST /v1/me/change_password",
        "POST /v1/me/backup_codes",
        "DELETE /v1/me",
    ]) {
        if (r.status.as_u16(), r.error_code()) != (403, "mfa_enrollment_required") {
            wrong.push(format!("{what}: {} {}", r.status, r.body));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 403 mfa_enrollment_required before enrollment from:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        server
            .admin()
            .get(&format!("/v1/users/{user}"))
            .await
            .status,
        200,
        "DELETE /v1/me did nothing"
    );
    let r = server.browser().sign_in_raw(EMAIL, PASSWORD).await;
    assert_eq!(
        r.body["response"]["status"], "complete",
        "the password still works (sign-in completes, the session is limited): {}",
        r.body
    );

    // Allowed: reading the user, re-verifying, enrolling.
    let me_now = me(&browser).await;
    assert_flags(&me_now, false, false, false, "not enrolled");
    let r = browser
        .post("/v1/me/reverify", json!({"password": PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "reverify: {}", r.body);
    enroll(&server, &browser, EMAIL).await;
    let r = browser.mint(&session).await;
    assert_eq!(r.status, 200, "mint after enrolling: {}", r.body);
    assert_eq!(browser.get("/v1/me/sessions").await.status, 200);
    let r = browser.patch("/v1/me", json!({"first_name": "Ada"})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // MFA removed by the backend: blocked again.
    let r = server
        .admin()
        .delete(&format!("/v1/users/{user}/mfa"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser.mint(&session).await;
    assert_error(&r, 403, "mfa_enrollment_required", "mint after MFA removal");

    // Users without MFA can still sign out, one session or all.
    let other = server.browser();
    let (_, other_session) = other.sign_up("other@example.com", PASSWORD).await;
    assert_error(
        &other.mint(&other_session).await,
        403,
        "mfa_enrollment_required",
        "mint",
    );
    sign_out(&other, &other_session).await;
    assert_eq!(other.get("/v1/me").await.status, 401, "signed out");
    let third = server.browser();
    third.sign_up("third@example.com", PASSWORD).await;
    let r = third.delete("/v1/client/sessions").await;
    assert_eq!(r.status, 200, "DELETE /v1/client/sessions: {}", r.body);
    assert_eq!(third.get("/v1/me").await.status, 401, "signed out");
    server.stop().await;
}

async fn failed_second_factors_count_toward_lockout(db: DbKind) {
    let toml = format!(
        "{}[auth.lockout]\nmax_failed_attempts = 3\nduration = \"1h\"\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    let (_, user, _, enrolled) = enrolled_user(&server, EMAIL).await;
    let secret = &enrolled.secret;
    server.clock.advance(STEP_MS);

    let browser = server.browser();
    let sign_in = sign_in_to_second_factor(&browser, EMAIL, BOTH).await;
    let wrong = wrong_code(secret, server.app.now());
    for (strategy, c) in [
        ("totp", wrong.as_str()),
        ("backup_code", "definitely-not-a-code"),
        ("totp", wrong.as_str()),
    ] {
        let r = attempt_second(&browser, &sign_in, strategy, c).await;
        assert_error(&r, 422, "form_code_incorrect", &format!("wrong {strategy}"));
    }
    // Three failures: locked, even with the right code or password.
    let right = code(&server, secret, 0);
    let r = attempt_second(&browser, &sign_in, "totp", &right).await;
    assert_error(&r, 403, "user_locked", "the right code while locked");
    let r = server.browser().sign_in_raw(EMAIL, PASSWORD).await;
    assert_error(&r, 403, "user_locked", "the password while locked");
    let r = server.admin().get(&format!("/v1/users/{user}")).await;
    assert_eq!(r.body["locked"], true, "{}", r.body);
    assert!(
        r.body["lockout_expires_in_seconds"]
            .as_i64()
            .is_some_and(|s| s > 0 && s <= 3600),
        "{}",
        r.body
    );

    // After the lockout, the right factors work again.
    server.clock.advance(60 * MINUTE + 10_000);
    let (_, r) = sign_in_with(&server, EMAIL, BOTH, "totp", &code(&server, secret, 0)).await;
    completed(&r, "totp", "after the lockout");
    server.stop().await;
}

/// Two browsers at `needs_second_factor` send the same code at once: exactly one wins.
async fn race(server: &TestServer, strategy: &str, c: &str) {
    let (a, b) = (server.browser(), server.browser());
    let sa = sign_in_to_second_factor(&a, EMAIL, BOTH).await;
    let sb = sign_in_to_second_factor(&b, EMAIL, BOTH).await;
    let (ra, rb) = tokio::join!(
        attempt_second(&a, &sa, strategy, c),
        attempt_second(&b, &sb, strategy, c)
    );
    let statuses = [ra.status.as_u16(), rb.status.as_u16()];
    let (win, lose, loser, loser_sign_in) = if statuses == [200, 422] {
        (ra, rb, b, sb)
    } else if statuses == [422, 200] {
        (rb, ra, a, sa)
    } else {
        panic!(
            "the same {strategy} code sent twice at once: expected one 200 and one 422, \
             got {statuses:?}: {} / {}",
            ra.body, rb.body
        );
    };
    completed(&win, strategy, &format!("the {strategy} race winner"));
    assert_error(
        &lose,
        422,
        "form_code_incorrect",
        &format!("the {strategy} race loser"),
    );
    let r = loser
        .get(&format!("/v1/client/sign_ins/{loser_sign_in}"))
        .await;
    assert_eq!(r.body["response"]["status"], "needs_second_factor");
}

async fn one_code_wins_one_concurrent_race(db: DbKind) {
    let server = TestServer::start(db).await;
    let (_, _, _, enrolled) = enrolled_user(&server, EMAIL).await;

    for _ in 0..3 {
        server.clock.advance(STEP_MS);
        race(&server, "totp", &code(&server, &enrolled.secret, 0)).await;
    }
    for c in &enrolled.backup_codes[..3] {
        race(&server, "backup_code", c).await;
    }
    server.stop().await;
}

async fn totp_secret_is_sealed_and_backup_codes_hashed(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (user, _) = browser.sign_up(EMAIL, PASSWORD).await;
    let (secret, _) = start_totp(&browser, "Gatehouse", EMAIL).await;
    let raw = mfa_support::base32_decode(&secret);
    let aad = format!("totp:{user}");

    let row_of = |server: &TestServer| {
        let url = server.db.url.clone();
        let user = user.clone();
        async move {
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            let row = sqlx::query(
                "SELECT sealed_secret, CAST(verified AS BIGINT), last_used_step \
                 FROM totp_secrets WHERE user_id = $1",
            )
            .bind(&user)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            (
                row.get::<String, _>(0),
                row.get::<i64, _>(1),
                row.get::<Option<i64>, _>(2),
            )
        }
    };
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let check_sealed = |stored: &str| {
        for form in [
            secret.clone(),
            secret.to_lowercase(),
            b64.encode(&raw),
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ] {
            assert!(
                !stored.contains(&form),
                "the stored secret contains it in the clear ({form})"
            );
        }
        let sealed = b64.decode(stored).expect("sealed_secret is base64");
        assert!(
            !sealed.windows(raw.len()).any(|w| w == raw.as_slice()),
            "the raw secret bytes are in the sealed value"
        );
        assert!(
            !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the base32 secret is in the sealed value"
        );
        let opened = server
            .app
            .master_key
            .open(&sealed, aad.as_bytes())
            .expect("sealed with the master key, bound to the user");
        assert_eq!(opened, raw, "the sealed value opens to the secret");
        assert!(
            server
                .app
                .master_key
                .open(&sealed, b"totp:user_other")
                .is_err(),
            "bound to its user"
        );
        let other = gatehouse::crypto::sealed::MasterKey::generate();
        assert!(other.open(&sealed, aad.as_bytes()).is_err());
    };

    // Pending.
    let (stored, verified, last_used) = row_of(&server).await;
    assert_eq!((verified, last_used), (0, None), "a pending secret");
    check_sealed(&stored);

    // Verified: the accepted step is remembered.
    let enrolled_at = server.app.now();
    let r = confirm_totp(&browser, &code(&server, &secret, 0)).await;
    let codes = backup_codes_of_confirmation(&r);
    let (stored, verified, last_used) = row_of(&server).await;
    assert_eq!(verified, 1, "verified");
    assert_eq!(last_used, Some(step_of_ms(enrolled_at)), "last_used_step");
    check_sealed(&stored);

    // Backup codes: hashed, unused.
    let mut conn = server.db_connection().await;
    let rows: Vec<(String, String, Option<i64>)> =
        sqlx::query("SELECT id, code_hash, used_at FROM backup_codes WHERE user_id = $1")
            .bind(&user)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(rows.len(), 10, "{rows:?}");
    for (_, hash, used_at) in &rows {
        assert!(used_at.is_none());
        for c in &codes {
            for form in [
                c.clone(),
                c.to_lowercase(),
                c.to_uppercase(),
                c.replace('-', ""),
            ] {
                assert!(
                    !hash.contains(&form),
                    "a backup code is stored in the clear"
                );
            }
        }
    }
    let hashes: std::collections::BTreeSet<&String> = rows.iter().map(|(_, h, _)| h).collect();
    assert_eq!(hashes.len(), 10, "distinct hashes");
    server.stop().await;
}
