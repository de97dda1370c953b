//! Outgoing messages. A message is written in the same transaction as the code or link it
//! carries; the delivery worker of any process then claims it with a lease, sends it and
//! records the outcome. With the `log` transport messages stay here for the dev outbox.

use sqlx::{Any, Transaction};

use super::{Backend, Store, StoreResult};

/// Kept for the dev outbox (`log` transport); never sent.
pub const OUTBOX_LOGGED: &str = "logged";
/// Waiting to be sent at `next_attempt_at`.
pub const OUTBOX_PENDING: &str = "pending";
/// Claimed by a worker until its lease ends.
pub const OUTBOX_SENDING: &str = "sending";
pub const OUTBOX_SENT: &str = "sent";
/// A permanent error, or every attempt failed.
pub const OUTBOX_FAILED: &str = "failed";
/// What the message carried expired before it could be sent.
pub const OUTBOX_EXPIRED: &str = "expired";

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
    /// After this the message is worthless (its code or link expired); `None`: never.
    pub expire_at: Option<i64>,
    pub last_error: Option<String>,
}

const OUTBOX_COLUMNS: &str =
    "id, channel, recipient, kind, subject, text_body, html_body, status, \
     attempts, next_attempt_at, created_at, expire_at, last_error";

/// `$first, $first+1, ...` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What sending leaves behind: the bodies (which may carry a code) are erased.
const FINISH: &str = "text_body = '', html_body = '', lease_until = NULL";

impl Store {
    /// Queues a message inside the caller's transaction, so it exists exactly when what
    /// it carries does.
    pub async fn insert_outbox(
        &self,
        tx: &mut Transaction<'static, Any>,
        m: &OutboxMessage,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ({})",
            placeholders(1, 13)
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
        .bind(m.expire_at)
        .bind(&m.last_error)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Logged messages (the dev outbox) newest first, optionally only those to one recipient.
    pub async fn list_outbox(
        &self,
        to: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<OutboxMessage>, i64)> {
        let filter = if to.is_some() {
            "WHERE status = 'logged' AND recipient = $1"
        } else {
            "WHERE status = 'logged'"
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

    /// Claims up to `limit` due messages of the given channels for `worker` until
    /// `lease_until`, counting an attempt for each: pending ones whose time has come and
    /// claimed ones whose lease ran out (their worker died). Concurrent workers never
    /// claim the same message: PostgreSQL skips rows another transaction has locked;
    /// SQLite runs one write at a time.
    pub async fn claim_outbox(
        &self,
        channels: &[&str],
        worker: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', lease_until = $1, claimed_by = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
               WHERE channel IN ({channels}) \
                 AND ((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until <= $3)) \
                 AND (expire_at IS NULL OR expire_at > $3) \
               ORDER BY next_attempt_at LIMIT $4{lock}) \
             RETURNING {OUTBOX_COLUMNS}",
            channels = placeholders(5, channels.len()),
        );
        let mut q = sqlx::query_as::<_, OutboxMessage>(&sql)
            .bind(lease_until)
            .bind(worker)
            .bind(now)
            .bind(limit);
        for c in channels {
            q = q.bind(*c);
        }
        Ok(q.fetch_all(self.writer()).await?)
    }

    /// Records that `worker` sent these messages; returns how many it still held.
    pub async fn mark_outbox_sent(
        &self,
        ids: &[String],
        worker: &str,
        now: i64,
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE outbox SET status = 'sent', finished_at = $1, last_error = NULL, {FINISH} \
             WHERE claimed_by = $2 AND status = 'sending' AND id IN ({})",
            placeholders(3, ids.len())
        );
        let mut q = sqlx::query(&sql).bind(now).bind(worker);
        for id in ids {
            q = q.bind(id);
        }
        Ok(q.execute(self.writer()).await?.rows_affected())
    }

    /// Gives a message up for good (`failed`) after a permanent error or its last attempt.
    pub async fn mark_outbox_failed(
        &self,
        id: &str,
        worker: &str,
        now: i64,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE outbox SET status = 'failed', finished_at = $1, last_error = $2, {FINISH} \
             WHERE id = $3 AND claimed_by = $4 AND status = 'sending'"
        ))
        .bind(now)
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Puts a message back to be tried again at `next_attempt_at`.
    pub async fn retry_outbox(
        &self,
        id: &str,
        worker: &str,
        next_attempt_at: i64,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = $2, lease_until = NULL \
             WHERE id = $3 AND claimed_by = $4 AND status = 'sending'",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Ends the leases `worker` holds, so any process may claim those messages now.
    pub async fn release_outbox(&self, worker: &str, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE claimed_by = $2 AND status = 'sending'",
        )
        .bind(now)
        .bind(worker)
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    /// Marks `expired` every unsent message whose content expired (and that no live
    /// worker holds); returns how many.
    pub async fn expire_outbox(&self, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query(&format!(
            "UPDATE outbox SET status = 'expired', finished_at = $1, {FINISH} \
             WHERE expire_at <= $1 AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))"
        ))
        .bind(now)
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    /// Deletes sent, failed and expired messages finished before `before`.
    pub async fn prune_outbox(&self, before: i64) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM outbox WHERE status IN ('sent', 'failed', 'expired') AND finished_at < $1",
        )
        .bind(before)
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    /// One message by id, whatever its status (for operators and tests).
    pub async fn get_outbox(&self, id: &str) -> StoreResult<Option<OutboxMessage>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Every message with this status, oldest first (for operators and tests).
    pub async fn outbox_with_status(&self, status: &str) -> StoreResult<Vec<OutboxMessage>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = $1 ORDER BY created_at, id"
        ))
        .bind(status)
        .fetch_all(self.writer())
        .await?)
    }

    /// How many messages have each status.
    pub async fn outbox_status_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
                .fetch_all(self.writer())
                .await?,
        )
    }
}
