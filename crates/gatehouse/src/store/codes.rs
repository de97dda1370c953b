//! One-time verification codes, stored only as hashes.

use sqlx::{Any, Transaction};

use super::{Store, StoreResult};

/// A stored code, without its value.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCode {
    pub id: String,
    pub subject: String,
    pub strategy: String,
    pub target: String,
    pub code_hash: String,
    pub attempts: i64,
    pub expire_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
}

impl Store {
    /// Replaces any earlier code for the same subject and strategy (only the newest
    /// counts), inside the caller's transaction (which also queues the message carrying it).
    pub async fn replace_code(
        &self,
        tx: &mut Transaction<'static, Any>,
        c: &StoredCode,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM verification_codes WHERE subject = $1 AND strategy = $2")
            .bind(&c.subject)
            .bind(&c.strategy)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO verification_codes (id, subject, strategy, target, code_hash, attempts, expire_at, \
             consumed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.subject)
        .bind(&c.strategy)
        .bind(&c.target)
        .bind(&c.code_hash)
        .bind(c.attempts)
        .bind(c.expire_at)
        .bind(c.consumed_at)
        .bind(c.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn current_code(
        &self,
        subject: &str,
        strategy: &str,
    ) -> StoreResult<Option<StoredCode>> {
        Ok(sqlx::query_as(
            "SELECT id, subject, strategy, target, code_hash, attempts, expire_at, consumed_at, created_at \
             FROM verification_codes WHERE subject = $1 AND strategy = $2",
        )
        .bind(subject)
        .bind(strategy)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Counts one attempt atomically and returns the new count, or `None` when the code
    /// is gone or already used.
    pub async fn count_code_attempt(&self, id: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE verification_codes SET attempts = attempts + 1 WHERE id = $1 AND consumed_at IS NULL RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Marks the code used; false when another request used it first.
    pub async fn consume_code(&self, id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE verification_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
