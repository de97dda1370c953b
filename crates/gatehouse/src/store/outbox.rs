//! Outgoing messages. With the `log` transport they stay here for the dev outbox.

use super::{Store, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

const OUTBOX_COLUMNS: &str =
    "id, channel, recipient, kind, subject, text_body, html_body, status, attempts, next_attempt_at, created_at";

impl Store {
    pub async fn insert_outbox(&self, m: &OutboxMessage) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&m.id)
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(&m.kind)
        .bind(&m.subject)
        .bind(&m.text_body)
        .bind(&m.html_body)
        .bind(&m.status)
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(m.created_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Messages newest first, optionally only those to one recipient.
    pub async fn list_outbox(
        &self,
        to: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<OutboxMessage>, i64)> {
        let filter = if to.is_some() {
            "WHERE recipient = $1"
        } else {
            ""
        };
        let count_sql = format!("SELECT COUNT(*) FROM outbox {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox {filter} ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {offset}");
        let mut list = sqlx::query_as::<_, OutboxMessage>(&sql);
        if let Some(to) = to {
            count = count.bind(to.to_string());
            list = list.bind(to.to_string());
        }
        let total = count.fetch_one(self.reader()).await?;
        Ok((list.fetch_all(self.reader()).await?, total))
    }
}
