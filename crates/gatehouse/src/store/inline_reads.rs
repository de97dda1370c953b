//! SQLite point reads on the calling thread.
//!
//! sqlx runs every SQLite connection on a worker thread of its own, so each query is a
//! hand-off to that thread and back, plus a ping when the connection returns to the pool:
//! about 17 µs of one core per read, more than the read itself. The token endpoint's read
//! is the hottest query there is, so it runs here instead, on plain connections used
//! inline (a few µs). A read in WAL mode never waits for the writer, so blocking the
//! calling thread for it is fine. Reads only: every write still goes through the single
//! writer connection.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Idle connections kept at most; more are opened when calls overlap and closed after.
const MAX_IDLE: usize = 8;

pub struct InlineReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InlineReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReaders")
            .field("path", &self.path)
            .finish()
    }
}

impl InlineReaders {
    /// Readers of the SQLite database file at `path` (which must exist).
    pub fn new(path: PathBuf) -> InlineReaders {
        InlineReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = read(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}

/// The database file of a `sqlite:` URL, if it names one (not `:memory:`).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_of_urls() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/g/gatehouse.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/g/gatehouse.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:data/g.db"),
            Some(PathBuf::from("data/g.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://"), None);
        assert_eq!(sqlite_file("postgres://localhost/g"), None);
    }

    #[test]
    fn reads_reuse_connections_and_see_committed_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);",
            )
            .unwrap();
        let readers = InlineReaders::new(path);
        let count = || {
            readers
                .read(|c| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)))
                .unwrap()
        };
        assert_eq!(count(), 1);
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(count(), 2, "a pooled connection sees the new commit");
        assert_eq!(
            readers.idle.lock().unwrap().len(),
            1,
            "one connection, reused"
        );
        let write = readers.read(|c| c.execute("INSERT INTO t VALUES (3)", []));
        assert!(write.is_err(), "inline connections are read-only");
    }
}
