//! Reads whose every parameter is text, run inline on SQLite files (`inline_reads`) and
//! through the reader pool otherwise, with one SQL text for both. The page and Frontend
//! API reads that every signed-in request makes (client by token or id, its sessions, the
//! user with its identifiers and accounts) and a sign-in's identifier lookup go through
//! here: on SQLite each saves a hand-off to a pool thread and back.

use sqlx::any::AnyRow;
use sqlx::Any;

use super::{Store, StoreResult};
use crate::domain::model::{
    Client, ExternalAccount, Identifier, SamlAccount, SamlConnection, SamlRequest, Session, User,
};

/// A model read from a `rusqlite` row by column name (sqlx rows use the derived `FromRow`).
pub(crate) trait FromSqliteRow: Sized {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// Implements [`FromSqliteRow`] for a model whose fields are named like its columns and
/// listed in the order the queries select them; a field left out is a compile error (the
/// struct literal must be complete). Columns are read by position: looking each up by
/// name compares it with every column name, which cost more than the read itself on a
/// user's twenty columns. Debug builds (the test suite) check every name.
macro_rules! from_sqlite_row {
    ($model:ident { $($field:ident),+ $(,)? }) => {
        impl FromSqliteRow for $model {
            fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut at = 0;
                Ok($model { $($field: next_column(row, &mut at, stringify!($field))?),+ })
            }
        }
    };
}

/// The column at `*at` (which must be named `name`), moving `at` on.
fn next_column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    at: &mut usize,
    name: &str,
) -> rusqlite::Result<T> {
    let i = *at;
    *at += 1;
    debug_assert_eq!(
        row.as_ref().column_name(i).ok(),
        Some(name),
        "column {i} of the query is not the model's field {name}"
    );
    row.get(i)
}

from_sqlite_row!(Client {
    id,
    token_hash,
    sign_in_id,
    sign_up_id,
    last_active_session_id,
    last_auth_at,
    created_at,
    updated_at,
});
from_sqlite_row!(Session {
    id,
    client_id,
    user_id,
    status,
    first_factor_at,
    second_factor_at,
    last_active_at,
    expire_at,
    ended_at,
    last_active_organization_id,
    actor,
    latest_activity,
    created_at,
    updated_at,
});
from_sqlite_row!(User {
    id,
    username,
    first_name,
    last_name,
    password_digest,
    password_hasher,
    public_metadata,
    private_metadata,
    unsafe_metadata,
    banned,
    admin_locked,
    failed_password_attempts,
    lockout_until,
    primary_email_address_id,
    primary_phone_number_id,
    last_sign_in_at,
    last_active_at,
    created_at,
    updated_at,
    totp_enabled,
    backup_code_enabled,
});
from_sqlite_row!(Identifier {
    id,
    user_id,
    kind,
    value,
    value_normalized,
    verified,
    verification_strategy,
    verification,
    created_at,
    updated_at,
});
from_sqlite_row!(ExternalAccount {
    id,
    user_id,
    provider,
    provider_user_id,
    email_address,
    email_verified,
    first_name,
    last_name,
    username,
    avatar_url,
    sealed_access_token,
    sealed_refresh_token,
    token_expire_at,
    scopes,
    created_at,
    updated_at,
});

from_sqlite_row!(SamlConnection {
    id,
    name,
    idp_entity_id,
    idp_sso_url,
    idp_certificates,
    attribute_mapping,
    allow_idp_initiated,
    sign_authn_requests,
    allow_sha1,
    active,
    sealed_sp_key,
    sp_certificate,
    created_at,
    updated_at,
});
from_sqlite_row!(SamlAccount {
    id,
    user_id,
    connection_id,
    name_id,
    email_address,
    first_name,
    last_name,
    created_at,
    updated_at,
});
from_sqlite_row!(SamlRequest {
    id,
    relay_state_hash,
    connection_id,
    sign_in_id,
    client_id,
    redirect_url,
    action_complete_redirect_url,
    expire_at,
    responded_at,
    completion_hash,
    sealed_result,
    completed_at,
    created_at,
});

impl Store {
    /// At most one row of `sql` with the text parameters `binds` (`$1`, `$2`, ...).
    pub(crate) async fn read_optional<T>(&self, sql: &str, binds: &[&str]) -> StoreResult<Option<T>>
    where
        T: FromSqliteRow + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        if let Some(inline) = self.inline_reader() {
            return Ok(inline.read(|conn| sqlite_optional(conn, sql, binds))?);
        }
        let mut query = sqlx::query_as::<_, T>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        Ok(query.fetch_optional(self.reader()).await?)
    }

    /// Every row of `sql` with the text parameters `binds`.
    pub(crate) async fn read_all<T>(&self, sql: &str, binds: &[&str]) -> StoreResult<Vec<T>>
    where
        T: FromSqliteRow + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        if let Some(inline) = self.inline_reader() {
            return Ok(inline.read(|conn| sqlite_all(conn, sql, binds))?);
        }
        let mut query = sqlx::query_as::<_, T>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        Ok(query.fetch_all(self.reader()).await?)
    }

    /// The single column of at most one row of `sql` with the text parameters `binds`.
    pub(crate) async fn read_value<T>(&self, sql: &str, binds: &[&str]) -> StoreResult<Option<T>>
    where
        T: rusqlite::types::FromSql
            + for<'r> sqlx::Decode<'r, Any>
            + sqlx::Type<Any>
            + Send
            + Unpin,
    {
        if let Some(inline) = self.inline_reader() {
            return Ok(inline.read(|conn| {
                use rusqlite::OptionalExtension;
                conn.prepare_cached(sql)?
                    .query_row(rusqlite::params_from_iter(binds), |row| row.get(0))
                    .optional()
            })?);
        }
        let mut query = sqlx::query_scalar::<_, T>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        Ok(query.fetch_optional(self.reader()).await?)
    }
}

/// At most one row of `sql` on a `rusqlite` connection (or read transaction).
pub(crate) fn sqlite_optional<T: FromSqliteRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    binds: &[&str],
) -> rusqlite::Result<Option<T>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(sql)?
        .query_row(rusqlite::params_from_iter(binds), T::from_sqlite_row)
        .optional()
}

/// Every row of `sql` on a `rusqlite` connection (or read transaction).
pub(crate) fn sqlite_all<T: FromSqliteRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    binds: &[&str],
) -> rusqlite::Result<Vec<T>> {
    conn.prepare_cached(sql)?
        .query_map(rusqlite::params_from_iter(binds), T::from_sqlite_row)?
        .collect()
}
