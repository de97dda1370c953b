//! Token signing keys (sealed with the master key) and Backend API secret keys (hashed).

use super::{classify, Store, StoreError, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSigningKey {
    pub kid: String,
    pub algorithm: String,
    pub sealed_private_key: String,
    pub public_jwk: String,
    pub status: String,
    pub publish_until: Option<i64>,
    pub created_at: i64,
}

pub const KEY_CURRENT: &str = "current";
pub const KEY_PREVIOUS: &str = "previous";

impl Store {
    /// Keys still published: the current one and any previous one not yet past `publish_until`.
    pub async fn published_signing_keys(&self, now: i64) -> StoreResult<Vec<StoredSigningKey>> {
        Ok(sqlx::query_as(
            "SELECT kid, algorithm, sealed_private_key, public_jwk, status, publish_until, created_at \
             FROM signing_keys WHERE status = 'current' OR (status = 'previous' AND publish_until > $1) \
             ORDER BY CASE status WHEN 'current' THEN 0 ELSE 1 END, created_at DESC, kid DESC",
        )
        .bind(now)
        .fetch_all(self.reader())
        .await?)
    }

    /// Installs a new current key; the old current one stays published until `publish_until`.
    /// Several processes may race on first start: only an insert into an empty table with
    /// `only_if_none` wins.
    pub async fn rotate_signing_key(
        &self,
        key: &StoredSigningKey,
        publish_until: i64,
        only_if_none: bool,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if only_if_none {
            let existing: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE status = 'current'")
                    .fetch_one(&mut *tx)
                    .await?;
            if existing > 0 {
                return Ok(false);
            }
        }
        sqlx::query("UPDATE signing_keys SET status = 'previous', publish_until = $1 WHERE status = 'current'")
            .bind(publish_until)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, sealed_private_key, public_jwk, status, publish_until, created_at) \
             VALUES ($1, $2, $3, $4, 'current', NULL, $5)",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.sealed_private_key)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(classify);
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            // Another process installed the first key at the same moment.
            Err(StoreError::Conflict) if only_if_none => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn insert_secret_key(
        &self,
        id: &str,
        key_hash: &str,
        name: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO secret_keys (id, key_hash, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(key_hash)
        .bind(name)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// The id of the secret key with this hash, if any.
    pub async fn secret_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM secret_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(self.reader())
                .await?,
        )
    }

    pub async fn secret_key_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM secret_keys")
            .fetch_one(self.reader())
            .await?)
    }
}
