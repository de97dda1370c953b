//! Outgoing email and SMS.
//!
//! A flow never sends anything itself: it queues a message in the outbox table in the
//! same transaction that stores the code or link the message carries
//! ([`enqueue_code_email`], [`enqueue_link_email`], [`enqueue_sms`], then
//! [`Queued::commit`]), so a message exists exactly when what it carries does, and a
//! request never waits on a mail server. The [`worker`] of every process then claims due
//! messages with a lease, sends them through a [`Sender`] (SMTP, the Twilio Messages
//! API) and retries failures with backoff. With the `log` transport a message is kept in
//! the outbox for the dev outbox (`GET /v1/dev/outbox`) instead; only its kind and masked
//! recipient are logged — never its body, which carries a code or link.

mod retry;
pub mod sealing;
mod sender;
mod smtp;
pub(crate) mod templates;
mod twilio;
pub mod worker;

use std::sync::Arc;

use sqlx::{Any, Transaction};
use tokio::sync::Notify;

use crate::app::App;
use crate::config::{Config, EmailTransport, SmsTransport};
use crate::crypto::ids;
use crate::domain::identifiers::{mask_email, mask_phone};
use crate::error::Error;
use crate::store::{OutboxMessage, StoreError, OUTBOX_LOGGED, OUTBOX_PENDING};

pub use retry::backoff_ms;
pub use sender::{SendError, Sender};
pub use smtp::SmtpSender;
pub use templates::{Payload, Rendered, Templates};
pub use twilio::TwilioSender;

pub const CHANNEL_EMAIL: &str = "email";
pub const CHANNEL_SMS: &str = "sms";

/// What a message is; each kind has its own templates (named after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A verification or sign-in code by email.
    EmailCode,
    /// A password reset code by email.
    ResetPasswordCode,
    /// A magic link by email.
    EmailLink,
    /// A verification or sign-in code by SMS.
    PhoneCode,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::EmailCode,
        Kind::ResetPasswordCode,
        Kind::EmailLink,
        Kind::PhoneCode,
    ];

    /// The template name and the outbox `kind`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::EmailCode => "email_code",
            Kind::ResetPasswordCode => "reset_password_code",
            Kind::EmailLink => "email_link",
            Kind::PhoneCode => "phone_code",
        }
    }

    pub fn is_sms(self) -> bool {
        self == Kind::PhoneCode
    }

    pub fn channel(self) -> &'static str {
        if self.is_sms() {
            CHANNEL_SMS
        } else {
            CHANNEL_EMAIL
        }
    }
}

/// What an emailed code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeEmail {
    /// Verifying an address, or signing in with a code (`email_code` template).
    Verification,
    /// Resetting a password (`reset_password_code` template).
    ResetPassword,
}

impl CodeEmail {
    fn kind(self) -> Kind {
        match self {
            CodeEmail::Verification => Kind::EmailCode,
            CodeEmail::ResetPassword => Kind::ResetPasswordCode,
        }
    }
}

/// A write transaction of the store.
pub type Tx = Transaction<'static, Any>;

/// The per-process delivery services: templates, the senders of the configured
/// transports, and the worker's wake-up signal.
#[derive(Debug)]
pub struct Delivery {
    templates: Templates,
    email: Option<Arc<dyn Sender>>,
    sms: Option<Arc<dyn Sender>>,
    wake: Arc<Notify>,
    worker_id: String,
}

impl Delivery {
    /// Loads the templates and builds the configured senders (nothing connects yet).
    pub fn from_config(config: &Config) -> anyhow::Result<Delivery> {
        let templates = Templates::load(
            config.email.templates_dir.as_deref(),
            &config.application_name,
        )?;
        let email: Option<Arc<dyn Sender>> = match (config.email.transport, config.email.smtp()) {
            (EmailTransport::Smtp, Some(url)) => {
                Some(Arc::new(SmtpSender::new(&config.email, &url)?))
            }
            _ => None,
        };
        let sms: Option<Arc<dyn Sender>> = match config.sms.transport {
            SmsTransport::Twilio => Some(Arc::new(TwilioSender::new(&config.sms)?)),
            SmsTransport::Log => None,
        };
        Ok(Delivery {
            templates,
            email,
            sms,
            wake: Arc::new(Notify::new()),
            worker_id: ids::new_id("wkr"),
        })
    }

    /// The sender of a channel; `None` when its transport is `log`.
    pub fn sender(&self, channel: &str) -> Option<&Arc<dyn Sender>> {
        match channel {
            CHANNEL_EMAIL => self.email.as_ref(),
            CHANNEL_SMS => self.sms.as_ref(),
            _ => None,
        }
    }

    /// The channels this process sends (the others are only logged).
    pub fn sending_channels(&self) -> Vec<&'static str> {
        [CHANNEL_EMAIL, CHANNEL_SMS]
            .into_iter()
            .filter(|c| self.sender(c).is_some())
            .collect()
    }

    /// Whether some channel keeps its messages for the dev outbox.
    pub fn logs_any(&self) -> bool {
        self.email.is_none() || self.sms.is_none()
    }

    /// This process's worker, as recorded on the messages it claims.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Wakes this process's worker (after a commit that queued messages).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

/// Messages queued in a transaction that is not committed yet.
#[must_use = "commit the transaction with `Queued::commit` (or commit it and call `wake`)"]
pub struct Queued {
    wake: Option<Arc<Notify>>,
}

impl Queued {
    /// Nothing was queued: committing only commits.
    pub fn nothing() -> Queued {
        Queued { wake: None }
    }

    /// Commits the transaction that queued the message, then wakes the worker.
    pub async fn commit(self, tx: Tx) -> Result<(), Error> {
        tx.commit().await.map_err(StoreError::from)?;
        self.wake();
        Ok(())
    }

    /// Wakes the worker; call it after the transaction committed.
    pub fn wake(self) {
        if let Some(wake) = self.wake {
            wake.notify_one();
        }
    }
}

/// Queues an email carrying a one-time code, inside `tx`.
pub async fn enqueue_code_email(
    app: &App,
    tx: &mut Tx,
    to: &str,
    what: CodeEmail,
    code: &str,
    expire_at: i64,
) -> Result<Queued, Error> {
    enqueue(app, tx, what.kind(), to, Payload::Code(code), expire_at).await
}

/// Queues an email carrying a magic link (`url`, already holding its token), inside `tx`.
pub async fn enqueue_link_email(
    app: &App,
    tx: &mut Tx,
    to: &str,
    url: &str,
    expire_at: i64,
) -> Result<Queued, Error> {
    enqueue(app, tx, Kind::EmailLink, to, Payload::Url(url), expire_at).await
}

/// Queues an SMS carrying a one-time code to an E.164 number, inside `tx`.
pub async fn enqueue_sms(
    app: &App,
    tx: &mut Tx,
    to: &str,
    code: &str,
    expire_at: i64,
) -> Result<Queued, Error> {
    enqueue(app, tx, Kind::PhoneCode, to, Payload::Code(code), expire_at).await
}

async fn enqueue(
    app: &App,
    tx: &mut Tx,
    kind: Kind,
    to: &str,
    payload: Payload<'_>,
    expire_at: i64,
) -> Result<Queued, Error> {
    let now = app.now();
    let minutes = ((expire_at - now).max(0) + 59_999) / 60_000;
    let rendered = app
        .delivery
        .templates
        .render(kind, to, payload, minutes)
        .map_err(|e| {
            tracing::error!(kind = kind.name(), error = %e, "could not render a message");
            Error::internal()
        })?;
    let channel = kind.channel();
    let sends = app.delivery.sender(channel).is_some();
    let mut message = OutboxMessage {
        id: ids::new_id("msg"),
        channel: channel.into(),
        recipient: to.into(),
        kind: kind.name().into(),
        subject: rendered.subject,
        text_body: rendered.text,
        html_body: rendered.html,
        status: if sends { OUTBOX_PENDING } else { OUTBOX_LOGGED }.into(),
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        expire_at: Some(expire_at),
        last_error: None,
    };
    sealing::seal(&app.master_key, &mut message);
    app.store.insert_outbox(tx, &message).await?;
    let to = mask_recipient(channel, to);
    if sends {
        tracing::info!(kind = kind.name(), to = %to, "message queued");
    } else {
        tracing::info!(kind = kind.name(), to = %to, "message kept in the dev outbox (log transport)");
    }
    Ok(Queued {
        wake: sends.then(|| app.delivery.wake_signal()),
    })
}

/// A recipient as logs show it: `a***@example.com`, `+*********23`.
pub fn mask_recipient(channel: &str, to: &str) -> String {
    if channel == CHANNEL_SMS {
        mask_phone(to)
    } else {
        mask_email(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_masked() {
        assert_eq!(
            mask_recipient(CHANNEL_EMAIL, "ada@example.com"),
            "a***@example.com"
        );
        assert_eq!(mask_recipient(CHANNEL_SMS, "+14155550123"), "+*********23");
    }
}
