//! Real receivers for outgoing messages: an SMTP server on loopback (mailin-embedded,
//! optionally with STARTTLS and AUTH) that keeps what it receives, and an HTTP server
//! speaking the Twilio Messages API shape.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::response::{self, Response};
use mailin_embedded::{AuthMechanism, Handler, Server, SslConfig};

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message: headers and MIME body.
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_string();
                while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(lines.next().unwrap().trim());
                }
                return Some(value);
            }
        }
        None
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The first run of exactly six digits in the subject: the code.
    pub fn code(&self) -> Option<String> {
        six_digits(&self.subject())
    }

    /// The boundary of a multipart message, from its `Content-Type` header.
    fn boundary(&self) -> Option<String> {
        let content_type = self.header("content-type")?;
        let (_, after) = content_type.split_once("boundary=")?;
        let value = after.split(';').next()?.trim().trim_matches('"');
        Some(value.to_string())
    }

    /// The body of the MIME part with this content type, quoted-printable decoded.
    pub fn part(&self, content_type: &str) -> Option<String> {
        let start = self.data.find(&format!("Content-Type: {content_type}"))?;
        let rest = &self.data[start..];
        let (headers, body) = rest.split_once("\r\n\r\n")?;
        // A part ends at the multipart boundary, not at any line starting with `--`:
        // a quoted-printable line of a base64url token can start with `--` too.
        let end = match self.boundary() {
            Some(boundary) => format!("\r\n--{boundary}"),
            None => "\r\n--".to_string(),
        };
        let body = body.split(end.as_str()).next()?;
        Some(if headers.contains("quoted-printable") {
            decode_quoted_printable(body)
        } else {
            body.to_string()
        })
    }
}

/// The first run of exactly six digits.
pub fn six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

fn decode_quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Ok(b) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the test SMTP server behaves.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Time taken to accept each message (after its data arrived).
    pub delay: Duration,
    /// STARTTLS with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH PLAIN/LOGIN with this user and password.
    pub auth: Option<(String, String)>,
    /// Recipients refused with 550 (a permanent error).
    pub refuse: Vec<String>,
    /// Sessions served at once.
    pub threads: u32,
}

#[derive(Clone)]
struct Collect {
    received: Arc<Mutex<Vec<Mail>>>,
    options: SinkOptions,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collect {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.options.refuse.iter().any(|r| r == to) {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _8bit: bool, to: &[String]) -> Response {
        self.from = from.to_string();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if !self.options.delay.is_zero() {
            std::thread::sleep(self.options.delay);
        }
        self.received.lock().unwrap().push(Mail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        });
        response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}

impl Collect {
    fn check(&self, user: &str, password: &str) -> Response {
        match &self.options.auth {
            Some((u, p)) if u == user && p == password => response::AUTH_OK,
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

/// An SMTP server on 127.0.0.1 that keeps every message it accepts. It runs on its own
/// threads until the test process exits.
#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub fn start(options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        Self::start_on(listener, options)
    }

    /// Starts on a port chosen earlier (e.g. one a server was told about while it was down).
    pub fn start_on_port(port: u16, options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP sink port");
        Self::start_on(listener, options)
    }

    fn start_on(listener: TcpListener, options: SinkOptions) -> SmtpSink {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = Collect {
            received: received.clone(),
            options: options.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("sink.test")
            .with_num_threads(if options.threads == 0 {
                8
            } else {
                options.threads
            })
            .with_tcp_listener(listener);
        if let Some((cert, key)) = &options.tls {
            server
                .with_ssl(SslConfig::SelfSigned {
                    cert_path: cert.display().to_string(),
                    key_path: key.display().to_string(),
                })
                .expect("sink TLS");
        }
        if options.auth.is_some() {
            server
                .with_auth(AuthMechanism::Plain)
                .with_auth(AuthMechanism::Login);
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink { addr, received }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn received(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until at least `n` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink received {} of {n} messages within {timeout:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Messages to one recipient.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }
}

/// `[email]` settings that send to `port` on loopback without TLS, and a quick worker.
pub fn smtp_toml(port: u16) -> String {
    format!(
        "[email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}?tls=none\"\nfrom = \"Gatehouse Test <no-reply@gatehouse.test>\"\ntimeout = \"2s\"\n\
         [delivery]\npoll_interval = \"50ms\"\nretry_initial = \"50ms\"\nretry_max = \"200ms\"\n"
    )
}

/// A loopback port with nothing listening on it (a mail server that is down).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A private CA and a server certificate it signed for `localhost` and 127.0.0.1, made
/// with the `openssl` command in `dir`: (CA certificate, server certificate, server key),
/// PEM files.
pub fn private_ca_and_cert(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl is needed to make test certificates");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(
        path("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Gatehouse Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (path("ca.pem"), path("cert.pem"), path("key.pem"))
}

/// One SMS as the Messages API received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: String,
    pub from: String,
    pub body: String,
}

#[derive(Clone)]
struct SmsState {
    sid: String,
    authorization: String,
    accepted: Arc<Mutex<Vec<Sms>>>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    fail_first: Arc<std::sync::atomic::AtomicUsize>,
}

/// An HTTP server on 127.0.0.1 speaking the Twilio Messages API shape: it checks the
/// path, basic auth and form fields, answers `503` to the first `fail_first` valid
/// requests, then `201` and keeps the message.
pub struct SmsApi {
    pub base_url: String,
    state: SmsState,
}

impl SmsApi {
    pub async fn start(sid: &str, token: &str, fail_first: usize) -> SmsApi {
        use axum::routing::post;
        use base64::Engine;
        let state = SmsState {
            sid: sid.to_string(),
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
            ),
            accepted: Arc::default(),
            requests: Arc::default(),
            fail_first: Arc::new(fail_first.into()),
        };
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        SmsApi { base_url, state }
    }

    pub fn accepted(&self) -> Vec<Sms> {
        self.state.accepted.lock().unwrap().clone()
    }

    /// Every request, accepted or not.
    pub fn requests(&self) -> usize {
        self.state
            .requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Sms> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMS API accepted {} of {n} messages within {timeout:?} ({} requests)",
                got.len(),
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn messages(
    axum::extract::State(state): axum::extract::State<SmsState>,
    axum::extract::Path(sid): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::http::StatusCode;
    use serde_json::json;
    use std::sync::atomic::Ordering;
    state.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sid != state.sid || auth != state.authorization {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
        );
    }
    let field = |name: &str| form.get(name).cloned().filter(|v| !v.is_empty());
    let (Some(to), Some(from), Some(body)) = (field("To"), field("From"), field("Body")) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 21604, "message": "A field is missing", "status": 400})),
        );
    };
    if state
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"code": 20500, "message": "Internal failure", "status": 503})),
        );
    }
    state.accepted.lock().unwrap().push(Sms { to, from, body });
    (
        StatusCode::CREATED,
        axum::Json(json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})),
    )
}
