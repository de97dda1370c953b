//! Helpers for the passwordless and verification flow tests: a server that sends email
//! to a real SMTP server and SMS to a server speaking the Twilio Messages API, both on
//! loopback, and readers for the codes and links those received. Used with
//! `mod support; mod delivery_support;`.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::delivery_support::{six_digits, Mail, SinkOptions, Sms, SmsApi, SmtpSink};
use crate::support::{Browser, DbKind, Resp, TestServer};

pub const WAIT: Duration = Duration::from_secs(20);
pub const MINUTE: i64 = 60_000;

/// A server whose email and SMS go to receivers on loopback.
pub struct Flows {
    pub server: TestServer,
    pub sink: SmtpSink,
    pub sms: SmsApi,
}

impl Flows {
    /// `auth` is the body of the `[auth]` table; `extra` adds other tables. Rate limits
    /// are off unless `extra` has a `[rate_limits]` table.
    pub async fn start(kind: DbKind, auth: &str, extra: &str) -> Flows {
        let sink = SmtpSink::start(SinkOptions::default());
        let sms = SmsApi::start("AC0123456789", "tok3n", 0).await;
        let rate_limits = if extra.contains("[rate_limits]") {
            ""
        } else {
            "[rate_limits]\nenabled = false\n"
        };
        let toml = format!(
            "{rate_limits}[auth]\n{auth}\n{extra}\n\
             [email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{}?tls=none\"\nfrom = \"Gatehouse <no-reply@gatehouse.test>\"\ntimeout = \"2s\"\n\
             [sms]\ntransport = \"twilio\"\naccount_sid = \"AC0123456789\"\nauth_token = \"tok3n\"\nfrom = \"+14155550100\"\nbase_url = \"{}\"\n\
             [delivery]\npoll_interval = \"50ms\"\nretry_initial = \"50ms\"\nretry_max = \"200ms\"\n",
            sink.port(),
            sms.base_url
        );
        let server = TestServer::start_with(kind, &toml).await;
        Flows { server, sink, sms }
    }

    /// Mail received so far for `to`.
    pub fn mail_count(&self, to: &str) -> usize {
        self.sink.to(to).len()
    }

    /// Waits for the mail to `to` that follows the first `seen` ones.
    pub async fn mail_after(&self, to: &str, seen: usize) -> Mail {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(mail) = self.sink.to(to).into_iter().nth(seen) {
                return mail;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no mail #{} to {to} within {WAIT:?}",
                seen + 1
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The code in the mail to `to` that follows the first `seen` ones.
    pub async fn code_after(&self, to: &str, seen: usize) -> String {
        let mail = self.mail_after(to, seen).await;
        mail.code()
            .unwrap_or_else(|| panic!("no code in {:?}", mail.subject()))
    }

    /// The path and query (`/v1/verify?token=...`) of the magic link in the mail to `to`
    /// that follows the first `seen` ones.
    pub async fn link_after(&self, to: &str, seen: usize) -> String {
        let mail = self.mail_after(to, seen).await;
        let text = mail.part("text/plain").expect("a text part");
        link_in(&text, &self.server.public_url)
    }

    /// SMS received so far for `to`.
    pub fn sms_count(&self, to: &str) -> usize {
        self.sms.accepted().iter().filter(|m| m.to == to).count()
    }

    /// Waits for the SMS to `to` that follows the first `seen` ones.
    pub async fn sms_after(&self, to: &str, seen: usize) -> Sms {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(sms) = self
                .sms
                .accepted()
                .into_iter()
                .filter(|m| m.to == to)
                .nth(seen)
            {
                return sms;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no SMS #{} to {to} within {WAIT:?} ({} requests)",
                seen + 1,
                self.sms.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The code in the SMS to `to` that follows the first `seen` ones.
    pub async fn sms_code_after(&self, to: &str, seen: usize) -> String {
        let sms = self.sms_after(to, seen).await;
        six_digits(&sms.body).unwrap_or_else(|| panic!("no code in {:?}", sms.body))
    }
}

/// The `/v1/verify?token=...` part of the link to `public_url` in a message text.
pub fn link_in(text: &str, public_url: &str) -> String {
    let prefix = format!("{public_url}/v1/verify?token=");
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link to {prefix} in {text}"));
    let link: String = text[start + public_url.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let token = link.trim_start_matches("/v1/verify?token=");
    assert!(token.len() >= 43, "a 256-bit token: {link}");
    link
}

/// Starts a sign-in for `identifier`; returns the sign-in object.
pub async fn start_sign_in(browser: &Browser, identifier: &str) -> Value {
    let r = browser
        .post("/v1/client/sign_ins", json!({ "identifier": identifier }))
        .await;
    in_status(&r, "needs_first_factor")
}

/// Asserts a `200` whose object has this `status`; returns the object.
#[track_caller]
pub fn in_status(r: &Resp, status: &str) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], status, "{}", r.body);
    r.body["response"].clone()
}

/// Which factor of a sign-in a step is about.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    First,
    Second,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::First => "first_factor",
            Stage::Second => "second_factor",
        }
    }
}

/// `prepare_first_factor` / `prepare_second_factor` with just a strategy.
pub fn prepare<'a>(
    browser: &'a Browser,
    id: &'a str,
    stage: Stage,
    strategy: &str,
) -> impl Future<Output = Resp> + 'a {
    let action = format!("prepare_{}", stage.name());
    let body = json!({ "strategy": strategy });
    async move { sign_in_step(browser, id, &action, body).await }
}

/// `attempt_first_factor` / `attempt_second_factor` with a code. The future borrows
/// only the browser and the id, so closures can make one from a code.
pub fn attempt<'a>(
    browser: &'a Browser,
    id: &'a str,
    stage: Stage,
    strategy: &str,
    code: &str,
) -> impl Future<Output = Resp> + 'a {
    let action = format!("attempt_{}", stage.name());
    let body = json!({ "strategy": strategy, "code": code });
    async move { sign_in_step(browser, id, &action, body).await }
}

/// The first supported first factor with this strategy.
pub fn factor<'a>(sign_in: &'a Value, strategy: &str) -> &'a Value {
    sign_in["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == strategy)
        .unwrap_or_else(|| panic!("{strategy} is not offered: {sign_in}"))
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// `POST /v1/client/sign_ins/{id}/<action>` with `body`.
pub async fn sign_in_step(browser: &Browser, id: &str, action: &str, body: Value) -> Resp {
    browser
        .post(&format!("/v1/client/sign_ins/{id}/{action}"), body)
        .await
}

/// `POST /v1/client/sign_ups/{id}/<action>` with `body`.
pub async fn sign_up_step(browser: &Browser, id: &str, action: &str, body: Value) -> Resp {
    browser
        .post(&format!("/v1/client/sign_ups/{id}/{action}"), body)
        .await
}

/// A sign-up's `prepare_verification` with just a strategy.
pub fn sign_up_prepare<'a>(
    browser: &'a Browser,
    id: &'a str,
    strategy: &str,
) -> impl Future<Output = Resp> + 'a {
    let body = json!({ "strategy": strategy });
    async move { sign_up_step(browser, id, "prepare_verification", body).await }
}

/// A sign-up's `attempt_verification` with a code.
pub fn sign_up_attempt<'a>(
    browser: &'a Browser,
    id: &'a str,
    strategy: &str,
    code: &str,
) -> impl Future<Output = Resp> + 'a {
    let body = json!({ "strategy": strategy, "code": code });
    async move { sign_up_step(browser, id, "attempt_verification", body).await }
}

#[track_caller]
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.error_code(), code, "{}", r.body);
    crate::support::assert_error_shape(&r.body);
}

/// Asserts a complete sign-in or sign-up; returns its session id.
#[track_caller]
pub fn completed(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete", "{}", r.body);
    let session = r.body["response"]["created_session_id"]
        .as_str()
        .expect("a session")
        .to_string();
    assert_eq!(
        r.body["client"]["last_active_session_id"], session,
        "{}",
        r.body
    );
    session
}

/// The user a complete sign-up created, as the Backend API shows it.
pub async fn created_user(server: &TestServer, sign_up: &Resp) -> Value {
    let user_id = sign_up.body["response"]["created_user_id"]
        .as_str()
        .expect("a created user");
    let r = server.admin().get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A six-digit code other than `code`.
pub fn other_code(code: &str) -> String {
    if code == "000000" {
        "111111".into()
    } else {
        "000000".into()
    }
}
