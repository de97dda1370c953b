//! Message delivery through real receivers, on SQLite and PostgreSQL: a sign-up code
//! read from mail received by an SMTP server, STARTTLS with a private CA and AUTH, every
//! email kind, a mail server that is down while codes are requested, permanent refusals,
//! SMS through an HTTP server speaking the Twilio Messages API (with a 5xx retry), and the
//! outbox's claims and leases between workers.

mod delivery_support;
mod support;

use std::time::{Duration, Instant};

use delivery_support::{
    closed_port, private_ca_and_cert, smtp_toml, SinkOptions, SmsApi, SmtpSink,
};
use gatehouse::delivery::{self, CodeEmail};
use gatehouse::domain::codes::{self, Via};
use gatehouse::store::{OutboxMessage, Store, OUTBOX_PENDING};
use serde_json::json;
use support::{DbKind, TestDb, TestServer, PASSWORD};

both_dbs!(
    sign_up_code_arrives_over_smtp,
    starttls_with_a_private_ca_and_auth,
    every_email_kind_is_delivered,
    smtp_down_while_codes_are_requested,
    refused_recipient_fails_at_once,
    sms_through_the_messages_api_with_a_retry,
    claims_are_exclusive_and_leases_expire,
);

const WAIT: Duration = Duration::from_secs(20);

/// Starts a sign-up that needs its email verified and asks for a code; returns the
/// sign-up id and how long the request took.
async fn request_code(browser: &support::Browser, email: &str) -> (String, Duration) {
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
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    (id, took)
}

fn verify_toml(smtp: &str) -> String {
    format!("[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = true\n{smtp}")
}

async fn sign_up_code_arrives_over_smtp(kind: DbKind) {
    let sink = SmtpSink::start(SinkOptions::default());
    let server = TestServer::start_with(kind, &verify_toml(&smtp_toml(sink.port()))).await;
    let browser = server.browser();
    let (id, _) = request_code(&browser, "Mail.User@Example.com").await;

    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, vec!["Mail.User@Example.com".to_string()]);
    assert_eq!(mail.from, "no-reply@gatehouse.test");
    assert!(
        mail.header("from").unwrap().contains("Gatehouse Test"),
        "{:?}",
        mail.header("from")
    );
    let code = mail.code().expect("a code in the subject");
    assert_eq!(
        mail.subject(),
        format!("{code} is your Gatehouse verification code")
    );
    let text = mail.part("text/plain").expect("a text part");
    assert!(
        text.contains(&format!("verification code is {code}.")),
        "{text}"
    );
    let html = mail.part("text/html").expect("an HTML part");
    assert!(html.contains(&code) && html.contains("<html"), "{html}");
    // Sent messages are not in the dev outbox (only `log` keeps them there), and their
    // bodies are erased from the database once sent.
    let outbox = server
        .admin()
        .get("/v1/dev/outbox?to=Mail.User@Example.com")
        .await;
    assert_eq!(outbox.body["total_count"], 0, "{}", outbox.body);
    wait_until_no_pending(&server).await;
    let counts = server.app.store.outbox_status_counts().await.unwrap();
    assert_eq!(counts, vec![("sent".to_string(), 1)]);

    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/attempt_verification"),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    assert_eq!(sink.count(), 1, "exactly one message");
    server.stop().await;
}

/// Waits until no message is pending or being sent.
async fn wait_until_no_pending(server: &TestServer) {
    let deadline = Instant::now() + WAIT;
    loop {
        let counts = server.app.store.outbox_status_counts().await.unwrap();
        if !counts.iter().any(|(s, _)| s == "pending" || s == "sending") {
            return;
        }
        assert!(Instant::now() < deadline, "still unsent: {counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn starttls_with_a_private_ca_and_auth(kind: DbKind) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca_and_cert(dir.path());
    let sink = SmtpSink::start(SinkOptions {
        tls: Some((cert, key)),
        auth: Some(("mailer".into(), "s3cret pass".into())),
        ..SinkOptions::default()
    });
    let smtp = |ca: Option<&std::path::Path>| {
        let ca = ca
            .map(|p| format!("tls_ca_file = \"{}\"\n", p.display()))
            .unwrap_or_default();
        format!(
            "[email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://mailer:s3cret%20pass@127.0.0.1:{}\"\n{ca}timeout = \"2s\"\n\
             [delivery]\npoll_interval = \"50ms\"\nretry_initial = \"50ms\"\nretry_max = \"100ms\"\nmax_attempts = 2\n",
            sink.port()
        )
    };

    // Without the CA the server's certificate is not trusted: nothing is sent, in clear
    // or otherwise.
    let untrusted = TestServer::start_with(kind, &verify_toml(&smtp(None))).await;
    request_code(&untrusted.browser(), "untrusted@example.com").await;
    let deadline = Instant::now() + WAIT;
    let failed = loop {
        let counts = untrusted.app.store.outbox_status_counts().await.unwrap();
        if counts.iter().any(|(s, _)| s == "failed") {
            break counts;
        }
        assert!(Instant::now() < deadline, "{counts:?}");
        untrusted.clock.advance(1_000);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(failed, vec![("failed".to_string(), 1)]);
    assert_eq!(sink.count(), 0);
    untrusted.stop().await;

    // With it: STARTTLS, then AUTH, then the message.
    let server = TestServer::start_with(kind, &verify_toml(&smtp(Some(&ca)))).await;
    let browser = server.browser();
    let (id, _) = request_code(&browser, "tls.user@example.com").await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, vec!["tls.user@example.com".to_string()]);
    let code = mail.code().unwrap();
    let r = browser
        .post(
            &format!("/v1/client/sign_ups/{id}/attempt_verification"),
            json!({"strategy": "email_code", "code": code}),
        )
        .await;
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    server.stop().await;
}

async fn every_email_kind_is_delivered(kind: DbKind) {
    let sink = SmtpSink::start(SinkOptions::default());
    let toml = format!(
        "application_name = \"Acme & Co\"\n{}",
        smtp_toml(sink.port())
    );
    let server = TestServer::start_with(kind, &toml).await;
    let app = &server.app;
    codes::send(
        app,
        "sia_reset",
        "reset_password_email_code",
        Via::Email("reset@example.com", CodeEmail::ResetPassword),
    )
    .await
    .unwrap();
    let link = "https://auth.example.com/v1/verify?token=abc&x=<y>";
    let mut tx = app.store.begin().await.unwrap();
    let queued =
        delivery::enqueue_link_email(app, &mut tx, "link@example.com", link, app.now() + 900_000)
            .await
            .unwrap();
    queued.commit(tx).await.unwrap();

    sink.wait_for(2, WAIT).await;
    let reset = sink.to("reset@example.com").remove(0);
    assert_eq!(
        reset.subject(),
        format!(
            "{} is your Acme & Co password reset code",
            reset.code().unwrap()
        )
    );
    assert!(reset.part("text/html").unwrap().contains("Acme &amp; Co"));
    let magic = sink.to("link@example.com").remove(0);
    assert_eq!(magic.subject(), "Your Acme & Co sign-in link");
    let text = magic.part("text/plain").unwrap();
    assert!(text.contains(link), "{text}");
    assert!(text.contains("expires in 15 minutes"), "{text}");
    let html = magic.part("text/html").unwrap();
    assert!(!html.contains("<y>"), "values are escaped in HTML: {html}");
    assert!(html.contains("&lt;y&gt;"), "{html}");
    server.stop().await;
}

async fn smtp_down_while_codes_are_requested(kind: DbKind) {
    let port = closed_port();
    let server = TestServer::start_with(kind, &verify_toml(&smtp_toml(port))).await;
    let browser = server.browser();
    let mut slowest = Duration::ZERO;
    for i in 0..4 {
        let (_, took) = request_code(&browser, &format!("down{i}@example.com")).await;
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_secs(1),
        "requests never wait on SMTP: slowest {slowest:?}"
    );
    // Every message failed its first attempt and waits for a retry.
    let deadline = Instant::now() + WAIT;
    let stored = loop {
        let waiting = server
            .app
            .store
            .outbox_with_status("pending")
            .await
            .unwrap();
        if waiting.len() == 4 && waiting.iter().all(|m| m.attempts >= 1) {
            let error = waiting[0].last_error.as_deref().unwrap_or("");
            assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
            break waiting;
        }
        assert!(Instant::now() < deadline, "{waiting:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (messages, _) = server.app.store.list_outbox(None, 10, 0).await.unwrap();
    assert!(messages.is_empty(), "pending messages are not logged ones");

    // The server comes back: every message arrives, once.
    let sink = SmtpSink::start_on_port(port, SinkOptions::default());
    server.clock.advance(1_000);
    let got = sink.wait_for(4, WAIT).await;
    wait_until_no_pending(&server).await;
    assert_eq!(sink.count(), 4, "{got:?}");
    let mut to: Vec<String> = got.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        (0..4)
            .map(|i| format!("down{i}@example.com"))
            .collect::<Vec<_>>()
    );
    // While they waited, the stored rows held no code: contents are sealed at rest.
    for mail in &got {
        let code = mail.code().expect("a code in every message");
        for row in &stored {
            for field in [&row.subject, &row.text_body, &row.html_body] {
                assert!(
                    !field.contains(&code),
                    "code {code} stored in clear: {field}"
                );
                assert!(field.starts_with("sealed1:"), "{field}");
            }
        }
    }
    server.stop().await;
}

async fn refused_recipient_fails_at_once(kind: DbKind) {
    let sink = SmtpSink::start(SinkOptions {
        refuse: vec!["nobody@example.com".into()],
        ..SinkOptions::default()
    });
    let server = TestServer::start_with(kind, &verify_toml(&smtp_toml(sink.port()))).await;
    request_code(&server.browser(), "nobody@example.com").await;
    request_code(&server.browser(), "somebody@example.com").await;
    sink.wait_for(1, WAIT).await;
    wait_until_no_pending(&server).await;
    let counts = server.app.store.outbox_status_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![("failed".to_string(), 1), ("sent".to_string(), 1)]
    );
    server.stop().await;
}

async fn sms_through_the_messages_api_with_a_retry(kind: DbKind) {
    let api = SmsApi::start("AC0123456789", "tok3n", 1).await;
    let toml = sms_toml(&api.base_url);
    let server = TestServer::start_with(kind, &toml).await;
    let expire_at = codes::send(
        &server.app,
        "sua_phone",
        "phone_code",
        Via::Sms("+14155550123"),
    )
    .await
    .unwrap();
    assert!(expire_at > server.app.now());
    // The first request gets a 503; the retry is due after the backoff (this server's
    // clock only moves when told to).
    let deadline = Instant::now() + WAIT;
    let sms = loop {
        if let Some(sms) = api.accepted().pop() {
            break sms;
        }
        assert!(Instant::now() < deadline, "{} requests", api.requests());
        server.clock.advance(200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(api.requests(), 2);
    assert_eq!(sms.to, "+14155550123");
    assert_eq!(sms.from, "+14155550100");
    let code = delivery_support::six_digits(&sms.body).unwrap();
    assert_eq!(
        sms.body,
        format!("{code} is your Gatehouse verification code. It expires in 10 minutes.")
    );
    // Email still goes to the dev outbox (log transport), SMS does not.
    let outbox = server.admin().get("/v1/dev/outbox").await;
    assert_eq!(outbox.status, 200);
    assert_eq!(outbox.body["total_count"], 0);
    server.stop().await;

    // Wrong credentials are a permanent failure: one request, no retries.
    let api = SmsApi::start("AC0123456789", "other", 0).await;
    let toml = sms_toml(&api.base_url);
    let server = TestServer::start_with(kind, &toml).await;
    codes::send(
        &server.app,
        "sua_phone2",
        "phone_code",
        Via::Sms("+14155550124"),
    )
    .await
    .unwrap();
    wait_until_no_pending(&server).await;
    server.clock.advance(1_000);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(api.requests(), 1);
    let counts = server.app.store.outbox_status_counts().await.unwrap();
    assert_eq!(counts, vec![("failed".to_string(), 1)]);
    server.stop().await;
}

fn sms_toml(base_url: &str) -> String {
    format!(
        "[sms]\ntransport = \"twilio\"\naccount_sid = \"AC0123456789\"\nauth_token = \"tok3n\"\nfrom = \"+14155550100\"\nbase_url = \"{base_url}\"\n\
         [delivery]\npoll_interval = \"50ms\"\nretry_initial = \"50ms\"\nretry_max = \"100ms\"\n"
    )
}

fn pending(id: &str, now: i64, expire_at: Option<i64>) -> OutboxMessage {
    OutboxMessage {
        id: id.into(),
        channel: "email".into(),
        recipient: format!("{id}@example.com"),
        kind: "email_code".into(),
        subject: "s".into(),
        text_body: "secret 123456".into(),
        html_body: "<p>secret 123456</p>".into(),
        status: OUTBOX_PENDING.into(),
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        expire_at,
        last_error: None,
    }
}

async fn claims_are_exclusive_and_leases_expire(kind: DbKind) {
    let db = TestDb::create(kind).await;
    let a = Store::open(&db.url).await.unwrap();
    let b = Store::connect(&db.url).await.unwrap();
    let now = 1_000_000;
    let mut tx = a.begin().await.unwrap();
    for i in 0..40 {
        a.insert_outbox(&mut tx, &pending(&format!("m{i:02}"), now, None))
            .await
            .unwrap();
    }
    a.insert_outbox(&mut tx, &pending("stale", now, Some(now + 10)))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Many workers on two connections pools claim at once: each message exactly once.
    let mut claims = Vec::new();
    for w in 0..8 {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        claims.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_outbox(&["email"], &format!("w{w}"), now + 5, now + 60_000, 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for c in claims {
        all.extend(c.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = (0..40)
        .map(|i| format!("m{i:02}"))
        .chain(["stale".to_string()])
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(all, expected_sorted, "every message claimed exactly once");

    // Nothing is claimable while the leases run; after they end (a crashed worker),
    // another worker gets them, and the first one can no longer record them as sent.
    assert!(a
        .claim_outbox(&["email"], "late", now + 59_999, now + 120_000, 100)
        .await
        .unwrap()
        .is_empty());
    let owner = "w0";
    let again = a
        .claim_outbox(&["email"], "late", now + 60_000, now + 120_000, 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 40, "all but the expired one");
    assert!(again.iter().all(|m| m.attempts == 2));
    let ids: Vec<String> = again.iter().map(|m| m.id.clone()).collect();
    assert_eq!(a.mark_outbox_sent(&ids, owner, now).await.unwrap(), 0);
    assert_eq!(a.mark_outbox_sent(&ids, "late", now).await.unwrap(), 40);
    let sent = a.get_outbox("m00").await.unwrap().unwrap();
    assert_eq!(sent.status, "sent");
    assert_eq!((sent.text_body.as_str(), sent.html_body.as_str()), ("", ""));

    // A message whose content expired is never sent; its body is erased.
    assert_eq!(a.expire_outbox(now + 60_000).await.unwrap(), 1);
    let stale = a.get_outbox("stale").await.unwrap().unwrap();
    assert_eq!(stale.status, "expired");
    assert_eq!(stale.text_body, "");
    // Finished messages are pruned after their retention.
    assert_eq!(a.prune_outbox(now + 60_001).await.unwrap(), 41);
    a.close().await;
    b.close().await;
}
