//! The `[email]`, `[sms]` and `[delivery]` sections: how messages leave the instance.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransport {
    /// Kept in the outbox for `GET /v1/dev/outbox`; nothing is sent.
    Log,
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    /// `smtp://user:pass@host:587` (STARTTLS required), `smtps://host:465` (implicit
    /// TLS), `smtp://127.0.0.1:2525?tls=none` (plain, for a local relay or sink).
    pub smtp_url: Option<String>,
    /// The `From` mailbox, e.g. `"Example <no-reply@example.com>"`.
    pub from: String,
    /// A directory whose template files replace the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// A PEM file of extra CA certificates to trust for the SMTP server (private CAs).
    pub tls_ca_file: Option<PathBuf>,
    /// Limit for connecting and for each SMTP command.
    pub timeout: Span,
    /// SMTP connections kept open and used at once, per process.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsTransport {
    /// Kept in the outbox for `GET /v1/dev/outbox`; nothing is sent.
    Log,
    Twilio,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub transport: SmsTransport,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    /// The sending number (E.164) or a messaging service SID (`MG...`).
    pub from: Option<String>,
    /// The Messages API base URL; other providers speaking the same API can be used.
    pub base_url: String,
    /// Limit for one API request.
    pub timeout: Span,
}

/// The outbox worker that every process runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// How often the outbox is checked for due messages besides being woken on enqueue
    /// (messages queued by other processes, retries).
    pub poll_interval: Span,
    /// The first retry delay; each further retry doubles it (with jitter).
    pub retry_initial: Span,
    /// The longest delay between two attempts.
    pub retry_max: Span,
    /// Attempts before a message is marked `failed`.
    pub max_attempts: u32,
    /// How long a claimed message is reserved for the process that claimed it; a crashed
    /// process's messages are retried after this.
    pub lease: Span,
    /// Messages sent at once by one process.
    pub concurrency: usize,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            transport: EmailTransport::Log,
            smtp_url: None,
            from: "Gatehouse <no-reply@localhost>".into(),
            templates_dir: None,
            tls_ca_file: None,
            timeout: Span::from_secs(15),
            max_connections: 4,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            transport: SmsTransport::Log,
            account_sid: None,
            auth_token: None,
            from: None,
            base_url: "https://api.twilio.com".into(),
            timeout: Span::from_secs(15),
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            poll_interval: Span::from_secs(5),
            retry_initial: Span::from_secs(10),
            retry_max: Span::from_secs(600),
            max_attempts: 10,
            lease: Span::from_secs(120),
            concurrency: 8,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS, which the server must offer (`smtp://`).
    StartTls,
    /// No TLS at all (`smtp://...?tls=none`): only for a relay on the same host.
    None,
}

/// A parsed `email.smtp_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

const SMTP_URL_EXPECTED: &str =
    "expected smtp://[user:password@]host[:port] (STARTTLS required, port 587), \
     smtps://[user:password@]host[:port] (implicit TLS, port 465), or \
     smtp://host:port?tls=none (no TLS, for a local relay)";

impl SmtpUrl {
    /// Parses the URL; the error never repeats it (it may hold a password).
    pub fn parse(input: &str) -> Result<SmtpUrl, String> {
        let url = url::Url::parse(input.trim()).map_err(|_| SMTP_URL_EXPECTED.to_string())?;
        let mut tls = match url.scheme() {
            "smtp" => SmtpTls::StartTls,
            "smtps" => SmtpTls::Implicit,
            other => return Err(format!("unknown scheme `{other}`; {SMTP_URL_EXPECTED}")),
        };
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']'),
            _ => return Err(format!("no host; {SMTP_URL_EXPECTED}")),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(format!("unexpected path or fragment; {SMTP_URL_EXPECTED}"));
        }
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "none", SmtpTls::StartTls) => tls = SmtpTls::None,
                ("tls", "required" | "starttls", SmtpTls::StartTls) => {}
                ("tls", "implicit" | "wrapper", SmtpTls::Implicit) => {}
                ("tls", other, _) => {
                    return Err(format!(
                        "`tls={other}` does not fit the `{}` scheme; {SMTP_URL_EXPECTED}",
                        url.scheme()
                    ))
                }
                (other, _, _) => {
                    return Err(format!(
                        "unknown parameter `{other}` (only `tls` is known); {SMTP_URL_EXPECTED}"
                    ))
                }
            }
        }
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls => 587,
            SmtpTls::None => 25,
        });
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| "the user or password is not valid UTF-8".to_string())
        };
        let username = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && username.is_none() {
            return Err(format!("a password needs a user; {SMTP_URL_EXPECTED}"));
        }
        Ok(SmtpUrl {
            host: host.to_string(),
            port,
            tls,
            username,
            password,
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Whether `from` is an E.164 number or a messaging service SID.
fn valid_sms_from(from: &str) -> bool {
    let e164 = from.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    });
    let service =
        from.starts_with("MG") && from.len() > 2 && from.bytes().all(|b| b.is_ascii_alphanumeric());
    e164 || service
}

fn bad(key: &str, expected: &str) -> Result<(), ConfigError> {
    Err(ConfigError(format!("`{key}`: {expected}")))
}

impl EmailConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "email.from",
                "expected a mailbox such as \"Example <no-reply@example.com>\" or \"no-reply@example.com\"",
            );
        }
        if self.timeout.0 < Duration::from_millis(100) {
            return bad("email.timeout", "expected at least \"100ms\"");
        }
        if self.max_connections == 0 {
            return bad("email.max_connections", "expected at least 1");
        }
        if let Some(dir) = &self.templates_dir {
            if !dir.is_dir() {
                return bad(
                    "email.templates_dir",
                    &format!("{} is not a directory", dir.display()),
                );
            }
        }
        if let Some(file) = &self.tls_ca_file {
            if !file.is_file() {
                return bad(
                    "email.tls_ca_file",
                    &format!("{} is not a readable PEM file", file.display()),
                );
            }
        }
        if self.transport == EmailTransport::Smtp {
            match &self.smtp_url {
                None => {
                    return bad(
                        "email.smtp_url",
                        &format!("required with transport = \"smtp\"; {SMTP_URL_EXPECTED}"),
                    )
                }
                Some(url) => {
                    if let Err(e) = SmtpUrl::parse(url) {
                        return bad("email.smtp_url", &e);
                    }
                }
            }
        }
        Ok(())
    }

    /// The parsed SMTP URL when the transport is `smtp` (validated at load).
    pub fn smtp(&self) -> Option<SmtpUrl> {
        match self.transport {
            EmailTransport::Smtp => self
                .smtp_url
                .as_deref()
                .and_then(|u| SmtpUrl::parse(u).ok()),
            EmailTransport::Log => None,
        }
    }
}

impl SmsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return bad(
                    "sms.base_url",
                    "expected an http(s) URL, e.g. \"https://api.twilio.com\"",
                )
            }
        }
        if self.timeout.0 < Duration::from_millis(100) {
            return bad("sms.timeout", "expected at least \"100ms\"");
        }
        if self.transport == SmsTransport::Twilio {
            let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
            if !present(&self.account_sid) {
                return bad(
                    "sms.account_sid",
                    "required with transport = \"twilio\" (e.g. \"AC...\")",
                );
            }
            if self
                .account_sid
                .as_deref()
                .is_some_and(|s| !s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return bad(
                    "sms.account_sid",
                    "expected letters and digits only (e.g. \"AC...\")",
                );
            }
            if !present(&self.auth_token) {
                return bad("sms.auth_token", "required with transport = \"twilio\"");
            }
            match &self.from {
                Some(from) if valid_sms_from(from) => {}
                _ => {
                    return bad(
                        "sms.from",
                        "required with transport = \"twilio\": an E.164 number such as \"+14155550100\" or a messaging service SID (\"MG...\")",
                    )
                }
            }
        }
        Ok(())
    }
}

impl DeliveryConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let ms = Duration::from_millis;
        if self.poll_interval.0 < ms(10) {
            return bad("delivery.poll_interval", "expected at least \"10ms\"");
        }
        if self.retry_initial.0 < ms(10) {
            return bad("delivery.retry_initial", "expected at least \"10ms\"");
        }
        if self.retry_max.0 < self.retry_initial.0 {
            return bad(
                "delivery.retry_max",
                "expected at least `delivery.retry_initial`",
            );
        }
        if self.max_attempts == 0 {
            return bad("delivery.max_attempts", "expected at least 1");
        }
        if self.lease.0 < Duration::from_secs(1) {
            return bad("delivery.lease", "expected at least \"1s\"");
        }
        if !(1..=256).contains(&self.concurrency) {
            return bad("delivery.concurrency", "expected 1 to 256");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn err(toml: &str) -> String {
        Config::from_toml_str(toml).unwrap_err().0
    }

    #[test]
    fn smtp_urls() {
        let u = SmtpUrl::parse("smtp://user%40x:p%2Fss@mail.example.com").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("mail.example.com", 587, SmtpTls::StartTls)
        );
        assert_eq!(u.username.as_deref(), Some("user@x"));
        assert_eq!(u.password.as_deref(), Some("p/ss"));
        assert!(!format!("{u:?}").contains("p/ss"));
        let u = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert_eq!((u.port, u.tls), (465, SmtpTls::Implicit));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 2525, SmtpTls::None)
        );
        assert_eq!(u.username, None);
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://host?tls=maybe",
            "smtps://host?tls=none",
            "smtp://host?timeout=3",
            "smtp://host/path",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_transport_needs_a_valid_url_and_from() {
        let e = err("[email]\ntransport = \"smtp\"\n");
        assert!(
            e.contains("`email.smtp_url`") && e.contains("required"),
            "{e}"
        );
        let e =
            err("[email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://u:hunter2@host?tls=maybe\"\n");
        assert!(
            e.contains("`email.smtp_url`") && e.contains("tls=maybe"),
            "{e}"
        );
        assert!(
            !e.contains("hunter2"),
            "the password is never repeated: {e}"
        );
        let e = err(
            "[email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://host\"\nfrom = \"not a mailbox\"\n",
        );
        assert!(e.contains("`email.from`"), "{e}");
        let e = err("[email]\ntransport = \"carrier-pigeon\"\n");
        assert!(e.contains("email.transport"), "{e}");
        let e = err("[email]\ntemplates_dir = \"/no/such/dir\"\n");
        assert!(e.contains("`email.templates_dir`"), "{e}");
        let c = Config::from_toml_str(
            "[email]\ntransport = \"smtp\"\nsmtp_url = \"smtps://mail.example.com\"\nfrom = \"Example <a@example.com>\"\n",
        )
        .unwrap();
        assert_eq!(c.email.smtp().unwrap().tls, SmtpTls::Implicit);
    }

    #[test]
    fn twilio_needs_credentials_and_sender() {
        let e = err("[sms]\ntransport = \"twilio\"\n");
        assert!(e.contains("`sms.account_sid`"), "{e}");
        let e = err("[sms]\ntransport = \"twilio\"\naccount_sid = \"AC1\"\n");
        assert!(e.contains("`sms.auth_token`"), "{e}");
        let e = err("[sms]\ntransport = \"twilio\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"555\"\n");
        assert!(e.contains("`sms.from`"), "{e}");
        let e = err("[sms]\nbase_url = \"api.twilio.com\"\n");
        assert!(e.contains("`sms.base_url`"), "{e}");
        Config::from_toml_str(
            "[sms]\ntransport = \"twilio\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"+14155550100\"\n",
        )
        .unwrap();
    }

    #[test]
    fn unknown_delivery_keys_are_errors() {
        for (toml, key) in [
            ("[email]\nsmtp_host = \"x\"\n", "smtp_host"),
            ("[sms]\nsid = \"x\"\n", "sid"),
            ("[delivery]\nretries = 3\n", "retries"),
        ] {
            let e = err(toml);
            assert!(e.contains(key), "{e}");
        }
        let e = err("[delivery]\npoll_interval = \"soon\"\n");
        assert!(e.contains("delivery.poll_interval"), "{e}");
        let e = err("[delivery]\nretry_initial = \"1m\"\nretry_max = \"10s\"\n");
        assert!(e.contains("`delivery.retry_max`"), "{e}");
    }
}
