//! Sessions: one per signed-in user per client.

use rusqlite::OptionalExtension;

use super::{Statement, Store, StoreResult, Writes};
use crate::domain::model::{client_uat, session_status_at, Session, TokenSubject, SESSION_ACTIVE};

const SESSION_COLUMNS: &str = "id, client_id, user_id, status, first_factor_at, second_factor_at, last_active_at, \
    expire_at, ended_at, last_active_organization_id, actor, latest_activity, created_at, updated_at";

/// What the token endpoint reads: a session's token fields and its client's sign-in time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenSession {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub first_factor_at: i64,
    pub second_factor_at: Option<i64>,
    pub last_active_at: i64,
    pub expire_at: i64,
    pub actor: Option<String>,
    pub client_last_auth_at: Option<i64>,
    pub client_created_at: i64,
}

impl TokenSession {
    pub fn is_active_at(&self, now: i64, inactivity_ms: Option<i64>) -> bool {
        session_status_at(
            &self.status,
            self.expire_at,
            self.last_active_at,
            now,
            inactivity_ms,
        ) == SESSION_ACTIVE
    }

    pub fn token_subject(&self) -> TokenSubject<'_> {
        TokenSubject {
            session_id: &self.id,
            user_id: &self.user_id,
            first_factor_at: self.first_factor_at,
            second_factor_at: self.second_factor_at,
            actor: self.actor.as_deref(),
        }
    }

    /// The client's `__client_uat` value.
    pub fn client_uat(&self) -> i64 {
        client_uat(self.client_last_auth_at, self.client_created_at)
    }

    /// `TOKEN_SESSION_SQL`'s row read by `rusqlite` (sqlx rows use the derived `FromRow`).
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenSession> {
        Ok(TokenSession {
            id: row.get(0)?,
            user_id: row.get(1)?,
            status: row.get(2)?,
            first_factor_at: row.get(3)?,
            second_factor_at: row.get(4)?,
            last_active_at: row.get(5)?,
            expire_at: row.get(6)?,
            actor: row.get(7)?,
            client_last_auth_at: row.get(8)?,
            client_created_at: row.get(9)?,
        })
    }
}

/// The session by id, only if it belongs to the client with this token hash. Short on
/// purpose: SQLite's statement cache hashes and copies the text on every use.
const TOKEN_SESSION_SQL: &str = "SELECT s.id, s.user_id, s.status, s.first_factor_at, \
    s.second_factor_at, s.last_active_at, s.expire_at, s.actor, \
    c.last_auth_at AS client_last_auth_at, c.created_at AS client_created_at \
    FROM sessions s JOIN clients c ON c.id = s.client_id WHERE s.id = $1 AND c.token_hash = $2";

/// Filters for listing sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// Stored status (`active`, `ended`, `revoked`, `removed`); derived states are filtered by the caller.
    pub status: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    pub async fn insert_session(&self, w: &mut impl Writes, s: &Session) -> StoreResult<()> {
        w.write(
            Statement::new(format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .text(s.id.as_str())
            .text(s.client_id.as_str())
            .text(s.user_id.as_str())
            .text(s.status.as_str())
            .int(s.first_factor_at)
            .int(s.second_factor_at)
            .int(s.last_active_at)
            .int(s.expire_at)
            .int(s.ended_at)
            .text(s.last_active_organization_id.as_deref())
            .text(s.actor.as_deref())
            .text(s.latest_activity.as_str())
            .int(s.created_at)
            .int(s.updated_at),
        )
        .await
    }

    /// One indexed read: the hot path of token minting.
    pub async fn get_session(&self, id: &str) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        self.read_optional(&sql, &[id]).await
    }

    /// The token endpoint's one read: a session and its client, by session id and the
    /// client's token hash (a session of another client is not found).
    pub async fn token_session(
        &self,
        session_id: &str,
        client_token_hash: &str,
    ) -> StoreResult<Option<TokenSession>> {
        if let Some(inline) = self.inline_reader() {
            return Ok(inline.read(|conn| {
                conn.prepare_cached(TOKEN_SESSION_SQL)?
                    .query_row(
                        (session_id, client_token_hash),
                        TokenSession::from_sqlite_row,
                    )
                    .optional()
            })?);
        }
        Ok(sqlx::query_as(TOKEN_SESSION_SQL)
            .bind(session_id)
            .bind(client_token_hash)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Sessions of a client whose stored status is active (time-derived states are the caller's).
    pub async fn client_sessions(&self, client_id: &str) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE client_id = $1 AND status = $2 ORDER BY created_at, id"
        );
        self.read_all(&sql, &[client_id, SESSION_ACTIVE]).await
    }

    pub async fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND status = $2 ORDER BY created_at, id"
        );
        self.read_all(&sql, &[user_id, SESSION_ACTIVE]).await
    }

    pub async fn list_sessions(&self, q: &SessionQuery) -> StoreResult<(Vec<Session>, i64)> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        for (col, v) in [
            ("user_id", &q.user_id),
            ("client_id", &q.client_id),
            ("status", &q.status),
        ] {
            if let Some(v) = v {
                binds.push(v.clone());
                conditions.push(format!("{col} = ${}", binds.len()));
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM sessions {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(self.reader()).await?;
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions {filter} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
            q.limit, q.offset
        );
        let mut list = sqlx::query_as::<_, Session>(&sql);
        for b in &binds {
            list = list.bind(b);
        }
        Ok((list.fetch_all(self.reader()).await?, total))
    }

    /// Moves an active session to a final status; false if it was not active.
    pub async fn end_session(&self, id: &str, status: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE sessions SET status = $1, ended_at = $2, updated_at = $2 WHERE id = $3 AND status = 'active'",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Ends every active session of a user, optionally sparing one; returns how many.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
        status: &str,
        except: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE sessions SET status = $1, ended_at = $2, updated_at = $2 \
             WHERE user_id = $3 AND status = 'active' AND id <> $4",
        )
        .bind(status)
        .bind(now)
        .bind(user_id)
        .bind(except.unwrap_or(""))
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn end_client_sessions(
        &self,
        client_id: &str,
        status: &str,
        now: i64,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE sessions SET status = $1, ended_at = $2, updated_at = $2 WHERE client_id = $3 AND status = 'active'",
        )
        .bind(status)
        .bind(now)
        .bind(client_id)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected())
    }

    /// Marks a session active now (the inactivity timeout restarts) and records the
    /// latest request's device details when given.
    pub async fn touch_session(
        &self,
        id: &str,
        activity: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET last_active_at = $1, updated_at = $1, \
             latest_activity = COALESCE($2, latest_activity) WHERE id = $3 AND status = 'active'",
        )
        .bind(now)
        .bind(activity)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
