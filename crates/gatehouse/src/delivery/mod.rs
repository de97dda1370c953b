//! Outgoing email and SMS. Every message is written to the outbox table first; with the
//! `log` transport it stays there for the dev outbox (`GET /v1/dev/outbox`) and only its
//! kind and masked recipient are logged — never its body, which may carry a code.

use crate::app::App;
use crate::config::EmailTransport;
use crate::crypto::ids;
use crate::domain::identifiers::mask_email;
use crate::error::Error;
use crate::store::OutboxMessage;

/// One message to send.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Queues an email; with the `log` transport it is delivered to the dev outbox at once.
pub async fn send_email(app: &App, message: Message) -> Result<(), Error> {
    let now = app.now();
    let status = match app.config.email.transport {
        EmailTransport::Log => "logged",
        EmailTransport::Smtp => "pending",
    };
    app.store
        .insert_outbox(&OutboxMessage {
            id: ids::new_id("msg"),
            channel: "email".into(),
            recipient: message.to.clone(),
            kind: message.kind.into(),
            subject: message.subject,
            text_body: message.text,
            html_body: message.html,
            status: status.into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        })
        .await?;
    tracing::info!(kind = message.kind, to = %mask_email(&message.to), "email queued");
    Ok(())
}

/// Minimal HTML escaping for values placed in message bodies.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The verification-code email.
pub fn code_email(to: &str, app_name: &str, code: &str) -> Message {
    let app_name_html = escape_html(app_name);
    Message {
        to: to.to_string(),
        kind: "email_code",
        subject: format!("{code} is your {app_name} verification code"),
        text: format!("Your {app_name} verification code is {code}.\n\nIt expires in 10 minutes. If you did not ask for it, ignore this email.\n"),
        html: format!(
            "<p>Your {app_name_html} verification code is</p><p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">{code}</p><p>It expires in 10 minutes. If you did not ask for it, ignore this email.</p>"
        ),
    }
}
