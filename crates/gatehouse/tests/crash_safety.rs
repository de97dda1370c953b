//! Crash safety (a 200 means the row is durable), on SQLite and PostgreSQL:
//! sign-ups stream in from several tasks, the server is SIGKILLed mid-stream, and after a
//! restart on the same database every acknowledged sign-up exists and the server is healthy.

mod process_support;
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use process_support::{ProcEnv, Server};
use serde_json::{json, Value};
use support::{DbKind, TestDb, PASSWORD};

both_dbs!(acknowledged_sign_ups_survive_sigkill);

/// Concurrent sign-up streams.
const TASKS: usize = 6;
/// Acknowledged sign-ups to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 24;

/// What the streams saw: emails answered 200, and any other answer (a failure).
#[derive(Default)]
struct Seen {
    acked: Vec<String>,
    refused: Vec<String>,
}

async fn acknowledged_sign_ups_survive_sigkill(kind: DbKind) {
    let db = TestDb::create(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let mut server = Server::start(&env).await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let seen = seen.clone();
        let url = format!("{}/v1/client/sign_ups", server.public_url);
        tasks.push(tokio::spawn(async move {
            // No cookie store: every sign-up creates its own client.
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            for i in 0.. {
                let email = format!("crash-{task}-{i}@example.com");
                let sent = http
                    .post(&url)
                    .json(&json!({"email_address": email, "password": PASSWORD}))
                    .send()
                    .await;
                // A connection error means the server died: nothing was acknowledged.
                let Ok(response) = sent else { return };
                let status = response.status();
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let mut seen = seen.lock().unwrap();
                if status == 200 && body["response"]["status"] == "complete" {
                    seen.acked.push(email);
                } else {
                    seen.refused.push(format!("{email}: {status} {body}"));
                    return;
                }
            }
        }));
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let acked = seen.lock().unwrap().acked.len();
        if acked >= ACKED_BEFORE_KILL {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {acked} sign-ups acknowledged in 30 s\n{}",
            server.output()
        );
        assert!(
            seen.lock().unwrap().refused.is_empty(),
            "{:?}",
            seen.lock().unwrap().refused
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Mid-stream: every task has a request in flight or about to be sent.
    server.kill();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("sign-up streams stop once the server is gone")
            .unwrap();
    }
    let Seen { acked, refused } = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        refused.is_empty(),
        "sign-ups answered other than 200 before the kill: {refused:?}"
    );
    assert!(acked.len() >= ACKED_BEFORE_KILL);

    // Restart on the same database: every acknowledged sign-up is there.
    let server = Server::start(&env).await;
    let admin = server.admin();
    for email in &acked {
        let r = admin.get(&format!("/v1/users?email_address={email}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body["total_count"], 1,
            "acknowledged sign-up {email} was lost: {}",
            r.body
        );
        assert_eq!(
            r.body["data"][0]["email_addresses"][0]["email_address"],
            email.as_str()
        );
    }

    // Healthy: ready, and it signs users in (including one from before the crash) and up.
    let ready = reqwest::get(format!("{}/readyz", server.public_url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let browser = server.browser();
    let session = browser.sign_in(&acked[acked.len() - 1], PASSWORD).await;
    assert_eq!(browser.mint(&session).await.status, 200);
    server
        .browser()
        .sign_up("after-crash@example.com", PASSWORD)
        .await;
}
