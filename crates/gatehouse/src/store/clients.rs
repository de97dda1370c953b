//! Clients: one per browser or app install, found by the hash of its cookie value.

use sqlx::{Any, Transaction};

use super::{Store, StoreResult};
use crate::domain::model::Client;

const CLIENT_COLUMNS: &str =
    "id, token_hash, sign_in_id, sign_up_id, last_active_session_id, last_auth_at, created_at, updated_at";

impl Store {
    pub async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        insert_client_query(client).execute(self.writer()).await?;
        Ok(())
    }

    /// Stores a new client as part of a flow's transaction.
    pub async fn insert_client_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        client: &Client,
    ) -> StoreResult<()> {
        insert_client_query(client).execute(&mut **tx).await?;
        Ok(())
    }

    pub async fn client_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE token_hash = $1");
        self.read_optional(&sql, &[token_hash]).await
    }

    pub async fn client_by_id(&self, id: &str) -> StoreResult<Option<Client>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// After a sign-in: a fresh cookie hash (no session fixation), the new active
    /// session, and the sign-in time `__client_uat` reports.
    pub async fn client_signed_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        new_token_hash: &str,
        session_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE clients SET token_hash = $1, last_active_session_id = $2, last_auth_at = $3, \
             sign_in_id = NULL, sign_up_id = NULL, updated_at = $3 WHERE id = $4",
        )
        .bind(new_token_hash)
        .bind(session_id)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a sign-out: `last_auth_at` moves so `__client_uat` changes.
    pub async fn set_client_active_session(
        &self,
        id: &str,
        session_id: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE clients SET last_active_session_id = $1, last_auth_at = $2, updated_at = $2 WHERE id = $3")
            .bind(session_id)
            .bind(now)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

fn insert_client_query(
    client: &Client,
) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "INSERT INTO clients (id, token_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(&client.id)
    .bind(&client.token_hash)
    .bind(client.created_at)
}
