//! Clients: one per browser or app install, found by the hash of its cookie value.

use super::{Batch, Statement, Store, StoreResult, Writes};
use crate::domain::model::Client;

const CLIENT_COLUMNS: &str =
    "id, token_hash, sign_in_id, sign_up_id, last_active_session_id, last_auth_at, created_at, updated_at";

impl Store {
    pub async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let mut batch = Batch::default();
        self.insert_client_tx(&mut batch, client).await?;
        self.commit_batch(batch).await
    }

    /// Stores a new client as part of a flow's transaction.
    pub async fn insert_client_tx(&self, w: &mut impl Writes, client: &Client) -> StoreResult<()> {
        w.write(
            Statement::new(
                "INSERT INTO clients (id, token_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)",
            )
            .text(client.id.as_str())
            .text(client.token_hash.as_str())
            .int(client.created_at),
        )
        .await
    }

    pub async fn client_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE token_hash = $1");
        self.read_optional(&sql, &[token_hash]).await
    }

    pub async fn client_by_id(&self, id: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        self.read_optional(&sql, &[id]).await
    }

    /// After a sign-in: a fresh cookie hash (no session fixation), the new active
    /// session, and the sign-in time `__client_uat` reports.
    pub async fn client_signed_in(
        &self,
        w: &mut impl Writes,
        id: &str,
        new_token_hash: &str,
        session_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        w.write(
            Statement::new(
                "UPDATE clients SET token_hash = $1, last_active_session_id = $2, last_auth_at = $3, \
                 sign_in_id = NULL, sign_up_id = NULL, updated_at = $3 WHERE id = $4",
            )
            .text(new_token_hash)
            .text(session_id)
            .int(now)
            .text(id),
        )
        .await
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
