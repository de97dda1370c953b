//! Delivery across real processes: messages queued while the mail server was down are
//! sent by the next process started on the database (and no code reaches a log), and two
//! processes on one PostgreSQL database drain a batch with each message sent once.

mod delivery_support;
mod process_support;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use delivery_support::{closed_port, SinkOptions, SmtpSink};
use gatehouse::store::{OutboxMessage, Store, OUTBOX_PENDING};
use process_support::{ProcEnv, Server};
use serde_json::json;
use support::{Browser, DbKind, TestDb, PASSWORD};

both_dbs!(restart_delivers_pending_messages);

const WAIT: Duration = Duration::from_secs(30);

fn smtp_env(env: ProcEnv, port: u16) -> ProcEnv {
    env.set("GATEHOUSE_EMAIL__TRANSPORT", "smtp")
        .set(
            "GATEHOUSE_EMAIL__SMTP_URL",
            &format!("smtp://127.0.0.1:{port}?tls=none"),
        )
        .set("GATEHOUSE_EMAIL__TIMEOUT", "1s")
        .set("GATEHOUSE_DELIVERY__POLL_INTERVAL", "100ms")
        .set("GATEHOUSE_DELIVERY__RETRY_INITIAL", "100ms")
        .set("GATEHOUSE_DELIVERY__RETRY_MAX", "300ms")
        .set("GATEHOUSE_DELIVERY__MAX_ATTEMPTS", "1000")
}

async fn restart_delivers_pending_messages(kind: DbKind) {
    let db = TestDb::create(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let env = smtp_env(ProcEnv::instance(dir.path(), &db.url), port)
        .set("GATEHOUSE_AUTH__VERIFY_EMAIL_AT_SIGN_UP", "true")
        .set("GATEHOUSE_LOG", "debug");

    // The mail server is down: requests still answer at once.
    let mut first = Server::start(&env).await;
    let browser = first.browser();
    let mut sign_ups = BTreeMap::new();
    for i in 0..3 {
        let email = format!("restart{i}@example.com");
        let r = browser
            .post(
                "/v1/client/sign_ups",
                json!({"email_address": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.body["response"]["id"].as_str().unwrap().to_string();
        let started = Instant::now();
        let r = browser
            .post(
                &format!("/v1/client/sign_ups/{id}/prepare_verification"),
                json!({"strategy": "email_code"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a request never waits on SMTP: {:?}",
            started.elapsed()
        );
        sign_ups.insert(email, id);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(first.stop().await.success());
    let first_output = first.output();
    assert!(
        first_output.contains("message retry"),
        "the first process tried and failed: {first_output}"
    );

    // The mail server is back; a new process sends what the first one queued, once.
    let sink = SmtpSink::start_on_port(port, SinkOptions::default());
    let mut second = Server::start(&env).await;
    let mails = sink.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.count(), 3, "each message once: {mails:?}");

    // A received code completes its sign-up on the new process (same browser).
    let again = Browser {
        http: browser.http.clone(),
        jar: browser.jar.clone(),
        base: second.public_url.clone(),
        origin: Some(second.public_url.clone()),
    };
    let mail = &sink.to("restart1@example.com")[0];
    let code = mail.code().unwrap();
    let r = again
        .post(
            &format!(
                "/v1/client/sign_ups/{}/attempt_verification",
                sign_ups["restart1@example.com"]
            ),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    assert!(second.stop().await.success());

    // No code reached either process's output, at debug level, in any transport state.
    let output = format!("{first_output}{}", second.output());
    for mail in &mails {
        let code = mail.code().unwrap();
        assert!(
            !contains_code(&output, &code),
            "code {code} appears in the logs"
        );
        assert!(!output.contains(&mail.subject()), "a subject was logged");
    }
    assert!(output.contains("r***@example.com"), "recipients are masked");
    assert!(!output.contains("restart0@example.com"));
}

/// Whether `code` occurs in `text` as a number of its own.
fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_postgres_send_each_message_once() {
    if !support::db::postgres_available("two_processes_on_postgres_send_each_message_once").await {
        return;
    }
    const N: usize = 200;
    let db = TestDb::create(DbKind::Postgres).await;
    let sink = SmtpSink::start(SinkOptions {
        delay: Duration::from_millis(5),
        threads: 16,
        ..SinkOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let env = smtp_env(ProcEnv::instance(dir.path(), &db.url), sink.port())
        .set("GATEHOUSE_DELIVERY__CONCURRENCY", "4")
        .set("GATEHOUSE_DELIVERY__MAX_ATTEMPTS", "3");
    let (mut a, mut b) = tokio::join!(Server::start(&env), Server::start(&env));

    // Both are polling; a batch appears at once.
    let store = Store::connect(&db.url).await.unwrap();
    let now = gatehouse::clock::Clock::now_ms(&gatehouse::clock::SystemClock);
    let mut tx = store.begin().await.unwrap();
    for i in 0..N {
        let m = OutboxMessage {
            id: format!("msg_batch{i:03}"),
            channel: "email".into(),
            recipient: format!("batch{i}@example.com"),
            kind: "email_code".into(),
            subject: format!("batch message {i}"),
            text_body: format!("body {i}"),
            html_body: format!("<p>body {i}</p>"),
            status: OUTBOX_PENDING.into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            expire_at: Some(now + 600_000),
            last_error: None,
        };
        store.insert_outbox(&mut tx, &m).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mails = sink.wait_for(N, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails_after = sink.received();
    assert_eq!(mails_after.len(), N, "no message is sent twice");
    let subjects: std::collections::BTreeSet<String> = mails.iter().map(|m| m.subject()).collect();
    assert_eq!(subjects.len(), N, "every message once");

    let per_worker: Vec<(String, i64)> = sqlx::query_as(
        "SELECT claimed_by, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY claimed_by",
    )
    .fetch_all(&sqlx::PgPool::connect(&db.url).await.unwrap())
    .await
    .unwrap();
    assert_eq!(per_worker.iter().map(|w| w.1).sum::<i64>(), N as i64);
    assert_eq!(
        per_worker.len(),
        2,
        "both processes took part: {per_worker:?}"
    );
    assert!(a.stop().await.success());
    assert!(b.stop().await.success());
    store.close().await;
}
