//! The SQLite connection that commits write batches (`writes::Batch`) on a blocking
//! thread, one transaction per hand-off.
//!
//! It is a second writer connection to the file, so it only ever runs while the store's
//! single sqlx writer connection is checked out and idle (`Store::commit_batch`): within
//! a process there is still one writer at a time, and other processes wait on the file
//! lock through the busy timeout as before.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, TransactionBehavior};

use super::writes::Statement;
use super::{StoreResult, SQLITE_PRAGMAS};

pub struct InlineWriter {
    path: PathBuf,
    /// Opened on first use and kept.
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for InlineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl InlineWriter {
    /// A writer of the SQLite database file at `path` (which must exist, in WAL mode).
    pub fn new(path: PathBuf) -> InlineWriter {
        InlineWriter {
            path,
            conn: Mutex::new(None),
        }
    }

    /// Runs `statements` as one `BEGIN IMMEDIATE` transaction; the first failure rolls
    /// back all of them. Blocks (the commit waits for the disk): call it off the async
    /// workers.
    pub fn run(&self, statements: &[Statement]) -> StoreResult<()> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let conn = match guard.as_mut() {
            Some(conn) => conn,
            None => guard.insert(self.connect()?),
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for statement in statements {
            statement.run_sqlite(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.execute_batch(SQLITE_PRAGMAS)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}
