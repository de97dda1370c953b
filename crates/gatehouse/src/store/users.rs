//! Users and their identifiers.

use sqlx::{Any, Transaction};

use super::point_reads::{sqlite_all, sqlite_optional};
use super::{classify, Statement, Store, StoreResult, Writes};
use crate::domain::model::{Identifier, User, UserRecord};
use crate::domain::templates::UserData;

const IDENTIFIERS_OF_USER: &str = "SELECT id, user_id, kind, value, value_normalized, verified, \
    verification_strategy, verification, created_at, updated_at FROM identifiers WHERE user_id = $1 \
    ORDER BY created_at, id";
const USER_COLUMNS: &str = "id, username, first_name, last_name, password_digest, password_hasher, \
    public_metadata, private_metadata, unsafe_metadata, banned, admin_locked, failed_password_attempts, \
    lockout_until, primary_email_address_id, primary_phone_number_id, last_sign_in_at, last_active_at, \
    created_at, updated_at, totp_enabled, backup_code_enabled";

/// Everything needed to create a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub id: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_digest: Option<String>,
    pub password_hasher: Option<String>,
    pub public_metadata: String,
    pub private_metadata: String,
    pub unsafe_metadata: String,
    /// (id, kind, value, normalized value, verified, strategy)
    pub identifiers: Vec<NewIdentifier>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct NewIdentifier {
    pub id: String,
    pub kind: &'static str,
    pub value: String,
    pub normalized: String,
    pub verified: bool,
    pub strategy: Option<String>,
}

/// Filters for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub query: Option<String>,
    pub email_addresses: Vec<String>,
    pub usernames: Vec<String>,
    pub user_ids: Vec<String>,
    pub newest_first: bool,
    pub order_column: &'static str,
    pub limit: i64,
    pub offset: i64,
}

/// Fields an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub password: Option<(String, String)>,
    pub primary_email_address_id: Option<String>,
    pub primary_phone_number_id: Option<String>,
    pub public_metadata: Option<String>,
    pub private_metadata: Option<String>,
    pub unsafe_metadata: Option<String>,
}

impl Store {
    /// Inserts a user and its identifiers in the transaction. A taken username or
    /// identifier is `StoreError::Conflict`.
    pub async fn insert_user(
        &self,
        tx: &mut Transaction<'static, Any>,
        u: &NewUser,
    ) -> StoreResult<()> {
        let primary_email = u
            .identifiers
            .iter()
            .find(|i| i.kind == "email_address")
            .map(|i| i.id.clone());
        let primary_phone = u
            .identifiers
            .iter()
            .find(|i| i.kind == "phone_number")
            .map(|i| i.id.clone());
        sqlx::query(
            "INSERT INTO users (id, username, username_normalized, first_name, last_name, password_digest, \
             password_hasher, public_metadata, private_metadata, unsafe_metadata, primary_email_address_id, \
             primary_phone_number_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&u.id)
        .bind(&u.username)
        .bind(u.username.as_ref().map(|s| s.to_lowercase()))
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.password_digest)
        .bind(&u.password_hasher)
        .bind(&u.public_metadata)
        .bind(&u.private_metadata)
        .bind(&u.unsafe_metadata)
        .bind(primary_email)
        .bind(primary_phone)
        .bind(u.now)
        .bind(u.now)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
        for i in &u.identifiers {
            self.insert_identifier(tx, &u.id, i, u.now).await?;
        }
        Ok(())
    }

    pub async fn insert_identifier(
        &self,
        tx: &mut Transaction<'static, Any>,
        user_id: &str,
        i: &NewIdentifier,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identifiers (id, user_id, kind, value, value_normalized, verified, verification_strategy, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&i.id)
        .bind(user_id)
        .bind(i.kind)
        .bind(&i.value)
        .bind(&i.normalized)
        .bind(i.verified as i64)
        .bind(&i.strategy)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// The user with its identifiers and accounts. On SQLite files the four reads share
    /// one read transaction on the calling thread: one consistent view, one connection.
    pub async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let user_sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let external_sql = super::external_accounts::accounts_of_user_sql();
        let saml_sql = super::saml::accounts_of_user_sql();
        if let Some(inline) = self.inline_reader() {
            return Ok(inline.read(|conn| {
                let tx = conn.unchecked_transaction()?;
                let Some(user) = sqlite_optional::<User>(&tx, &user_sql, &[id])? else {
                    return Ok(None);
                };
                Ok(Some(UserRecord {
                    identifiers: sqlite_all(&tx, IDENTIFIERS_OF_USER, &[id])?,
                    external_accounts: sqlite_all(&tx, &external_sql, &[id])?,
                    saml_accounts: sqlite_all(&tx, &saml_sql, &[id])?,
                    user,
                }))
            })?);
        }
        let Some(user) = self.read_optional::<User>(&user_sql, &[id]).await? else {
            return Ok(None);
        };
        Ok(Some(UserRecord {
            identifiers: self.read_all(IDENTIFIERS_OF_USER, &[id]).await?,
            external_accounts: self.read_all(&external_sql, &[id]).await?,
            saml_accounts: self.read_all(&saml_sql, &[id]).await?,
            user,
        }))
    }

    async fn identifiers_of(&self, user_id: &str) -> StoreResult<Vec<Identifier>> {
        self.read_all(IDENTIFIERS_OF_USER, &[user_id]).await
    }

    /// What claims templates may read of a user, in one indexed read (the user joined to
    /// its primary email address and phone number). Never `private_metadata`.
    pub async fn template_user(&self, id: &str) -> StoreResult<Option<UserData>> {
        let row: Option<TemplateUserRow> = sqlx::query_as(
            "SELECT u.id, u.username, u.first_name, u.last_name, u.public_metadata, u.unsafe_metadata, \
             u.created_at, e.value AS email, e.verified AS email_verified, \
             p.value AS phone, p.verified AS phone_verified \
             FROM users u \
             LEFT JOIN identifiers e ON e.id = u.primary_email_address_id \
             LEFT JOIN identifiers p ON p.id = u.primary_phone_number_id \
             WHERE u.id = $1",
        )
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(TemplateUserRow::into_data))
    }

    /// The user owning an identifier (normalized email or phone) or username.
    pub async fn find_user_id_by_identifier(
        &self,
        kind: &str,
        normalized: &str,
    ) -> StoreResult<Option<String>> {
        if kind == "username" {
            let sql = "SELECT id FROM users WHERE username_normalized = $1";
            return self.read_value(sql, &[normalized]).await;
        }
        let sql = "SELECT user_id FROM identifiers WHERE value_normalized = $1 AND kind = $2";
        self.read_value(sql, &[normalized, kind]).await
    }

    pub async fn list_users(&self, q: &UserQuery) -> StoreResult<(Vec<UserRecord>, i64)> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let param = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some(text) = q.query.as_ref().filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let p = param(pattern, &mut binds);
            conditions.push(format!(
                "(LOWER(u.id) LIKE {p} ESCAPE '\\' OR u.username_normalized LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(u.first_name, '')) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(u.last_name, '')) LIKE {p} ESCAPE '\\' \
                 OR EXISTS (SELECT 1 FROM identifiers i WHERE i.user_id = u.id AND i.value_normalized LIKE {p} ESCAPE '\\'))"
            ));
        }
        if !q.email_addresses.is_empty() {
            let ps: Vec<String> = q
                .email_addresses
                .iter()
                .map(|e| param(e.clone(), &mut binds))
                .collect();
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM identifiers i WHERE i.user_id = u.id AND i.kind = 'email_address' \
                 AND i.value_normalized IN ({}))",
                ps.join(", ")
            ));
        }
        if !q.usernames.is_empty() {
            let ps: Vec<String> = q
                .usernames
                .iter()
                .map(|e| param(e.to_lowercase(), &mut binds))
                .collect();
            conditions.push(format!("u.username_normalized IN ({})", ps.join(", ")));
        }
        if !q.user_ids.is_empty() {
            let ps: Vec<String> = q
                .user_ids
                .iter()
                .map(|e| param(e.clone(), &mut binds))
                .collect();
            conditions.push(format!("u.id IN ({})", ps.join(", ")));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM users u {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(self.reader()).await?;
        let direction = if q.newest_first { "DESC" } else { "ASC" };
        let order = q.order_column;
        let list_sql = format!(
            "SELECT {} FROM users u {filter} ORDER BY u.{order} {direction} NULLS LAST, u.id {direction} LIMIT {} OFFSET {}",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", "),
            q.limit,
            q.offset
        );
        let mut list = sqlx::query_as::<_, User>(&list_sql);
        for b in &binds {
            list = list.bind(b);
        }
        let users = list.fetch_all(self.reader()).await?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            let identifiers = self.identifiers_of(&user.id).await?;
            let external_accounts = self.external_accounts_of(&user.id).await?;
            let saml_accounts = self.saml_accounts_of(&user.id).await?;
            out.push(UserRecord {
                user,
                identifiers,
                external_accounts,
                saml_accounts,
            });
        }
        Ok((out, total))
    }

    /// Applies an update; a taken username is `StoreError::Conflict`.
    pub async fn update_user(&self, id: &str, u: &UserUpdate, now: i64) -> StoreResult<bool> {
        let mut sets = vec!["updated_at = $1".to_string()];
        let mut binds: Vec<Option<String>> = Vec::new();
        let mut set = |col: &str, v: Option<String>, sets: &mut Vec<String>| {
            binds.push(v);
            sets.push(format!("{col} = ${}", binds.len() + 1));
        };
        if let Some(v) = &u.username {
            set("username", v.clone(), &mut sets);
            set(
                "username_normalized",
                v.as_ref().map(|s| s.to_lowercase()),
                &mut sets,
            );
        }
        if let Some(v) = &u.first_name {
            set("first_name", v.clone(), &mut sets);
        }
        if let Some(v) = &u.last_name {
            set("last_name", v.clone(), &mut sets);
        }
        if let Some((digest, hasher)) = &u.password {
            set("password_digest", Some(digest.clone()), &mut sets);
            set("password_hasher", Some(hasher.clone()), &mut sets);
        }
        if let Some(v) = &u.primary_email_address_id {
            set("primary_email_address_id", Some(v.clone()), &mut sets);
        }
        if let Some(v) = &u.primary_phone_number_id {
            set("primary_phone_number_id", Some(v.clone()), &mut sets);
        }
        if let Some(v) = &u.public_metadata {
            set("public_metadata", Some(v.clone()), &mut sets);
        }
        if let Some(v) = &u.private_metadata {
            set("private_metadata", Some(v.clone()), &mut sets);
        }
        if let Some(v) = &u.unsafe_metadata {
            set("unsafe_metadata", Some(v.clone()), &mut sets);
        }
        let sql = format!(
            "UPDATE users SET {} WHERE id = ${}",
            sets.join(", "),
            binds.len() + 2
        );
        let mut q = sqlx::query(&sql).bind(now);
        for b in binds {
            q = q.bind(b);
        }
        let r = q.bind(id).execute(self.writer()).await.map_err(classify)?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a user and its identifiers; its sessions are revoked by the caller.
    pub async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM identifiers WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn set_user_flag(
        &self,
        id: &str,
        column: UserFlag,
        value: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let col = match column {
            UserFlag::Banned => "banned",
            UserFlag::AdminLocked => "admin_locked",
        };
        // Unlocking also clears a failed-password lockout.
        let extra = if matches!(column, UserFlag::AdminLocked) && !value {
            ", failed_password_attempts = 0, lockout_until = NULL"
        } else {
            ""
        };
        let r = sqlx::query(&format!(
            "UPDATE users SET {col} = $1, updated_at = $2{extra} WHERE id = $3"
        ))
        .bind(value as i64)
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Counts a failed password; locks the user until `lock_until` once the count
    /// reaches `max`. Atomic, so concurrent failures all count.
    pub async fn record_failed_password(
        &self,
        id: &str,
        max: i64,
        lock_until: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_password_attempts = failed_password_attempts + 1, \
             lockout_until = CASE WHEN failed_password_attempts + 1 >= $1 THEN $2 ELSE lockout_until END \
             WHERE id = $3",
        )
        .bind(max)
        .bind(lock_until)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// A successful first factor: resets the failure count and expired lockout.
    pub async fn record_successful_password(&self, id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_password_attempts = 0, lockout_until = NULL \
             WHERE id = $1 AND (failed_password_attempts <> 0 OR lockout_until IS NOT NULL)",
        )
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Replaces a stored digest (transparent rehash to argon2id after an imported one).
    pub async fn replace_password_digest(&self, id: &str, old: &str, new: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET password_digest = $1, password_hasher = 'argon2id' WHERE id = $2 AND password_digest = $3",
        )
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    pub async fn touch_user_sign_in(
        &self,
        w: &mut impl Writes,
        id: &str,
        now: i64,
    ) -> StoreResult<()> {
        w.write(
            Statement::new(
                "UPDATE users SET last_sign_in_at = $1, last_active_at = $1 WHERE id = $2",
            )
            .int(now)
            .text(id),
        )
        .await
    }
}

#[derive(sqlx::FromRow)]
struct TemplateUserRow {
    id: String,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    public_metadata: String,
    unsafe_metadata: String,
    created_at: i64,
    email: Option<String>,
    email_verified: Option<i64>,
    phone: Option<String>,
    phone_verified: Option<i64>,
}

impl TemplateUserRow {
    fn into_data(self) -> UserData {
        let json = |s: &str| serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}));
        UserData {
            public_metadata: json(&self.public_metadata),
            unsafe_metadata: json(&self.unsafe_metadata),
            id: self.id,
            first_name: self.first_name,
            last_name: self.last_name,
            username: self.username,
            email_verified: self.email.as_ref().map(|_| self.email_verified == Some(1)),
            primary_email_address: self.email,
            phone_number_verified: self.phone.as_ref().map(|_| self.phone_verified == Some(1)),
            primary_phone_number: self.phone,
            created_at: self.created_at,
        }
    }
}

/// Administrative flags on a user.
#[derive(Debug, Clone, Copy)]
pub enum UserFlag {
    Banned,
    AdminLocked,
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
