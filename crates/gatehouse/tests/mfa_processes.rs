//! MFA with the real binary: two `gatehouse` processes on one PostgreSQL database accept
//! one TOTP code (and one backup code) exactly once between them, and a full MFA flow
//! leaves no TOTP secret, `otpauth` URI, code or backup code in stdout or stderr.
//!
//! Codes come from `oathtool` at the real time (Debian: oathtool).

mod mfa_support;
mod process_support;
mod support;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use mfa_support::{contains_code, retyped_backup_code, totp_code_at_ms, wrong_code};
use process_support::{ProcEnv, Server};
use serde_json::{json, Value};
use support::{Browser, DbKind, Resp, TestDb, PASSWORD, TEST_MASTER_KEY, TEST_SECRET_KEY};

both_dbs!(no_mfa_secrets_in_logs);

const EMAIL: &str = "mfa.proc@example.com";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A code for the step after the current real one: later than any step accepted so far
/// (enrollment used the current one at most) and inside the ±1 window.
fn next_step_code(secret: &str) -> String {
    totp_code_at_ms(secret, now_ms(), 1)
}

/// Enrolls the browser's user (signed up through `browser`); returns (secret, uri,
/// backup codes).
async fn enroll(browser: &Browser) -> (String, String, Vec<String>) {
    let r = browser.post("/v1/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "POST /v1/me/totp: {}", r.body);
    let uri = r.body["response"]["uri"].as_str().unwrap().to_string();
    let secret = mfa_support::check_otpauth(&uri, "Gatehouse", EMAIL);
    let r = browser
        .post(
            "/v1/me/totp/attempt_verification",
            json!({"code": totp_code_at_ms(&secret, now_ms(), 0)}),
        )
        .await;
    assert_eq!(r.status, 200, "attempt_verification: {}", r.body);
    assert_eq!(r.body["response"]["verified"], true, "{}", r.body);
    (secret, uri, backup_codes(&r))
}

fn backup_codes(r: &Resp) -> Vec<String> {
    let response = &r.body["response"];
    let list = if response["backup_codes"].is_array() {
        &response["backup_codes"]
    } else {
        &response["codes"]
    };
    let codes: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("backup codes: {}", r.body))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{}", r.body);
    codes
}

/// Password sign-in that must stop at `needs_second_factor`; returns the sign-in id.
async fn to_second_factor(browser: &Browser) -> String {
    let r = browser.sign_in_raw(EMAIL, PASSWORD).await;
    assert_eq!(r.status, 200, "sign in: {}", r.body);
    assert_eq!(
        r.body["response"]["status"], "needs_second_factor",
        "{}",
        r.body
    );
    r.body["response"]["id"].as_str().unwrap().to_string()
}

async fn attempt_second(browser: &Browser, sign_in: &str, strategy: &str, code: &str) -> Resp {
    browser
        .post(
            &format!("/v1/client/sign_ins/{sign_in}/attempt_second_factor"),
            json!({"strategy": strategy, "code": code}),
        )
        .await
}

/// One client through A and one through B, both at `needs_second_factor`, send `code`
/// at once: exactly one is signed in.
async fn race(a: &Server, b: &Server, strategy: &str, code: &str) {
    let (via_a, via_b) = (a.browser(), b.browser());
    let sa = to_second_factor(&via_a).await;
    let sb = to_second_factor(&via_b).await;
    let (ra, rb) = tokio::join!(
        attempt_second(&via_a, &sa, strategy, code),
        attempt_second(&via_b, &sb, strategy, code)
    );
    let statuses = [ra.status.as_u16(), rb.status.as_u16()];
    let (win, lose) = match statuses {
        [200, 422] => (ra, rb),
        [422, 200] => (rb, ra),
        _ => panic!(
            "one {strategy} code sent to A and B at once: expected one 200 and one 422, \
             got {statuses:?}: A {} / B {}",
            ra.body, rb.body
        ),
    };
    assert_eq!(win.body["response"]["status"], "complete", "{}", win.body);
    assert!(win.body["response"]["created_session_id"].is_string());
    assert_eq!(lose.error_code(), "form_code_incorrect", "{}", lose.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_is_accepted_once_across_processes() {
    if !support::db::postgres_available("mfa_processes").await {
        return;
    }
    let db = TestDb::create(DbKind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;

    let browser = a.browser();
    browser.sign_up(EMAIL, PASSWORD).await;
    let (secret, _, codes) = enroll(&browser).await;

    // B sees the enrollment.
    let via_b = b.browser();
    let sign_in = to_second_factor(&via_b).await;
    let r = via_b.get(&format!("/v1/client/sign_ins/{sign_in}")).await;
    assert_eq!(
        r.body["response"]["supported_second_factors"],
        json!([{"strategy": "totp"}, {"strategy": "backup_code"}]),
        "{}",
        r.body
    );

    race(&a, &b, "totp", &next_step_code(&secret)).await;
    for code in &codes[..3] {
        race(&a, &b, "backup_code", code).await;
    }
}

async fn no_mfa_secrets_in_logs(kind: DbKind) {
    let db = TestDb::create(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url).set("GATEHOUSE_LOG", "debug");
    let mut server = Server::start(&env).await;
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    let mut uris: BTreeSet<String> = BTreeSet::new();
    let mut totp_codes: BTreeSet<String> = BTreeSet::new();
    let mut backup: BTreeSet<String> = BTreeSet::new();

    // Enrollment: a replaced pending secret, a wrong code, the right one.
    let browser = server.browser();
    let (_, session) = browser.sign_up(EMAIL, PASSWORD).await;
    let r = browser.post("/v1/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let replaced = r.body["response"]["secret"].as_str().unwrap().to_string();
    uris.insert(r.body["response"]["uri"].as_str().unwrap().to_string());
    secrets.insert(replaced);
    let r = browser.post("/v1/me/totp", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = r.body["response"]["secret"].as_str().unwrap().to_string();
    uris.insert(r.body["response"]["uri"].as_str().unwrap().to_string());
    secrets.insert(secret.clone());
    let wrong = wrong_code(&secret, now_ms());
    totp_codes.insert(wrong.clone());
    let r = browser
        .post("/v1/me/totp/attempt_verification", json!({"code": wrong}))
        .await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);
    let code = totp_code_at_ms(&secret, now_ms(), 0);
    totp_codes.insert(code.clone());
    let r = browser
        .post("/v1/me/totp/attempt_verification", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    backup.extend(backup_codes(&r));
    let r = browser.post("/v1/me/backup_codes", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes = backup_codes(&r);
    backup.extend(codes.iter().cloned());
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // TOTP sign-in: a wrong code, then a right one; a replay.
    let signing_in = server.browser();
    let sign_in = to_second_factor(&signing_in).await;
    let wrong = wrong_code(&secret, now_ms());
    let r = attempt_second(&signing_in, &sign_in, "totp", &wrong).await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);
    let code = next_step_code(&secret);
    totp_codes.insert(code.clone());
    let r = attempt_second(&signing_in, &sign_in, "totp", &code).await;
    assert_eq!(r.status, 200, "TOTP sign-in: {}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    let replay = server.browser();
    let sign_in = to_second_factor(&replay).await;
    let r = attempt_second(&replay, &sign_in, "totp", &code).await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);

    // Backup codes: a used-up old one, a right one (retyped), a wrong one.
    let r = attempt_second(
        &replay,
        &sign_in,
        "backup_code",
        &retyped_old(&backup, &codes),
    )
    .await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);
    let r = attempt_second(&replay, &sign_in, "backup_code", "wrong-backup-code").await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);
    let typed = retyped_backup_code(&codes[0], 2);
    let r = attempt_second(&replay, &sign_in, "backup_code", &typed).await;
    assert_eq!(r.status, 200, "backup-code sign-in: {}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");

    let status = server.stop().await;
    assert!(status.success(), "exit {status}");
    let output = server.output();
    assert!(
        output.contains("\"level\""),
        "the server logged something: {output}"
    );

    use base64::Engine;
    for secret in &secrets {
        let raw = mfa_support::base32_decode(secret);
        for (what, form) in [
            ("a TOTP secret", secret.clone()),
            ("a TOTP secret, lower case", secret.to_lowercase()),
            (
                "a TOTP secret, base64",
                base64::engine::general_purpose::STANDARD.encode(&raw),
            ),
            (
                "a TOTP secret, base64url",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
            ),
            (
                "a TOTP secret, hex",
                raw.iter().map(|b| format!("{b:02x}")).collect(),
            ),
        ] {
            assert!(!output.contains(&form), "{what} is in the logs:\n{output}");
        }
    }
    assert!(
        !output.contains("otpauth"),
        "an otpauth URI is in the logs:\n{output}"
    );
    for uri in &uris {
        assert!(!output.contains(uri.as_str()), "{uri} is in the logs");
    }
    for code in &totp_codes {
        assert!(
            !contains_code(&output, code),
            "the TOTP code {code} is in the logs:\n{output}"
        );
    }
    assert_eq!(backup.len(), 20);
    for code in &backup {
        let plain: String = code.chars().filter(|c| *c != '-').collect();
        for form in [
            code.clone(),
            code.to_lowercase(),
            code.to_uppercase(),
            plain.to_lowercase(),
            plain.to_uppercase(),
        ] {
            assert!(
                !output.contains(&form),
                "the backup code {code} is in the logs:\n{output}"
            );
        }
    }
    assert!(
        !output.contains(&typed),
        "a typed backup code is in the logs"
    );
    for (what, secret) in [
        ("the password", PASSWORD),
        ("the secret key", TEST_SECRET_KEY),
        ("the master key", TEST_MASTER_KEY),
    ] {
        assert!(!output.contains(secret), "{what} is in the logs:\n{output}");
    }
    // The flow is in the logs (as requests), just not its secrets.
    let paths: BTreeSet<String> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l["path"].as_str().map(str::to_string))
        .collect();
    for path in ["/v1/me/totp", "/v1/me/totp/attempt_verification"] {
        assert!(
            paths.contains(path),
            "no request line for {path}: {paths:?}"
        );
    }
}

/// A code of the first (replaced) generation, retyped.
fn retyped_old(all: &BTreeSet<String>, current: &[String]) -> String {
    let old = all
        .iter()
        .find(|c| !current.contains(c))
        .expect("an old backup code");
    retyped_backup_code(old, 1)
}
