//! Write statements that run either at once, in an open transaction, or together as one
//! batch that the store commits in a single step.
//!
//! A flow whose transaction only writes (no reads between its statements) collects them
//! in a [`Batch`]; on a SQLite file [`Store::commit_batch`] runs the whole transaction in
//! one hand-off to a blocking thread instead of one round trip to the writer connection's
//! thread per statement (a password sign-in's completing transaction had eight). Store
//! functions that write take any [`Writes`], so the same SQL serves both ways.

use std::future::Future;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use sqlx::{Any, Transaction};

use super::{classify, Store, StoreError, StoreResult};

/// A value bound to a statement's `$n` parameter.
#[derive(Debug, Clone)]
enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

impl ToSql for Bind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Bind::Text(Some(text)) => ValueRef::Text(text.as_bytes()),
            Bind::Int(Some(n)) => ValueRef::Integer(*n),
            Bind::Text(None) | Bind::Int(None) => ValueRef::Null,
        }))
    }
}

/// One write: SQL in the store's dialect (`$n` parameters) and its values in order.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: String,
    binds: Vec<Bind>,
    /// Fail with [`StoreError::Unchanged`] (and roll back) when no row changes.
    must_change: bool,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            binds: Vec::new(),
            must_change: false,
        }
    }

    /// Binds the next parameter to text (or NULL).
    pub(crate) fn text<'a>(mut self, value: impl Into<Option<&'a str>>) -> Statement {
        self.binds
            .push(Bind::Text(value.into().map(str::to_string)));
        self
    }

    /// Binds the next parameter to an integer (or NULL).
    pub(crate) fn int(mut self, value: impl Into<Option<i64>>) -> Statement {
        self.binds.push(Bind::Int(value.into()));
        self
    }

    /// The transaction fails with [`StoreError::Unchanged`] unless this changes a row.
    pub(crate) fn must_change(mut self) -> Statement {
        self.must_change = true;
        self
    }

    /// Runs the statement on a SQLite connection inside a transaction: binds each value
    /// to its `$n` by name, so a parameter may appear more than once or out of order.
    pub(crate) fn run_sqlite(&self, conn: &rusqlite::Connection) -> StoreResult<()> {
        let mut stmt = conn.prepare_cached(&self.sql)?;
        for (i, value) in self.binds.iter().enumerate() {
            if let Some(index) = stmt.parameter_index(&format!("${}", i + 1))? {
                stmt.raw_bind_parameter(index, value)?;
            }
        }
        let changed = stmt.raw_execute().map_err(classify_sqlite)?;
        if self.must_change && changed == 0 {
            return Err(StoreError::Unchanged);
        }
        Ok(())
    }

    async fn run_sqlx(&self, tx: &mut Transaction<'_, Any>) -> StoreResult<()> {
        let mut query = sqlx::query(&self.sql);
        for value in &self.binds {
            query = match value {
                Bind::Text(text) => query.bind(text.as_deref()),
                Bind::Int(n) => query.bind(*n),
            };
        }
        let result = query.execute(&mut **tx).await.map_err(classify)?;
        if self.must_change && result.rows_affected() == 0 {
            return Err(StoreError::Unchanged);
        }
        Ok(())
    }
}

/// Maps SQLite's unique violations to `Conflict`, like `classify` does for sqlx.
fn classify_sqlite(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(failure, _) = &e {
        if matches!(
            failure.extended_code,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        ) {
            return StoreError::Conflict;
        }
    }
    StoreError::Sqlite(e)
}

/// Where a flow's writes go: an open transaction runs each at once, a [`Batch`] keeps
/// them for [`Store::commit_batch`].
pub trait Writes: Send {
    fn write(&mut self, statement: Statement) -> impl Future<Output = StoreResult<()>> + Send;
}

impl<'c> Writes for Transaction<'c, Any> {
    async fn write(&mut self, statement: Statement) -> StoreResult<()> {
        statement.run_sqlx(self).await
    }
}

/// Writes kept for one transaction that reads nothing in between, committed by
/// [`Store::commit_batch`].
#[derive(Debug, Default)]
pub struct Batch {
    statements: Vec<Statement>,
}

impl Writes for Batch {
    async fn write(&mut self, statement: Statement) -> StoreResult<()> {
        self.statements.push(statement);
        Ok(())
    }
}

impl Store {
    /// Commits every statement of `batch` in one transaction, or none of them: a
    /// statement that fails (or changes nothing when it must) rolls back the others.
    /// It takes the writer connection, so never call it while holding a transaction
    /// from [`Store::begin`]: on SQLite that would wait for itself.
    pub async fn commit_batch(&self, batch: Batch) -> StoreResult<()> {
        if batch.statements.is_empty() {
            return Ok(());
        }
        if let Some(writer) = self.batch_writer() {
            // The single writer connection is held, unused, so that no other write of
            // this process runs meanwhile. It moves into the job, so it stays held until
            // the commit is done even if the caller stops waiting.
            let only_writer = self.writer().acquire().await?;
            let writer = writer.clone();
            let job = tokio::task::spawn_blocking(move || {
                let _held = only_writer;
                writer.run(&batch.statements)
            });
            return match job.await {
                Ok(result) => result,
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // Only when the runtime is shutting down.
                    Err(_) => Err(sqlx::Error::PoolClosed.into()),
                },
            };
        }
        let mut tx = self.begin().await?;
        for statement in &batch.statements {
            statement.run_sqlx(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
