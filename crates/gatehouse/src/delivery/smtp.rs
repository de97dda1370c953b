//! Email over SMTP with lettre: tokio, rustls (aws-lc-rs), pooled connections reused
//! across messages, a timeout on connecting and on every command.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Semaphore;

use super::sender::{SendError, Sender};
use crate::config::{EmailConfig, SmtpTls, SmtpUrl};
use crate::store::OutboxMessage;

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// At most `max_connections` messages in flight, so at most that many connections.
    slots: Arc<Semaphore>,
    server: String,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("server", &self.server)
            .finish()
    }
}

impl SmtpSender {
    /// Builds the transport; nothing connects until the first message.
    pub fn new(config: &EmailConfig, url: &SmtpUrl) -> anyhow::Result<SmtpSender> {
        let from: Mailbox = config.from.parse().context("`email.from`")?;
        let tls = match url.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(config, &url.host)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(config, &url.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .tls(tls)
            .timeout(Some(config.timeout.0))
            .pool_config(PoolConfig::new().max_size(config.max_connections));
        if let Some(user) = &url.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                url.password.clone().unwrap_or_default(),
            ));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            from,
            slots: Arc::new(Semaphore::new(config.max_connections as usize)),
            server: format!("{}:{}", url.host, url.port),
        })
    }

    fn message(&self, m: &OutboxMessage) -> Result<Message, SendError> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|_| SendError::Permanent("the recipient is not a valid address".into()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(m.text_body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(m.html_body.clone()),
                    ),
            )
            .map_err(|e| SendError::Permanent(format!("could not build the message: {e}")))
    }
}

fn tls_parameters(config: &EmailConfig, host: &str) -> anyhow::Result<TlsParameters> {
    let mut params = TlsParameters::builder(host.to_string());
    if let Some(path) = &config.tls_ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("`email.tls_ca_file`: reading {}", path.display()))?;
        let cert = Certificate::from_pem(&pem).with_context(|| {
            format!(
                "`email.tls_ca_file`: {} is not a PEM certificate",
                path.display()
            )
        })?;
        params = params.add_root_certificate(cert);
    }
    params.build().context("SMTP TLS settings")
}

#[async_trait]
impl Sender for SmtpSender {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let message = self.message(m)?;
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SendError::Transient("shutting down".into()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!(
                "{} refused the message: {e}",
                self.server
            ))),
            Err(e) => Err(SendError::Transient(format!("{}: {e}", self.server))),
        }
    }
}
