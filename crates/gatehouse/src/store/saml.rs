//! Enterprise SSO: SAML connections and their domains, the accounts they vouch for,
//! trips to identity providers (`saml_requests`) and the assertion ids already used.

use sqlx::{Any, Transaction};

use super::{classify, Store, StoreResult};
use crate::domain::model::{SamlAccount, SamlConnection, SamlRequest};

const CONNECTION_COLUMNS: &str = "id, name, idp_entity_id, idp_sso_url, idp_certificates, \
    attribute_mapping, allow_idp_initiated, sign_authn_requests, allow_sha1, active, sealed_sp_key, \
    sp_certificate, created_at, updated_at";
const ACCOUNT_COLUMNS: &str =
    "id, user_id, connection_id, name_id, email_address, first_name, last_name, created_at, updated_at";
const REQUEST_COLUMNS: &str = "id, relay_state_hash, connection_id, sign_in_id, client_id, \
    redirect_url, action_complete_redirect_url, expire_at, responded_at, completion_hash, \
    sealed_result, completed_at, created_at";

/// A user's SAML identities (`$1`: the user id), oldest first.
pub(super) fn accounts_of_user_sql() -> String {
    format!(
        "SELECT {ACCOUNT_COLUMNS} FROM saml_accounts WHERE user_id = $1 ORDER BY created_at, id"
    )
}

impl Store {
    /// Inserts a connection with its domains; a domain another connection has is
    /// `StoreError::Conflict`.
    pub async fn insert_saml_connection(
        &self,
        c: &SamlConnection,
        domains: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO saml_connections ({CONNECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.idp_entity_id)
        .bind(&c.idp_sso_url)
        .bind(&c.idp_certificates)
        .bind(&c.attribute_mapping)
        .bind(c.allow_idp_initiated)
        .bind(c.sign_authn_requests)
        .bind(c.allow_sha1)
        .bind(c.active)
        .bind(&c.sealed_sp_key)
        .bind(&c.sp_certificate)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        insert_domains(&mut tx, &c.id, domains).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a connection's settings and domains; false when it does not exist.
    pub async fn update_saml_connection(
        &self,
        c: &SamlConnection,
        domains: &[String],
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "UPDATE saml_connections SET name = $1, idp_entity_id = $2, idp_sso_url = $3, \
             idp_certificates = $4, attribute_mapping = $5, allow_idp_initiated = $6, \
             sign_authn_requests = $7, allow_sha1 = $8, active = $9, sealed_sp_key = $10, \
             sp_certificate = $11, updated_at = $12 WHERE id = $13",
        )
        .bind(&c.name)
        .bind(&c.idp_entity_id)
        .bind(&c.idp_sso_url)
        .bind(&c.idp_certificates)
        .bind(&c.attribute_mapping)
        .bind(c.allow_idp_initiated)
        .bind(c.sign_authn_requests)
        .bind(c.allow_sha1)
        .bind(c.active)
        .bind(&c.sealed_sp_key)
        .bind(&c.sp_certificate)
        .bind(c.updated_at)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM saml_connection_domains WHERE connection_id = $1")
            .bind(&c.id)
            .execute(&mut *tx)
            .await?;
        insert_domains(&mut tx, &c.id, domains).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn delete_saml_connection(&self, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM saml_connections WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn saml_connection(&self, id: &str) -> StoreResult<Option<SamlConnection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM saml_connections WHERE id = $1");
        self.read_optional(&sql, &[id]).await
    }

    pub async fn saml_connections(&self) -> StoreResult<Vec<SamlConnection>> {
        let sql =
            format!("SELECT {CONNECTION_COLUMNS} FROM saml_connections ORDER BY created_at, id");
        self.read_all(&sql, &[]).await
    }

    /// The domains of a connection, sorted.
    pub async fn saml_connection_domains(&self, id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT domain FROM saml_connection_domains WHERE connection_id = $1 ORDER BY domain",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?)
    }

    /// The connection an email domain (lowercase) is routed to, active or not.
    pub async fn saml_connection_for_domain(
        &self,
        domain: &str,
    ) -> StoreResult<Option<SamlConnection>> {
        let columns = CONNECTION_COLUMNS
            .split(", ")
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM saml_connections c \
             JOIN saml_connection_domains d ON d.connection_id = c.id WHERE d.domain = $1"
        );
        self.read_optional(&sql, &[domain]).await
    }

    pub async fn saml_accounts_of(&self, user_id: &str) -> StoreResult<Vec<SamlAccount>> {
        self.read_all(&accounts_of_user_sql(), &[user_id]).await
    }

    pub async fn saml_account(
        &self,
        connection_id: &str,
        name_id: &str,
    ) -> StoreResult<Option<SamlAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM saml_accounts WHERE connection_id = $1 AND name_id = $2"
        );
        self.read_optional(&sql, &[connection_id, name_id]).await
    }

    /// Inserts an account; the same identity linked already is `StoreError::Conflict`.
    pub async fn insert_saml_account(
        &self,
        tx: &mut Transaction<'static, Any>,
        a: &SamlAccount,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO saml_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&a.id)
        .bind(&a.user_id)
        .bind(&a.connection_id)
        .bind(&a.name_id)
        .bind(&a.email_address)
        .bind(&a.first_name)
        .bind(&a.last_name)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// Keeps what the identity provider last said about an account.
    pub async fn update_saml_account(&self, a: &SamlAccount) -> StoreResult<()> {
        sqlx::query(
            "UPDATE saml_accounts SET email_address = $1, first_name = $2, last_name = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(&a.email_address)
        .bind(&a.first_name)
        .bind(&a.last_name)
        .bind(a.updated_at)
        .bind(&a.id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    pub async fn insert_saml_request(&self, r: &SamlRequest) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO saml_requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&r.id)
        .bind(&r.relay_state_hash)
        .bind(&r.connection_id)
        .bind(&r.sign_in_id)
        .bind(&r.client_id)
        .bind(&r.redirect_url)
        .bind(&r.action_complete_redirect_url)
        .bind(r.expire_at)
        .bind(r.responded_at)
        .bind(&r.completion_hash)
        .bind(&r.sealed_result)
        .bind(r.completed_at)
        .bind(r.created_at)
        .execute(self.writer())
        .await
        .map_err(classify)?;
        Ok(())
    }

    pub async fn saml_request_by_relay_state(
        &self,
        hash: &str,
    ) -> StoreResult<Option<SamlRequest>> {
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM saml_requests WHERE relay_state_hash = $1");
        self.read_optional(&sql, &[hash]).await
    }

    pub async fn saml_request_by_completion(&self, hash: &str) -> StoreResult<Option<SamlRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM saml_requests WHERE completion_hash = $1");
        self.read_optional(&sql, &[hash]).await
    }

    pub async fn saml_request(&self, id: &str) -> StoreResult<Option<SamlRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM saml_requests WHERE id = $1");
        self.read_optional(&sql, &[id]).await
    }

    /// Records the identity provider's answer once: false when the request was answered
    /// already (a second post of a response, or a concurrent one, loses).
    pub async fn record_saml_response(
        &self,
        id: &str,
        now: i64,
        completion_hash: Option<&str>,
        sealed_result: Option<&str>,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE saml_requests SET responded_at = $1, completion_hash = $2, sealed_result = $3 \
             WHERE id = $4 AND responded_at IS NULL",
        )
        .bind(now)
        .bind(completion_hash)
        .bind(sealed_result)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks a verified result used once; false when it was used already.
    pub async fn complete_saml_request(&self, id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE saml_requests SET completed_at = $1, sealed_result = NULL \
             WHERE id = $2 AND completed_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Remembers an assertion id until `expire_at`; false when it was seen already.
    pub async fn remember_saml_assertion(
        &self,
        connection_id: &str,
        assertion_id: &str,
        expire_at: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO saml_assertion_ids (connection_id, assertion_id, expire_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(connection_id)
        .bind(assertion_id)
        .bind(expire_at)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Drops trips that ended before `before` and assertion ids past their expiry.
    pub async fn prune_saml(&self, before: i64, now: i64) -> StoreResult<u64> {
        let a = sqlx::query("DELETE FROM saml_requests WHERE expire_at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        let b = sqlx::query("DELETE FROM saml_assertion_ids WHERE expire_at < $1")
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}

async fn insert_domains(
    tx: &mut Transaction<'static, Any>,
    connection_id: &str,
    domains: &[String],
) -> StoreResult<()> {
    for domain in domains {
        sqlx::query("INSERT INTO saml_connection_domains (domain, connection_id) VALUES ($1, $2)")
            .bind(domain)
            .bind(connection_id)
            .execute(&mut **tx)
            .await
            .map_err(classify)?;
    }
    Ok(())
}
