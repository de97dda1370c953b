//! The `gatehouse` command line, run as a process: `init`, configuration errors
//! that name the key, `migrate`, `keys create-secret`, `users create|list|ban`,
//! `token inspect`, a zero-configuration start, and graceful shutdown on SIGTERM.

mod process_support;
mod support;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use process_support::{run_cli, ProcEnv, Server};
use serde_json::{json, Value};
use support::{DbKind, TestDb, PASSWORD};

/// A SQLite test instance in a fresh directory.
async fn sqlite_instance() -> (TestDb, tempfile::TempDir, ProcEnv) {
    let db = TestDb::create(DbKind::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    (db, dir, env)
}

#[tokio::test]
async fn init_writes_a_config_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.toml");
    let path_s = path.display().to_string();
    let env = ProcEnv::bare(dir.path()).set(
        "GATEHOUSE_DATA_DIR",
        &dir.path().join("data").display().to_string(),
    );
    let out = run_cli(&env, &["init", &path_s]).await.ok();
    assert!(out.stdout.contains(&path_s), "{out}");
    let written = std::fs::read_to_string(&path).unwrap();
    gatehouse::config::Config::from_toml_str(&written).expect("the written file parses");

    // The binary loads it: `--config <path> migrate` on a fresh SQLite file.
    run_cli(&env, &["--config", &path_s, "migrate"]).await.ok();
    assert!(dir.path().join("data/gatehouse.db").exists());
    // `GATEHOUSE_CONFIG` is the same as `--config`.
    let env = env.set("GATEHOUSE_CONFIG", &path_s);
    run_cli(&env, &["migrate"]).await.ok();
}

#[tokio::test]
async fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.toml");
    let path_s = path.display().to_string();
    let env = ProcEnv::bare(dir.path());
    run_cli(&env, &["init", &path_s]).await.ok();
    let template = std::fs::read_to_string(&path).unwrap();
    let edited = format!("{template}\npublic_url = \"https://auth.example.com\"\n");
    std::fs::write(&path, &edited).unwrap();

    let out = run_cli(&env, &["init", &path_s]).await;
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        edited,
        "the file was overwritten"
    );

    run_cli(&env, &["init", "--force", &path_s]).await.ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), template);
}

/// `gatehouse serve` with this configuration file must refuse to start.
async fn serve_refuses(env: &ProcEnv, toml: Option<&str>) -> String {
    let mut args = vec!["serve"];
    let path = env.cwd.join("bad.toml");
    let path_s = path.display().to_string();
    if let Some(toml) = toml {
        std::fs::write(&path, toml).unwrap();
        args = vec!["--config", &path_s, "serve"];
    }
    // Free ports, so that only the configuration can make it fail.
    let env = env
        .clone()
        .set(
            "GATEHOUSE_LISTEN",
            &format!("127.0.0.1:{}", process_support::free_port()),
        )
        .set(
            "GATEHOUSE_ADMIN_LISTEN",
            &format!("127.0.0.1:{}", process_support::free_port()),
        );
    let out = run_cli(&env, &args).await;
    assert!(
        !out.success(),
        "serve started with a bad configuration: {out}"
    );
    out.stderr
}

#[tokio::test]
async fn configuration_errors_name_the_key() {
    let (_db, _dir, env) = sqlite_instance().await;
    let stderr = serve_refuses(&env, Some("[session]\nlifetim = \"1d\"\n")).await;
    assert!(stderr.contains("session.lifetim"), "{stderr}");
    let stderr = serve_refuses(&env, Some("publik_url = \"http://localhost:3000\"\n")).await;
    assert!(stderr.contains("publik_url"), "{stderr}");
    let stderr = serve_refuses(&env, Some("[session]\nlifetime = \"soon\"\n")).await;
    assert!(
        stderr.contains("session.lifetime") && stderr.contains("soon"),
        "{stderr}"
    );
    let stderr = serve_refuses(
        &env.clone().set("GATEHOUSE_SESSION__LIFETIME", "bogus"),
        None,
    )
    .await;
    assert!(
        stderr.contains("session.lifetime") && stderr.contains("bogus"),
        "{stderr}"
    );
    // The environment wins over the file, and is checked the same way.
    let stderr = serve_refuses(
        &env.clone().set("GATEHOUSE_SESSION__LIFETIME", "bogus"),
        Some("[session]\nlifetime = \"1d\"\n"),
    )
    .await;
    assert!(stderr.contains("session.lifetime"), "{stderr}");
}

#[tokio::test]
async fn delivery_configuration_errors_name_the_key() {
    let (_db, _dir, env) = sqlite_instance().await;
    let smtp = env.clone().set("GATEHOUSE_EMAIL__TRANSPORT", "smtp");
    let stderr = serve_refuses(&smtp, None).await;
    assert!(stderr.contains("email.smtp_url"), "{stderr}");
    let stderr = serve_refuses(
        &smtp.clone().set(
            "GATEHOUSE_EMAIL__SMTP_URL",
            "smtp://mailer:hunter2@mail.example.com?tls=sometimes",
        ),
        None,
    )
    .await;
    assert!(
        stderr.contains("email.smtp_url") && stderr.contains("tls=sometimes"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "a password is never printed: {stderr}"
    );
    let stderr = serve_refuses(
        &smtp.set("GATEHOUSE_EMAIL__SMTP_URL", "smtp://mail.example.com"),
        Some("[email]\nfrom = \"no at sign\"\n"),
    )
    .await;
    assert!(stderr.contains("email.from"), "{stderr}");
    let stderr = serve_refuses(&env, Some("[sms]\ntransport = \"twilio\"\nsid = \"AC1\"\n")).await;
    assert!(stderr.contains("sid"), "{stderr}");
    let stderr = serve_refuses(&env, Some("[sms]\ntransport = \"twilio\"\n")).await;
    assert!(stderr.contains("sms.account_sid"), "{stderr}");
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let (db, _dir, env) = sqlite_instance().await;
    let out = run_cli(&env, &["migrate"]).await.ok();
    assert!(out.stdout.contains("up to date"), "{out}");
    run_cli(&env, &["migrate"]).await.ok();
    let file = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&file).exists(), "{file}");
    // A migrated database serves.
    Server::start(&env).await;
}

#[tokio::test]
async fn keys_create_secret_authenticates_to_the_backend_api() {
    let (_db, _dir, env) = sqlite_instance().await;
    let server = Server::start(&env).await;
    let out = run_cli(&env, &["keys", "create-secret"]).await.ok();
    let key = out.stdout.trim().to_string();
    assert!(
        key.starts_with("sk_live_") && key.len() >= 24 && !key.contains(char::is_whitespace),
        "{out}"
    );
    let r = server.admin_with(&key).get("/v1/users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.admin_with(&format!("{key}x")).get("/v1/users").await;
    assert_eq!(r.status, 401);
    // Each call makes a new key.
    let again = run_cli(&env, &["keys", "create-secret", "--name", "ci"])
        .await
        .ok();
    assert_ne!(again.stdout.trim(), key);
    assert_eq!(
        server
            .admin_with(again.stdout.trim())
            .get("/v1/users")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn users_create_list_ban() {
    let (_db, _dir, env) = sqlite_instance().await;
    let server = Server::start(&env).await;
    let out = run_cli(
        &env,
        &[
            "users",
            "create",
            "--email",
            "cli@example.com",
            "--password",
            PASSWORD,
        ],
    )
    .await
    .ok();
    let user_id = out.stdout.trim().to_string();
    assert!(user_id.starts_with("user_"), "{out}");
    // The password may also come from GATEHOUSE_USER_PASSWORD.
    let from_env = env.clone().set("GATEHOUSE_USER_PASSWORD", PASSWORD);
    let out = run_cli(
        &from_env,
        &["users", "create", "--email", "env@example.com"],
    )
    .await
    .ok();
    let env_user = out.stdout.trim().to_string();
    assert!(env_user.starts_with("user_"), "{out}");

    let browser = server.browser();
    let session = browser.sign_in("cli@example.com", PASSWORD).await;
    assert_eq!(browser.mint(&session).await.status, 200);
    server.browser().sign_in("env@example.com", PASSWORD).await;

    let out = run_cli(&env, &["users", "list"]).await.ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&user_id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("cli@example.com") && !line.contains("banned"),
        "{line}"
    );
    assert!(out.stdout.contains(&env_user), "{out}");

    let out = run_cli(&env, &["users", "ban", &user_id]).await.ok();
    assert!(out.stdout.contains(&user_id), "{out}");
    let out = run_cli(&env, &["users", "list"]).await.ok();
    let line = out.stdout.lines().find(|l| l.contains(&user_id)).unwrap();
    assert!(line.contains("banned"), "{line}");
    let r = server.admin().get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(r.body["banned"], true, "{}", r.body);
    // Banning revoked the session at once, and sign-in is refused.
    assert_eq!(browser.mint(&session).await.status, 401);
    let r = server
        .browser()
        .sign_in_raw("cli@example.com", PASSWORD)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error_code(), "user_banned");

    // An unknown user is an error.
    let out = run_cli(&env, &["users", "ban", "user_doesnotexist0000000000000"]).await;
    assert!(!out.success(), "{out}");
}

#[tokio::test]
async fn token_inspect_checks_the_signature() {
    let (_db, _dir, env) = sqlite_instance().await;
    let server = Server::start(&env).await;
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["tok@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user_id = r.body["id"].as_str().unwrap().to_string();
    let browser = server.browser();
    let session = browser.sign_in("tok@example.com", PASSWORD).await;
    let r = browser.mint(&session).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jwt = r.body["jwt"].as_str().unwrap().to_string();

    let out = run_cli(&env, &["token", "inspect", &jwt]).await.ok();
    assert!(
        out.stdout.contains(&format!("\"sub\": \"{user_id}\"")),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!("\"sid\": \"{session}\"")),
        "{out}"
    );
    assert!(out.stdout.contains("signature: valid"), "{out}");

    // The same token with another subject: the claims show, the signature does not hold.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("user_someoneelse00000000000000");
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let out = run_cli(&env, &["token", "inspect", &tampered]).await;
    assert!(
        out.stdout.contains("user_someoneelse00000000000000"),
        "{out}"
    );
    assert!(!out.stdout.contains("signature: valid"), "{out}");
    assert!(out.stdout.contains("NOT valid"), "{out}");
    assert!(
        !out.status.success(),
        "an invalid signature exits non-zero: {out}"
    );
}

/// Every `sk_live_...` key in `text`.
fn live_keys(text: &str) -> Vec<String> {
    text.match_indices("sk_live_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn zero_config_start_prints_the_secret_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::bare(dir.path());
    let mut server = Server::start(&env).await;
    let data = dir.path().join("gatehouse-data");
    assert!(
        data.join("gatehouse.db").exists(),
        "no SQLite database in ./gatehouse-data"
    );
    assert!(
        data.join("master.key").exists(),
        "no master.key in ./gatehouse-data"
    );
    let output = server.output();
    let keys = live_keys(&output);
    assert_eq!(
        keys.len(),
        1,
        "the generated key is printed exactly once:\n{output}"
    );
    let key = keys[0].clone();
    assert!(key.len() >= 24, "{key}");
    assert!(
        server.stderr().contains("master.key"),
        "a warning names the generated master key"
    );
    let r = server.admin_with(&key).get("/v1/users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The instance works: a user made with that key signs in through the Frontend API.
    let r = server
        .admin_with(&key)
        .post(
            "/v1/users",
            json!({"email_address": ["zero@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let browser = server.browser();
    let session = browser.sign_in("zero@example.com", PASSWORD).await;
    assert_eq!(browser.mint(&session).await.status, 200);
    assert!(server.stop().await.success());

    // A second start on the same directory prints no key; the first one still works.
    let mut server = Server::start(&env).await;
    let output = server.output();
    assert!(
        live_keys(&output).is_empty(),
        "a second start printed a key:\n{output}"
    );
    assert!(!output.contains("generated a master key"), "{output}");
    let r = server
        .admin_with(&key)
        .get(&format!("/v1/users?email_address={}", "zero@example.com"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total_count"], 1);
    assert!(server.stop().await.success());
}

/// A gauge from the Prometheus text of the admin listener.
async fn gauge(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.trim().parse::<f64>().unwrap() as u64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    const REQUESTS: usize = 8;
    let (_db, _dir, env) = sqlite_instance().await;
    // One hash at a time, so password sign-ins queue up inside the server.
    let env = env
        .set("GATEHOUSE_AUTH__PASSWORD__HASH_CONCURRENCY", "1")
        .set("GATEHOUSE_AUTH__PASSWORD__HASH_QUEUE", "16");
    let mut server = Server::start(&env).await;
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["slow@example.com"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let url = format!("{}/v1/client/sign_ins", server.public_url);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        let (url, done) = (url.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let password = if i % 2 == 0 { PASSWORD } else { "a wrong password entirely" };
            // No cookie store: each sign-in is its own client.
            let r = reqwest::Client::new()
                .post(url)
                .json(&json!({"identifier": "slow@example.com", "strategy": "password", "password": password}))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let r = r.map_err(|e| format!("sign-in {i} got no answer: {e}"))?;
            Ok::<_, String>((r.status().as_u16(), Instant::now()))
        }));
    }
    // Wait until every unanswered request is inside the server's hash pool.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = gauge(&server, "gatehouse_password_hash_queue_depth").await;
        let running = gauge(&server, "gatehouse_password_hash_in_flight").await;
        let answered = done.load(std::sync::atomic::Ordering::SeqCst) as u64;
        if waiting >= 1 && waiting + running + answered == REQUESTS as u64 {
            break;
        }
        assert!(
            answered < REQUESTS as u64,
            "every sign-in finished before the pool was seen busy"
        );
        assert!(
            Instant::now() < deadline,
            "the sign-ins never queued (waiting {waiting}, running {running})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.signal("TERM");
    let terminated = Instant::now();

    let mut after = 0;
    for task in tasks {
        let (status, at) = task
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}\n{}", server.output()));
        assert!(
            status == 200 || status == 422,
            "in-flight sign-in answered {status}"
        );
        after += usize::from(at > terminated);
    }
    assert!(after >= 1, "no request was still in flight at SIGTERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", server.output());
    // Nothing listens any more.
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", server.public_url))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err());
}
