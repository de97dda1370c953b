//! Email addresses and phone numbers a user adds, verifies and removes after sign-up.

use sqlx::{Any, Transaction};

use super::{classify, NewIdentifier, Store, StoreResult};

/// The `users` column holding the primary identifier of a kind.
fn primary_column(kind: &str) -> &'static str {
    if kind == crate::domain::model::KIND_PHONE {
        "primary_phone_number_id"
    } else {
        "primary_email_address_id"
    }
}

/// In `tx`: `UPDATE users SET <set>updated_at = $1 WHERE id = $2`, with `values` bound
/// from `$3` on.
async fn update_user(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    now: i64,
    set: &str,
    values: &[Option<&str>],
) -> StoreResult<()> {
    let sql = format!("UPDATE users SET {set}updated_at = $1 WHERE id = $2");
    let mut q = sqlx::query(&sql).bind(now).bind(user_id);
    for v in values {
        q = q.bind(*v);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    /// The user an email address or phone number signs in: one that is verified or is
    /// its user's primary one (an unverified address added later identifies nobody).
    pub async fn find_sign_in_user_id(
        &self,
        kind: &str,
        normalized: &str,
    ) -> StoreResult<Option<String>> {
        self.read_value(
            "SELECT i.user_id FROM identifiers i JOIN users u ON u.id = i.user_id \
             WHERE i.value_normalized = $1 AND i.kind = $2 \
             AND (i.verified = 1 OR u.primary_email_address_id = i.id OR u.primary_phone_number_id = i.id)",
            &[normalized, kind],
        )
        .await
    }

    /// Adds an identifier to a user; a taken one is `StoreError::Conflict`.
    pub async fn add_identifier(
        &self,
        user_id: &str,
        i: &NewIdentifier,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.insert_identifier(&mut tx, user_id, i, now).await?;
        update_user(&mut tx, user_id, now, "", &[]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the state of a pending verification (JSON).
    pub async fn set_identifier_verification(
        &self,
        id: &str,
        verification: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE identifiers SET verification = $1, updated_at = $2 WHERE id = $3")
            .bind(verification)
            .bind(now)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Marks an identifier verified by `strategy`; it becomes its user's primary one of
    /// its kind when the user has none.
    pub async fn mark_identifier_verified(
        &self,
        user_id: &str,
        id: &str,
        kind: &str,
        strategy: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE identifiers SET verified = 1, verification_strategy = $1, verification = NULL, \
             updated_at = $2 WHERE id = $3 AND verified = 0",
        )
        .bind(strategy)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let column = primary_column(kind);
        let set = format!("{column} = COALESCE({column}, $3), ");
        update_user(&mut tx, user_id, now, &set, &[Some(id)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an identifier of a user and sets the user's primary one of its kind to
    /// `next_primary` when it was the primary one.
    pub async fn remove_identifier(
        &self,
        user_id: &str,
        id: &str,
        kind: &str,
        next_primary: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let removed = sqlx::query("DELETE FROM identifiers WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected();
        let column = primary_column(kind);
        let set = format!("{column} = CASE WHEN {column} = $3 THEN $4 ELSE {column} END, ");
        update_user(&mut tx, user_id, now, &set, &[Some(id), next_primary]).await?;
        tx.commit().await?;
        Ok(removed == 1)
    }
}
