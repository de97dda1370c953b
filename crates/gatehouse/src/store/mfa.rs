//! TOTP secrets (sealed) and backup codes (hashed), with the user's MFA flags kept in step.

use super::{Store, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTotp {
    pub user_id: String,
    pub sealed_secret: String,
    pub verified: i64,
    pub last_used_step: Option<i64>,
    pub created_at: i64,
}

impl Store {
    pub async fn totp_of(&self, user_id: &str) -> StoreResult<Option<StoredTotp>> {
        Ok(sqlx::query_as(
            "SELECT user_id, sealed_secret, verified, last_used_step, created_at FROM totp_secrets WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Stores a pending (unverified) secret, replacing a pending one. An enabled secret
    /// is never replaced: returns false then.
    pub async fn put_pending_totp(
        &self,
        user_id: &str,
        sealed: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO totp_secrets (user_id, sealed_secret, verified, last_used_step, created_at, updated_at) \
             VALUES ($1, $2, 0, NULL, $3, $3) ON CONFLICT (user_id) DO UPDATE SET \
             sealed_secret = excluded.sealed_secret, created_at = excluded.created_at, \
             updated_at = excluded.updated_at WHERE totp_secrets.verified = 0",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Accepts time step `step` for the user: true only when it is later than every step
    /// accepted before. One atomic update, so concurrent attempts with the same code (in
    /// any number of processes) let exactly one through. `enable` also turns a pending
    /// secret on, and replaces the user's backup codes with `codes` (hashes), in the
    /// same transaction.
    pub async fn accept_totp_step(
        &self,
        user_id: &str,
        step: i64,
        enable: Option<&[(String, String)]>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let required = if enable.is_some() { 0 } else { 1 };
        let r = sqlx::query(
            "UPDATE totp_secrets SET last_used_step = $1, verified = 1, updated_at = $2 \
             WHERE user_id = $3 AND verified = $4 AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .bind(step)
        .bind(now)
        .bind(user_id)
        .bind(required)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(codes) = enable {
            replace_backup_codes(&mut tx, user_id, codes, now).await?;
            sqlx::query("UPDATE users SET totp_enabled = 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces every backup code of the user.
    pub async fn replace_backup_codes(
        &self,
        user_id: &str,
        codes: &[(String, String)],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        replace_backup_codes(&mut tx, user_id, codes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses one backup code: true when it existed unused (once, even under concurrency).
    pub async fn use_backup_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE users SET backup_code_enabled = CASE WHEN EXISTS (SELECT 1 FROM backup_codes \
             WHERE user_id = $1 AND used_at IS NULL) THEN 1 ELSE 0 END WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes TOTP and backup codes.
    pub async fn delete_mfa(&self, user_id: &str, now: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for sql in [
            "DELETE FROM totp_secrets WHERE user_id = $1",
            "DELETE FROM backup_codes WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE users SET totp_enabled = 0, backup_code_enabled = 0, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new first-factor time for a session (re-verification).
    pub async fn set_session_factor_times(
        &self,
        session_id: &str,
        first: Option<i64>,
        second: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET first_factor_at = COALESCE($1, first_factor_at), \
             second_factor_at = COALESCE($2, second_factor_at), updated_at = $3 WHERE id = $4",
        )
        .bind(first)
        .bind(second)
        .bind(now)
        .bind(session_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

async fn replace_backup_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    codes: &[(String, String)],
    now: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for (id, hash) in codes {
        sqlx::query("INSERT INTO backup_codes (id, user_id, code_hash, used_at, created_at) VALUES ($1, $2, $3, NULL, $4)")
            .bind(id)
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE users SET backup_code_enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(!codes.is_empty() as i64)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
