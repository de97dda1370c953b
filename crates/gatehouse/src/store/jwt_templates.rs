//! JWT templates. The custom signing key arrives here already sealed.

use super::{classify, Store, StoreResult};

/// A template row. `sealed_signing_key` is ciphertext (base64), never the key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredJwtTemplate {
    pub id: String,
    pub name: String,
    pub name_normalized: String,
    /// The claims template, JSON text.
    pub claims: String,
    pub lifetime: i64,
    pub allowed_clock_skew: i64,
    pub signing_algorithm: Option<String>,
    pub sealed_signing_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, name_normalized, claims, lifetime, allowed_clock_skew, \
    signing_algorithm, sealed_signing_key, created_at, updated_at";

impl Store {
    /// A taken name is `StoreError::Conflict`.
    pub async fn insert_jwt_template(&self, t: &StoredJwtTemplate) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO jwt_templates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.name_normalized)
        .bind(&t.claims)
        .bind(t.lifetime)
        .bind(t.allowed_clock_skew)
        .bind(&t.signing_algorithm)
        .bind(&t.sealed_signing_key)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(self.writer())
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// Replaces every field but `id` and `created_at`; false when the template is gone.
    /// A taken name is `StoreError::Conflict`.
    pub async fn update_jwt_template(&self, t: &StoredJwtTemplate) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE jwt_templates SET name = $1, name_normalized = $2, claims = $3, lifetime = $4, \
             allowed_clock_skew = $5, signing_algorithm = $6, sealed_signing_key = $7, updated_at = $8 \
             WHERE id = $9",
        )
        .bind(&t.name)
        .bind(&t.name_normalized)
        .bind(&t.claims)
        .bind(t.lifetime)
        .bind(t.allowed_clock_skew)
        .bind(&t.signing_algorithm)
        .bind(&t.sealed_signing_key)
        .bind(t.updated_at)
        .bind(&t.id)
        .execute(self.writer())
        .await
        .map_err(classify)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn jwt_template(&self, id: &str) -> StoreResult<Option<StoredJwtTemplate>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM jwt_templates WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// By lowercase name: the token endpoints' one read of a template.
    pub async fn jwt_template_by_name(
        &self,
        name_normalized: &str,
    ) -> StoreResult<Option<StoredJwtTemplate>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM jwt_templates WHERE name_normalized = $1"
        ))
        .bind(name_normalized)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Oldest first, and how many there are in all.
    pub async fn list_jwt_templates(
        &self,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<StoredJwtTemplate>, i64)> {
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM jwt_templates")
            .fetch_one(self.reader())
            .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM jwt_templates ORDER BY created_at, id LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.reader())
        .await?;
        Ok((rows, total))
    }

    pub async fn delete_jwt_template(&self, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM jwt_templates WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
