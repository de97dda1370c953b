//! The one interface every transport that really sends implements.

use async_trait::async_trait;

use crate::store::OutboxMessage;

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later: the server is down, busy, or answered "try later".
    Transient(String),
    /// Will never succeed as it is: the recipient was refused, the credentials or the
    /// request are wrong. The message is marked `failed` at once.
    Permanent(String),
}

impl SendError {
    pub fn reason(&self) -> &str {
        match self {
            SendError::Transient(r) | SendError::Permanent(r) => r,
        }
    }
}

/// Delivers one outbox message over some transport (SMTP, an SMS API).
#[async_trait]
pub trait Sender: Send + Sync + std::fmt::Debug {
    /// Sends it; an `Ok` means the server accepted the message.
    async fn send(&self, message: &OutboxMessage) -> Result<(), SendError>;
}
