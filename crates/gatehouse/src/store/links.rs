//! Magic links, stored only as the hash of their token.

use sqlx::{Any, Transaction};

use super::{Store, StoreResult};

/// A stored magic link, without its token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredLink {
    pub id: String,
    pub token_hash: String,
    /// `sign_in` or `sign_up`.
    pub flow: String,
    /// The attempt the link verifies.
    pub subject: String,
    pub client_id: String,
    pub target: String,
    pub redirect_url: String,
    pub expire_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
}

const LINK_COLUMNS: &str =
    "id, token_hash, flow, subject, client_id, target, redirect_url, expire_at, \
    consumed_at, created_at";

impl Store {
    /// The newest link of an attempt, used or not.
    pub async fn current_link(&self, subject: &str) -> StoreResult<Option<StoredLink>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM magic_links WHERE subject = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(subject)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Stores a link inside the caller's transaction (which also queues the email carrying
    /// it); earlier unused links of the same attempt stop working.
    pub async fn replace_link(
        &self,
        tx: &mut Transaction<'static, Any>,
        l: &StoredLink,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE magic_links SET consumed_at = $1 WHERE subject = $2 AND consumed_at IS NULL",
        )
        .bind(l.created_at)
        .bind(&l.subject)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO magic_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&l.id)
        .bind(&l.token_hash)
        .bind(&l.flow)
        .bind(&l.subject)
        .bind(&l.client_id)
        .bind(&l.target)
        .bind(&l.redirect_url)
        .bind(l.expire_at)
        .bind(l.consumed_at)
        .bind(l.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn link_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<StoredLink>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM magic_links WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Uses a link that is unused and unexpired at `now`; false when another request used
    /// it first (or it expired, or a newer link replaced it).
    pub async fn consume_link(&self, id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE magic_links SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL AND expire_at > $1",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes links that expired before `before` (housekeeping).
    pub async fn prune_links(&self, before: i64) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM magic_links WHERE expire_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?
            .rows_affected())
    }
}
