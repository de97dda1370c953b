//! Delivery benchmarks, as ratios measured in one run (`cargo bench -p gatehouse --bench
//! delivery`; see docs/PERFORMANCE.md):
//!
//! 1. Latency of `POST /v1/client/sign_ins/{id}/prepare_first_factor` (strategy
//!    `email_code`, which queues a code email) on a server whose SMTP server takes 2 s per
//!    message, over the same on a server whose SMTP server answers at once. Target ≤ 1.2.
//! 2. Outbox drain rate (messages queued in the database, sent by the real binary's
//!    worker) over a plain lettre client sending the same messages in a loop over one
//!    reused connection, to the same SMTP server. Target ≥ 0.5.
//!
//! Rounds of the two sides are interleaved, so drift of this noisy machine hits both.
//! The drain rate is also measured with `max_connections = 1`, the lettre loop's own
//! setting. Knobs: `ROUNDS` (default 5), `LATENCY_REQUESTS` per round and side (200),
//! `DRAIN_MESSAGES` per round and side (150).

#[path = "../tests/delivery_support/mod.rs"]
mod delivery_support;
#[path = "../tests/process_support/mod.rs"]
mod process_support;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use delivery_support::{SinkOptions, SmtpSink};
use gatehouse::delivery::{Kind, Payload, Templates};
use gatehouse::store::{OutboxMessage, Store, OUTBOX_PENDING};
use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use process_support::{ProcEnv, Server};
use serde_json::json;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A release server on a fresh SQLite database sending through the sink on `port`.
async fn start_server(
    dir: &std::path::Path,
    port: u16,
    poll: &str,
    extra: &[(&str, &str)],
) -> Server {
    let db = format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display());
    let env = ProcEnv::instance(dir, &db)
        .set("GATEHOUSE_AUTH__VERIFY_EMAIL_AT_SIGN_UP", "true")
        .set("GATEHOUSE_EMAIL__TRANSPORT", "smtp")
        .set(
            "GATEHOUSE_EMAIL__SMTP_URL",
            &format!("smtp://127.0.0.1:{port}?tls=none"),
        )
        .set("GATEHOUSE_EMAIL__TIMEOUT", "10s")
        .set("GATEHOUSE_DELIVERY__POLL_INTERVAL", poll);
    let env = extra.iter().fold(env, |env, (k, v)| env.set(k, v));
    Server::start(&env).await
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Stats {
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
        p50: percentile(&ms, 0.5),
        p90: percentile(&ms, 0.9),
        p99: percentile(&ms, 0.99),
    }
}

/// Times `n` sign-in code requests (`prepare_first_factor` with `email_code`), each for
/// a user created and a sign-in started just before (not timed).
async fn time_code_requests(server: &Server, n: usize, counter: &mut usize) -> Vec<f64> {
    let admin = server.admin();
    let browser = server.browser();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        *counter += 1;
        let email = format!("bench{counter}@example.com");
        let r = admin
            .post("/v1/users", json!({"email_address": [email]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = browser
            .post("/v1/client/sign_ins", json!({"identifier": email}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let attempt = &r.body["response"];
        let id = attempt["id"].as_str().unwrap().to_string();
        let factor = attempt["supported_first_factors"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["strategy"] == "email_code"))
            .unwrap_or_else(|| panic!("no email_code factor: {}", r.body));
        let email_id = factor["email_address_id"].as_str().unwrap().to_string();
        let started = Instant::now();
        let r = browser
            .post(
                &format!("/v1/client/sign_ins/{id}/prepare_first_factor"),
                json!({"strategy": "email_code", "email_address_id": email_id}),
            )
            .await;
        out.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    out
}

async fn latency(rounds: usize, per_round: usize) -> (Stats, Stats) {
    let instant_sink = SmtpSink::start(SinkOptions::default());
    let slow_sink = SmtpSink::start(SinkOptions {
        delay: Duration::from_secs(2),
        threads: 16,
        ..SinkOptions::default()
    });
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut fast = start_server(d1.path(), instant_sink.port(), "5s", &[]).await;
    let mut slow = start_server(d2.path(), slow_sink.port(), "5s", &[]).await;
    let (mut fast_ms, mut slow_ms) = (Vec::new(), Vec::new());
    let mut counter = 0;
    // Warm-up: connections, caches, the first pooled SMTP connection.
    time_code_requests(&fast, 5, &mut counter).await;
    time_code_requests(&slow, 5, &mut counter).await;
    for round in 0..rounds {
        if round % 2 == 0 {
            fast_ms.extend(time_code_requests(&fast, per_round, &mut counter).await);
            slow_ms.extend(time_code_requests(&slow, per_round, &mut counter).await);
        } else {
            slow_ms.extend(time_code_requests(&slow, per_round, &mut counter).await);
            fast_ms.extend(time_code_requests(&fast, per_round, &mut counter).await);
        }
    }
    println!(
        "  slow SMTP server accepted {} messages during the run (instant one: {})",
        slow_sink.count(),
        instant_sink.count()
    );
    fast.stop().await;
    slow.stop().await;
    (stats(fast_ms), stats(slow_ms))
}

fn message(templates: &Templates, i: usize) -> (String, String, String, String) {
    let to = format!("drain{i}@example.com");
    let r = templates
        .render(Kind::EmailCode, &to, Payload::Code("123456"), 10)
        .unwrap();
    (to, r.subject, r.text, r.html)
}

/// Seconds for a plain lettre client to send `n` messages one after another over one
/// reused connection.
async fn lettre_loop(port: u16, templates: &Templates, n: usize, from: usize) -> f64 {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    let started = Instant::now();
    for i in from..from + n {
        let (to, subject, text, html) = message(templates, i);
        let m = Message::builder()
            .from("Gatehouse <no-reply@localhost>".parse().unwrap())
            .to(to.parse().unwrap())
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .unwrap();
        transport.send(m).await.expect("lettre send");
    }
    started.elapsed().as_secs_f64()
}

/// Seconds from committing `n` due messages to the outbox to the sink having them all.
async fn outbox_drain(
    store: &Store,
    sink: &SmtpSink,
    templates: &Templates,
    n: usize,
    from: usize,
) -> f64 {
    let before = sink.count();
    let now = gatehouse::clock::Clock::now_ms(&gatehouse::clock::SystemClock);
    let mut tx = store.begin().await.unwrap();
    for i in from..from + n {
        let (to, subject, text, html) = message(templates, i);
        let m = OutboxMessage {
            id: format!("msg_drain{i:07}"),
            channel: "email".into(),
            recipient: to,
            kind: "email_code".into(),
            subject,
            text_body: text,
            html_body: html,
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
    let started = Instant::now();
    while sink.count() < before + n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started.elapsed().as_secs_f64()
}

/// A release server whose outbox this process fills directly.
struct Drainer {
    server: Server,
    store: Store,
    seconds: f64,
    _dir: tempfile::TempDir,
}

impl Drainer {
    async fn start(sink: &SmtpSink, extra: &[(&str, &str)]) -> Drainer {
        let dir = tempfile::tempdir().unwrap();
        // The rows come from this process, so the server finds them by polling.
        let server = start_server(dir.path(), sink.port(), "10ms", extra).await;
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("gatehouse.db").display()
        );
        let store = Store::connect(&db).await.unwrap();
        Drainer {
            server,
            store,
            seconds: 0.0,
            _dir: dir,
        }
    }
}

/// Messages per second: (lettre loop, outbox with the default connections, outbox with
/// one connection).
async fn drain(rounds: usize, n: usize) -> (f64, f64, f64) {
    let templates = Templates::load(None, "Gatehouse").unwrap();
    let sink = SmtpSink::start(SinkOptions::default());
    let mut pooled = Drainer::start(&sink, &[]).await;
    let mut single = Drainer::start(&sink, &[("GATEHOUSE_EMAIL__MAX_CONNECTIONS", "1")]).await;
    let mut lettre_s = 0.0;
    let mut next = 0;
    lettre_loop(sink.port(), &templates, 20, next).await;
    for d in [&mut pooled, &mut single] {
        next += 20;
        outbox_drain(&d.store, &sink, &templates, 20, next).await;
    }
    for round in 0..rounds {
        // Rotate which side goes first.
        for turn in 0..3 {
            next += n;
            match (round + turn) % 3 {
                0 => lettre_s += lettre_loop(sink.port(), &templates, n, next).await,
                1 => {
                    pooled.seconds += outbox_drain(&pooled.store, &sink, &templates, n, next).await
                }
                _ => {
                    single.seconds += outbox_drain(&single.store, &sink, &templates, n, next).await
                }
            }
        }
    }
    for d in [&mut pooled, &mut single] {
        d.store.close().await;
        d.server.stop().await;
    }
    let total = (rounds * n) as f64;
    (
        total / lettre_s,
        total / pooled.seconds,
        total / single.seconds,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds = knob("ROUNDS", 5);
    let per_round = knob("LATENCY_REQUESTS", 200);
    let n = knob("DRAIN_MESSAGES", 150);
    println!("delivery benchmark: {rounds} interleaved rounds");

    println!("1. code request latency ({per_round} requests per round and side)");
    let (fast, slow) = latency(rounds, per_round).await;
    for (name, s) in [("instant SMTP", &fast), ("2 s SMTP", &slow)] {
        println!(
            "  {name:<13} mean {:7.2} ms  p50 {:7.2}  p90 {:7.2}  p99 {:7.2}",
            s.mean, s.p50, s.p90, s.p99
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let (r_mean, r_p50, r_p99) = (
        slow.mean / fast.mean,
        slow.p50 / fast.p50,
        slow.p99 / fast.p99,
    );
    println!(
        "  ratio 2 s / instant: mean {r_mean:.2}  p50 {r_p50:.2}  p99 {r_p99:.2}  (target ≤ 1.2 on mean and p50: {})",
        verdict(r_mean <= 1.2 && r_p50 <= 1.2)
    );

    println!("2. drain rate ({n} messages per round and side)");
    let (lettre_rate, pooled_rate, single_rate) = drain(rounds, n).await;
    let ratio = pooled_rate / lettre_rate;
    println!("  plain lettre loop, 1 connection        {lettre_rate:8.1} messages/s");
    println!("  outbox worker, defaults (4 connections) {pooled_rate:8.1} messages/s");
    println!("  outbox worker, max_connections = 1      {single_rate:8.1} messages/s");
    println!(
        "  ratio outbox / lettre: {ratio:.2} with the defaults (target ≥ 0.5: {}), {:.2} on one connection",
        verdict(ratio >= 0.5),
        single_rate / lettre_rate
    );
}
