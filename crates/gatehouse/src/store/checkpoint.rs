//! Checkpoints of the SQLite write-ahead log, on a thread of their own.
//!
//! By default SQLite checkpoints inside the commit that takes the log past 1,000 frames:
//! that commit copies the logged pages into the database file and waits for the file's
//! `fsync`, and every other write of the process queues behind it (there is one writer).
//! On a database of a million users those pages are scattered over the file, and one
//! sign-in in ~75 took ~11 ms longer than the others (docs/PERFORMANCE.md). So the
//! store's connections turn the automatic checkpoint off (`wal_autocheckpoint = 0` in the
//! store's pragmas) and this thread runs a PASSIVE checkpoint, which never blocks a
//! reader or a writer, every [`INTERVAL`] while writes come in. The rounds are short
//! because the copying still takes CPU: on a one-core server it delays whatever runs
//! next, and a few dozen pages at a time spread that thinly instead of making one
//! request in a thousand frames pay for all of them.
//!
//! A PASSIVE checkpoint copies only what no reader still needs, and the log starts over
//! only once everything in it was copied. Should the log still grow past
//! [`MAX_LOG_FRAMES`] (a long read, or writes outpacing the checkpoints), a RESTART
//! checkpoint waits for the writer and the readers and starts the log over, so its size
//! stays bounded. The log itself is the durable record: a crash between checkpoints
//! loses nothing, and the next connection to open the file recovers from it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is checkpointed while writes are coming in.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The longest wait between looks at an idle database (the wait doubles from
/// [`INTERVAL`] while nothing is written).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Frames (pages of 4 KiB) the log may hold before a checkpoint waits for everyone.
pub const MAX_LOG_FRAMES: u64 = 10_000;

/// What the checkpoints did, for tests and metrics.
#[derive(Debug, Default)]
pub struct CheckpointStats {
    /// Checkpoints run (PASSIVE or RESTART).
    pub runs: AtomicU64,
    /// RESTART checkpoints run because the log had grown past the limit.
    pub restarts: AtomicU64,
    /// Frames in the log after the latest checkpoint.
    pub log_frames: AtomicU64,
    /// Frames of that log copied into the database file.
    pub copied_frames: AtomicU64,
}

/// Owns the checkpoint thread: it stops as soon as this is dropped.
#[derive(Debug)]
pub struct Checkpointer {
    thread: Thread,
    shared: Arc<Shared>,
}

/// What the owner and the thread share.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    stats: CheckpointStats,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Nothing else on the thread parks, so this wakes its wait (or the next one).
        self.thread.unpark();
    }
}

/// Whether the database changed since the last look: SQLite's `data_version` changes when
/// another connection commits.
struct Changes {
    last: Option<i64>,
}

impl Changes {
    fn since_last(&mut self, conn: &Connection) -> rusqlite::Result<bool> {
        let now: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let changed = self.last != Some(now);
        self.last = Some(now);
        Ok(changed)
    }
}

impl Checkpointer {
    /// Starts checkpointing the WAL of the SQLite file at `path` every `interval` in which
    /// something was written, until the returned value is dropped.
    pub fn start(path: PathBuf, interval: Duration, max_log_frames: u64) -> Arc<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gatehouse-checkpoint".into())
            .spawn(move || run(&path, interval, max_log_frames, &thread_shared))
            .expect("spawning the checkpoint thread");
        Arc::new(Checkpointer {
            thread: thread.thread().clone(),
            shared,
        })
    }

    /// Read by the tests; `/metrics` has the same figures.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn stats(&self) -> &CheckpointStats {
        &self.shared.stats
    }
}

fn run(path: &PathBuf, interval: Duration, max_log_frames: u64, shared: &Shared) {
    let stats = &shared.stats;
    let mut conn: Option<Connection> = None;
    let mut changes = Changes { last: None };
    let idle_wait = IDLE_WAIT.max(interval);
    let mut wait = interval;
    loop {
        std::thread::park_timeout(wait);
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        if conn.is_none() {
            conn = open(path)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "could not open the database to checkpoint it"),
                )
                .ok();
        }
        let Some(c) = conn.as_ref() else {
            wait = idle_wait;
            continue;
        };
        wait = match checkpoint_if_written(c, &mut changes, max_log_frames, stats) {
            Ok(true) => interval,
            Ok(false) => (wait * 2).min(idle_wait),
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                conn = None;
                idle_wait
            }
        };
    }
}

fn open(path: &PathBuf) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// One round: a PASSIVE checkpoint if anything was written since the last round, then a
/// RESTART one if the log is still longer than `max_log_frames`. Returns whether anything
/// was written.
fn checkpoint_if_written(
    conn: &Connection,
    changes: &mut Changes,
    max_log_frames: u64,
    stats: &CheckpointStats,
) -> rusqlite::Result<bool> {
    if !changes.since_last(conn)? {
        return Ok(false);
    }
    let (log, copied) = checkpoint(conn, "PASSIVE", stats)?;
    if log > max_log_frames && copied < log {
        stats.restarts.fetch_add(1, Ordering::Relaxed);
        checkpoint(conn, "RESTART", stats)?;
    }
    Ok(true)
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns (frames in the log, frames copied).
fn checkpoint(
    conn: &Connection,
    mode: &str,
    stats: &CheckpointStats,
) -> rusqlite::Result<(u64, u64)> {
    let (log, copied): (i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })?;
    // -1 when the file is not in WAL mode (nothing to do).
    let (log, copied) = (log.max(0) as u64, copied.max(0) as u64);
    stats.runs.fetch_add(1, Ordering::Relaxed);
    stats.log_frames.store(log, Ordering::Relaxed);
    stats.copied_frames.store(copied, Ordering::Relaxed);
    metrics::counter!("gatehouse_sqlite_checkpoints_total", "mode" => mode.to_ascii_lowercase())
        .increment(1);
    metrics::gauge!("gatehouse_sqlite_wal_frames").set(log as f64);
    Ok((log, copied))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::SQLITE_PRAGMAS;

    /// A WAL database with the store's pragmas and one table.
    fn database(dir: &tempfile::TempDir) -> (PathBuf, Connection) {
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SQLITE_PRAGMAS).unwrap();
        conn.execute_batch("CREATE TABLE t (v BLOB)").unwrap();
        (path, conn)
    }

    /// `n` commits of one row each (a frame or two each).
    fn commits(conn: &Connection, n: usize) {
        for _ in 0..n {
            conn.execute("INSERT INTO t VALUES (randomblob(100))", [])
                .unwrap();
        }
    }

    fn wal_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path.with_extension("sqlite-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_commit_never_checkpoints_with_the_store_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(&dir);
        // SQLite's default would copy the log into the file at 1,000 frames and reuse it
        // from the start, so it would never hold 1,500 frames.
        commits(&conn, 1_500);
        let frame = 24 + 4096;
        assert!(
            wal_len(&path) >= 1_500 * frame,
            "log of {} bytes: a commit checkpointed",
            wal_len(&path)
        );
    }

    #[test]
    fn writes_are_checkpointed_in_the_background_and_the_log_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(&dir);
        // Written before the thread starts, so that its first round finds all 200 commits
        // in the log (a round in between would copy them and start the log over).
        commits(&conn, 200);
        let checkpointer = Checkpointer::start(path.clone(), Duration::from_millis(20), 10_000);
        let stats = checkpointer.stats();
        wait_for("a checkpoint of the 200 commits", || {
            let log = stats.log_frames.load(Ordering::Relaxed);
            log >= 200 && stats.copied_frames.load(Ordering::Relaxed) == log
        });
        let before = stats.log_frames.load(Ordering::Relaxed);
        let runs = stats.runs.load(Ordering::Relaxed);

        // Everything was copied, so the next commit writes the log from its start.
        commits(&conn, 1);
        wait_for("a checkpoint of the next commit", || {
            stats.runs.load(Ordering::Relaxed) > runs
        });
        let after = stats.log_frames.load(Ordering::Relaxed);
        assert!(after < 10, "the log went on from frame {before} to {after}");
        assert_eq!(stats.restarts.load(Ordering::Relaxed), 0);
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 201);
    }

    #[test]
    fn nothing_written_means_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(&dir);
        commits(&conn, 10);
        let checkpointer = Checkpointer::start(path, Duration::from_millis(20), 10_000);
        wait_for("the first checkpoint", || {
            checkpointer.stats().runs.load(Ordering::Relaxed) == 1
        });
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(checkpointer.stats().runs.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_log_past_the_limit_is_restarted_once_a_long_read_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = database(&dir);
        commits(&conn, 5);
        // A reader holding an old snapshot: a PASSIVE checkpoint cannot copy what came
        // after it, so the log keeps growing past the limit.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        commits(&conn, 100);
        let checkpointer = Checkpointer::start(path, Duration::from_millis(20), 50);
        let stats = checkpointer.stats();
        // The RESTART checkpoint starts and waits for the reader (busy timeout) ...
        wait_for("a RESTART checkpoint", || {
            stats.restarts.load(Ordering::Relaxed) == 1
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            stats.runs.load(Ordering::Relaxed),
            1,
            "the RESTART returned while a reader held its old snapshot"
        );
        reader.execute_batch("COMMIT").unwrap();
        // ... and once it has finished, everything is copied and the log starts over.
        wait_for("the log to be copied whole", || {
            let log = stats.log_frames.load(Ordering::Relaxed);
            stats.copied_frames.load(Ordering::Relaxed) == log && log > 0
        });
        let runs = stats.runs.load(Ordering::Relaxed);
        commits(&conn, 1);
        wait_for("the next checkpoint", || {
            stats.runs.load(Ordering::Relaxed) > runs
        });
        assert!(stats.log_frames.load(Ordering::Relaxed) < 10);
    }

    #[test]
    fn the_thread_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _conn) = database(&dir);
        let checkpointer = Checkpointer::start(path, Duration::from_secs(3600), 10_000);
        let shared = Arc::downgrade(&checkpointer.shared);
        drop(checkpointer);
        // The thread held the last reference to what it shared: it ended.
        wait_for("the thread to end", || shared.strong_count() == 0);
    }
}
