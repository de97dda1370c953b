//! Accounts at social sign-in providers linked to users, and the `oauth_states` of
//! trips to providers in progress.

use sqlx::{Any, Transaction};

use super::{classify, Store, StoreResult};
use crate::domain::model::{ExternalAccount, OAuthState};

const ACCOUNT_COLUMNS: &str = "id, user_id, provider, provider_user_id, email_address, email_verified, \
    first_name, last_name, username, avatar_url, sealed_access_token, sealed_refresh_token, token_expire_at, \
    scopes, created_at, updated_at";
const STATE_COLUMNS: &str =
    "id, state_hash, flow, subject, client_id, provider, sealed_verifier, nonce_hash, \
    redirect_url, action_complete_redirect_url, expire_at, consumed_at, sealed_result, created_at";

/// A user's accounts (`$1`: the user id), oldest first.
pub(super) fn accounts_of_user_sql() -> String {
    format!("SELECT {ACCOUNT_COLUMNS} FROM external_accounts WHERE user_id = $1 ORDER BY created_at, id")
}

impl Store {
    pub async fn insert_oauth_state(&self, s: &OAuthState) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO oauth_states ({STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&s.id)
        .bind(&s.state_hash)
        .bind(&s.flow)
        .bind(&s.subject)
        .bind(&s.client_id)
        .bind(&s.provider)
        .bind(&s.sealed_verifier)
        .bind(&s.nonce_hash)
        .bind(&s.redirect_url)
        .bind(&s.action_complete_redirect_url)
        .bind(s.expire_at)
        .bind(s.consumed_at)
        .bind(&s.sealed_result)
        .bind(s.created_at)
        .execute(self.writer())
        .await
        .map_err(classify)?;
        Ok(())
    }

    pub async fn oauth_state_by_hash(&self, state_hash: &str) -> StoreResult<Option<OAuthState>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {STATE_COLUMNS} FROM oauth_states WHERE state_hash = $1"
        ))
        .bind(state_hash)
        .fetch_optional(self.reader())
        .await?)
    }

    pub async fn oauth_state(&self, id: &str) -> StoreResult<Option<OAuthState>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {STATE_COLUMNS} FROM oauth_states WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Marks a state used; false when it was used already (a concurrent callback lost).
    pub async fn consume_oauth_state(&self, id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE oauth_states SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Keeps the verified result of a state (sealed), or drops it (`None`) once a
    /// sign-up took it over.
    pub async fn set_oauth_result(&self, id: &str, sealed: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE oauth_states SET sealed_result = $1 WHERE id = $2")
            .bind(sealed)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Deletes states that expired before `before`.
    pub async fn prune_oauth_states(&self, before: i64) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM oauth_states WHERE expire_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn external_accounts_of(&self, user_id: &str) -> StoreResult<Vec<ExternalAccount>> {
        self.read_all(&accounts_of_user_sql(), &[user_id]).await
    }

    pub async fn external_account_by_provider_id(
        &self,
        provider: &str,
        provider_user_id: &str,
    ) -> StoreResult<Option<ExternalAccount>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM external_accounts WHERE provider = $1 AND provider_user_id = $2"
        ))
        .bind(provider)
        .bind(provider_user_id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Inserts an account; one already linked (to anyone) is `StoreError::Conflict`.
    pub async fn insert_external_account(
        &self,
        tx: &mut Transaction<'static, Any>,
        a: &ExternalAccount,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO external_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16)"
        ))
        .bind(&a.id)
        .bind(&a.user_id)
        .bind(&a.provider)
        .bind(&a.provider_user_id)
        .bind(&a.email_address)
        .bind(a.email_verified)
        .bind(&a.first_name)
        .bind(&a.last_name)
        .bind(&a.username)
        .bind(&a.avatar_url)
        .bind(&a.sealed_access_token)
        .bind(&a.sealed_refresh_token)
        .bind(a.token_expire_at)
        .bind(&a.scopes)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// Records what the provider said at the latest sign-in: profile and tokens.
    pub async fn update_external_account(&self, a: &ExternalAccount) -> StoreResult<()> {
        sqlx::query(
            "UPDATE external_accounts SET email_address = $1, email_verified = $2, first_name = $3, \
             last_name = $4, username = $5, avatar_url = $6, sealed_access_token = $7, \
             sealed_refresh_token = $8, token_expire_at = $9, scopes = $10, updated_at = $11 WHERE id = $12",
        )
        .bind(&a.email_address)
        .bind(a.email_verified)
        .bind(&a.first_name)
        .bind(&a.last_name)
        .bind(&a.username)
        .bind(&a.avatar_url)
        .bind(&a.sealed_access_token)
        .bind(&a.sealed_refresh_token)
        .bind(a.token_expire_at)
        .bind(&a.scopes)
        .bind(a.updated_at)
        .bind(&a.id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Unlinks an account of a user; false when the user has no such account.
    pub async fn delete_external_account(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM external_accounts WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(self.writer())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
