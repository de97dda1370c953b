//! Sign-in and sign-up attempts: persisted flow objects with a status, an expiry and
//! the client that started them.

use sqlx::{Any, Transaction};

use super::{classify, Statement, Store, StoreResult, Writes};
use crate::domain::model::{SignInAttempt, SignUpAttempt};

const SIGN_IN_COLUMNS: &str =
    "id, client_id, status, identifier, user_id, first_factor, second_factor, \
    created_session_id, abandon_at, created_at, updated_at, first_factor_at";
const SIGN_UP_COLUMNS: &str = "id, client_id, status, email_address, username, phone_number, first_name, \
    last_name, password_digest, unsafe_metadata, email_verification, phone_verification, created_user_id, \
    created_session_id, abandon_at, created_at, updated_at, external_verification";

impl Store {
    pub async fn save_sign_in(&self, a: &SignInAttempt) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.save_sign_in_tx(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts or replaces a sign-in attempt. A complete attempt never changes again, so
    /// saving one is a no-op.
    pub async fn save_sign_in_tx(&self, w: &mut impl Writes, a: &SignInAttempt) -> StoreResult<()> {
        w.write(sign_in_upsert(a)).await
    }

    /// Saves the attempt that completes now; `StoreError::Unchanged` (and a rollback)
    /// when it is complete already, so two requests cannot both complete it.
    pub async fn save_completing_sign_in_tx(
        &self,
        w: &mut impl Writes,
        a: &SignInAttempt,
    ) -> StoreResult<()> {
        w.write(sign_in_upsert(a).must_change()).await
    }

    /// Saves an attempt and makes it its client's current sign-in, in one transaction.
    pub async fn save_sign_in_for_client(&self, a: &SignInAttempt) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.save_sign_in_for_client_tx(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `save_sign_in_for_client` as part of a larger transaction.
    pub async fn save_sign_in_for_client_tx(
        &self,
        w: &mut impl Writes,
        a: &SignInAttempt,
    ) -> StoreResult<()> {
        self.save_sign_in_tx(w, a).await?;
        w.write(
            Statement::new("UPDATE clients SET sign_in_id = $1, updated_at = $2 WHERE id = $3")
                .text(a.id.as_str())
                .int(a.updated_at)
                .text(a.client_id.as_str()),
        )
        .await
    }

    pub async fn get_sign_in(&self, id: &str) -> StoreResult<Option<SignInAttempt>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SIGN_IN_COLUMNS} FROM sign_in_attempts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?)
    }

    pub async fn save_sign_up(&self, a: &SignUpAttempt) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.save_sign_up_tx(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn save_sign_up_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        a: &SignUpAttempt,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO sign_up_attempts ({SIGN_UP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
             email_address = excluded.email_address, username = excluded.username, phone_number = excluded.phone_number, \
             first_name = excluded.first_name, last_name = excluded.last_name, password_digest = excluded.password_digest, \
             unsafe_metadata = excluded.unsafe_metadata, email_verification = excluded.email_verification, \
             phone_verification = excluded.phone_verification, created_user_id = excluded.created_user_id, \
             created_session_id = excluded.created_session_id, updated_at = excluded.updated_at, \
             external_verification = excluded.external_verification"
        ))
        .bind(&a.id)
        .bind(&a.client_id)
        .bind(&a.status)
        .bind(&a.email_address)
        .bind(&a.username)
        .bind(&a.phone_number)
        .bind(&a.first_name)
        .bind(&a.last_name)
        .bind(&a.password_digest)
        .bind(&a.unsafe_metadata)
        .bind(&a.email_verification)
        .bind(&a.phone_verification)
        .bind(&a.created_user_id)
        .bind(&a.created_session_id)
        .bind(a.abandon_at)
        .bind(a.created_at)
        .bind(a.updated_at)
        .bind(&a.external_verification)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// Saves an attempt and makes it its client's current sign-up, in one transaction.
    pub async fn save_sign_up_for_client(&self, a: &SignUpAttempt) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.save_sign_up_tx(&mut tx, a).await?;
        sqlx::query("UPDATE clients SET sign_up_id = $1, updated_at = $2 WHERE id = $3")
            .bind(&a.id)
            .bind(a.updated_at)
            .bind(&a.client_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_sign_up(&self, id: &str) -> StoreResult<Option<SignUpAttempt>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SIGN_UP_COLUMNS} FROM sign_up_attempts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?)
    }
}

/// Inserts or replaces a sign-in attempt unless it is complete.
fn sign_in_upsert(a: &SignInAttempt) -> Statement {
    Statement::new(format!(
        "INSERT INTO sign_in_attempts ({SIGN_IN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, identifier = excluded.identifier, \
         user_id = excluded.user_id, first_factor = excluded.first_factor, second_factor = excluded.second_factor, \
         created_session_id = excluded.created_session_id, updated_at = excluded.updated_at, \
         first_factor_at = excluded.first_factor_at WHERE sign_in_attempts.status <> 'complete'"
    ))
    .text(a.id.as_str())
    .text(a.client_id.as_str())
    .text(a.status.as_str())
    .text(a.identifier.as_deref())
    .text(a.user_id.as_deref())
    .text(a.first_factor.as_deref())
    .text(a.second_factor.as_deref())
    .text(a.created_session_id.as_deref())
    .int(a.abandon_at)
    .int(a.created_at)
    .int(a.updated_at)
    .int(a.first_factor_at)
}
