//! Persistence: one `Store` over SQLite or PostgreSQL.
//!
//! Both databases run the same SQL (one dialect: `$n` parameters, BIGINT epoch
//! milliseconds, INTEGER booleans, TEXT JSON) through sqlx's `Any` driver, so behaviour
//! cannot drift between them; what differs is how connections are set up:
//! - SQLite runs in WAL mode with a busy timeout, and every write goes through a
//!   single-connection writer pool whose transactions start `BEGIN IMMEDIATE`, so writers
//!   queue in-process instead of failing with `database is locked`; reads use a separate
//!   pool and never block on writers.
//!   The token endpoint's read and the reads every signed-in request makes run on the
//!   calling thread instead (`inline_reads`, `point_reads`), and a transaction that only
//!   writes can be committed as one batch in a single hand-off (`writes`,
//!   `inline_writes`).
//! - PostgreSQL uses one shared pool for both.

mod attempts;
mod checkpoint;
mod clients;
mod codes;
mod external_accounts;
mod identifiers;
mod inline_reads;
mod inline_writes;
mod jwt_templates;
mod keys;
mod links;
mod mfa;
mod outbox;
mod point_reads;
mod rate_limits;
mod saml;
mod sessions;
mod users;
mod writes;

pub use codes::*;
pub use jwt_templates::*;
pub use keys::*;
pub use links::*;
pub use mfa::*;
pub use outbox::*;
pub use sessions::*;
pub use users::*;
pub use writes::{Batch, Statement, Writes};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use checkpoint::Checkpointer;
use inline_reads::{sqlite_file, InlineReaders};
use inline_writes::InlineWriter;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

/// Which database a `Store` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database behind every Gatehouse process of one instance.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// SQLite files only: connections for reads on the calling thread.
    inline: Option<Arc<InlineReaders>>,
    /// SQLite files only: the connection that commits write batches.
    batch_writer: Option<Arc<InlineWriter>>,
    /// SQLite files only: checkpoints the write-ahead log off the request path.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// A storage failure, classified for the callers that must tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. an email address already taken).
    #[error("unique constraint violated")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement that had to change a row changed none (`Statement::must_change`);
    /// the transaction was rolled back.
    #[error("a write that had to change a row changed none")]
    Unchanged,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Maps unique violations to `Conflict` and keeps everything else.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict;
        }
    }
    StoreError::Database(e)
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every SQLite connection that may write. No commit checkpoints the log: the
/// checkpoint thread does (`checkpoint`).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;";

impl Store {
    /// Connects (creating a SQLite file if needed) without migrating.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?;
        if url.starts_with("sqlite:") {
            let file = sqlite_file(url);
            if let Some(dir) = file.as_ref().and_then(|f| f.parent()) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            let pool = |max: u32| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    // No `SELECT 1` round trip to the connection's worker thread before
                    // every query: a local file has no connection to lose, and the check
                    // cost two context switches per query (bench/run.sh, docs/PERFORMANCE.md).
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
            };
            let write = pool(1).connect_with(options.clone()).await?;
            let readers = std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(2)
                .max(2)
                * 2;
            let read = pool(readers).connect_with(options).await?;
            Ok(Store {
                read,
                write,
                backend: Backend::Sqlite,
                batch_writer: file.clone().map(|f| Arc::new(InlineWriter::new(f))),
                _checkpointer: file.clone().map(|f| {
                    Checkpointer::start(f, checkpoint::INTERVAL, checkpoint::MAX_LOG_FRAMES)
                }),
                inline: file.map(|f| Arc::new(InlineReaders::new(f))),
            })
        } else {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Store {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
                inline: None,
                batch_writer: None,
                _checkpointer: None,
            })
        }
    }

    /// Connects and applies every pending migration.
    pub async fn open(url: &str) -> StoreResult<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; safe to run from several processes at once.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.write).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub(crate) fn inline_reader(&self) -> Option<&InlineReaders> {
        self.inline.as_deref()
    }

    pub(crate) fn batch_writer(&self) -> Option<&Arc<InlineWriter>> {
        self.batch_writer.as_ref()
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front so a
    /// transaction that reads before it writes can never fail to upgrade.
    pub async fn begin(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// A value from the instance settings table.
    pub async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Stores a setting, replacing any value it had.
    pub async fn setting_put(&self, name: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO instance_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Removes a setting; false when there was none.
    pub async fn setting_delete(&self, name: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM instance_settings WHERE name = $1")
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Stores a setting unless one exists; returns the value in effect.
    pub async fn setting_insert_if_absent(&self, name: &str, value: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO instance_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&self.write)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = $1")
                .bind(name)
                .fetch_one(&self.write)
                .await?,
        )
    }
}
