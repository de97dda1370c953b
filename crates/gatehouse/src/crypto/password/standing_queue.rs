//! Keeps the hash queue short under *sustained* overload.
//!
//! The wait queue (`hash_queue`) exists to absorb bursts. Under sustained overload it is
//! always full, so every admitted sign-in waits for a full queue of hashes before its own
//! and admitted latency grows to `queue + 1` hash times. Once requests have been refused
//! for a full queue for two hash times in a row (overload, not a burst), a request
//! that finds no free slot is admitted only if nobody else is waiting and a running hash
//! is at least half done, so it waits at most about half a hash; the others are refused
//! as they would have been anyway. When shedding starts, the requests already waiting
//! behind a full queue are told (see [`StandingQueue::shedding_began`]) so that those not
//! next in line leave with the same refusal instead of waiting out the queue. A server at
//! or below capacity never refuses, so this never changes what it admits.
//!
//! The state clears when the load falls below capacity: when, over a window of
//! [`LOAD_WINDOW_HASHES`] hash times spent wholly in overload, fewer requests came (run or
//! refused) than the slots could have run. A slot that sits free for a moment is no such
//! sign: under overload it happens whenever no request happens to arrive in the second
//! half of a hash, and clearing then would let the queue fill again and make the next few
//! admitted requests wait out a full queue.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// How long overload must have lasted, in mean hash times, before shedding starts.
const OVERLOADED_FOR_HASHES: u32 = 2;

/// The window, in mean hash times, over which the offered load is counted to tell that
/// an overload has ended. Long enough that arrivals bunching by chance do not end it.
const LOAD_WINDOW_HASHES: u32 = 8;

#[derive(Debug)]
pub(super) struct StandingQueue {
    state: Mutex<State>,
    /// Woken once each time shedding starts.
    shedding: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Moving average of a job's run time.
    mean_job: Option<Duration>,
    /// Since when requests have been refused, with no slot sitting free in between.
    overloaded_since: Option<Instant>,
    /// Start times of the jobs running now.
    running: Vec<Instant>,
    /// Whether shedding has started in this overload (waiters were told).
    shedding: bool,
    /// Jobs the pool runs at once.
    concurrency: usize,
    /// Since when requests are being counted, and how many came (started or refused).
    window_start: Option<Instant>,
    window_requests: u32,
}

impl State {
    /// Whether requests have been refused for long enough to call it overload.
    fn overload_lasted(&self, now: Instant) -> bool {
        match (self.overloaded_since, self.mean_job) {
            (Some(since), Some(mean)) => now.duration_since(since) >= mean * OVERLOADED_FOR_HASHES,
            _ => false,
        }
    }

    /// Nobody else waits and a running job is at least half done.
    fn wait_is_short(&self, waiting: usize, now: Instant) -> bool {
        let Some(mean) = self.mean_job else {
            return true;
        };
        waiting == 0
            && self
                .running
                .iter()
                .any(|started| now.duration_since(*started) >= mean / 2)
    }

    /// Counts a request (started or refused) and, when a window of
    /// [`LOAD_WINDOW_HASHES`] hash times closes, ends an overload that lasted the whole
    /// window if fewer requests came in it than the slots could have run.
    fn count_request(&mut self, now: Instant) {
        self.window_requests = self.window_requests.saturating_add(1);
        let start = *self.window_start.get_or_insert(now);
        let Some(mean) = self.mean_job.filter(|m| !m.is_zero()) else {
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed < mean * LOAD_WINDOW_HASHES {
            return;
        }
        let could_run = elapsed.as_secs_f64() / mean.as_secs_f64() * self.concurrency as f64;
        let overloaded_all_window = self.overloaded_since.is_some_and(|since| since <= start);
        if overloaded_all_window && f64::from(self.window_requests) < could_run {
            self.overloaded_since = None;
            self.shedding = false;
        }
        self.window_start = Some(now);
        self.window_requests = 0;
    }
}

impl StandingQueue {
    /// The state of a pool running `concurrency` jobs at once.
    pub(super) fn new(concurrency: usize) -> Self {
        Self {
            state: Mutex::new(State {
                concurrency: concurrency.max(1),
                ..State::default()
            }),
            shedding: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves when shedding next starts. Take it before asking [`Self::may_wait`]: it
    /// hears a start from the moment it is created, even before it is first polled.
    pub(super) fn shedding_began(&self) -> Notified<'_> {
        self.shedding.notified()
    }

    /// A request found no free slot: may it wait, with `waiting` others already waiting?
    pub(super) fn may_wait(&self, waiting: usize, now: Instant) -> bool {
        let mut state = self.state();
        if !state.overload_lasted(now) {
            return true;
        }
        if !state.shedding {
            state.shedding = true;
            self.shedding.notify_waiters();
        }
        state.wait_is_short(waiting, now)
    }

    /// A request was refused (queue full, or by [`Self::may_wait`]).
    pub(super) fn refused(&self, now: Instant) {
        let mut state = self.state();
        state.count_request(now);
        state.overloaded_since.get_or_insert(now);
    }

    /// A job starts (after waiting, or in a free slot).
    pub(super) fn started(&self, now: Instant) {
        let mut state = self.state();
        state.count_request(now);
        state.running.push(now);
    }

    /// A job that started at `started` finished (or panicked) at `now`.
    pub(super) fn finished(&self, started: Instant, now: Instant) {
        let mut state = self.state();
        if let Some(i) = state.running.iter().position(|s| *s == started) {
            state.running.swap_remove(i);
        }
        let took = now.duration_since(started);
        state.mean_job = Some(match state.mean_job {
            Some(mean) => (mean * 4 + took) / 5,
            None => took,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: Duration = Duration::from_millis(20);

    /// A queue that ran `jobs` back-to-back jobs of `HASH` after waiting, refusing a
    /// request during each when `refusing`.
    fn after_jobs(jobs: u32, refusing: bool) -> (StandingQueue, Instant) {
        let q = StandingQueue::new(1);
        let mut now = Instant::now();
        for _ in 0..jobs {
            q.started(now);
            if refusing {
                q.refused(now);
            }
            now += HASH;
            q.finished(now - HASH, now);
        }
        (q, now)
    }

    #[test]
    fn a_full_queue_at_capacity_is_never_shed() {
        let (q, now) = after_jobs(20, false);
        q.started(now);
        assert!(
            q.may_wait(3, now),
            "nothing refused: at capacity, not overloaded"
        );
    }

    #[test]
    fn a_short_burst_may_fill_the_queue() {
        let (q, now) = after_jobs(1, true);
        q.started(now);
        assert!(
            q.may_wait(3, now),
            "refusing for less than 2 hashes is a burst"
        );
    }

    #[test]
    fn sustained_overload_admits_only_a_short_wait() {
        let (q, now) = after_jobs(8, true);
        q.started(now);
        assert!(!q.may_wait(1, now + HASH / 2), "someone else is waiting");
        assert!(
            !q.may_wait(0, now + HASH / 4),
            "the running hash is not half done"
        );
        assert!(q.may_wait(0, now + HASH / 2), "at most half a hash to wait");
    }

    #[test]
    fn waiters_hear_once_when_shedding_starts() {
        use futures::FutureExt;
        let (q, now) = after_jobs(8, true);
        let first = q.shedding_began();
        tokio::pin!(first);
        q.may_wait(1, now);
        assert!(first.as_mut().now_or_never().is_some());

        let again = q.shedding_began();
        tokio::pin!(again);
        q.may_wait(1, now + HASH);
        assert!(again.as_mut().now_or_never().is_none(), "already shedding");

        // The overload ends (a request after a window of quiet); the next one starts
        // shedding afresh.
        let later = now + HASH * (LOAD_WINDOW_HASHES * 2);
        q.started(later);
        q.finished(later, later + HASH);
        q.refused(later + HASH);
        q.may_wait(1, later + HASH * 4);
        assert!(again.as_mut().now_or_never().is_some());
    }

    #[test]
    fn load_below_capacity_for_a_window_ends_the_overload() {
        let (q, mut now) = after_jobs(8, true);
        // One request every other hash time: half of what the slot can run.
        for _ in 0..(LOAD_WINDOW_HASHES + 2) {
            now += HASH * 2;
            q.started(now);
            q.finished(now, now + HASH);
        }
        q.started(now + HASH * 2);
        assert!(q.may_wait(3, now + HASH * 2), "the overload is over");
    }

    #[test]
    fn a_slot_that_sat_free_for_a_moment_keeps_shedding() {
        // Twice as many requests as the slot runs; after one hash nobody was waiting, and
        // the next request came when the slot had sat free for most of a hash.
        let (q, now) = after_jobs(8, true);
        q.started(now + HASH * 3 / 4);
        assert!(!q.may_wait(1, now + HASH));
        let (q, mut now) = after_jobs(8, true);
        for _ in 0..(LOAD_WINDOW_HASHES * 2) {
            now += HASH * 3 / 4;
            q.started(now);
            q.refused(now + HASH / 4);
            now += HASH;
            q.finished(now - HASH, now);
        }
        assert!(!q.may_wait(1, now), "still twice the capacity");
    }

    #[test]
    fn a_slot_taken_as_it_frees_up_keeps_shedding() {
        let (q, now) = after_jobs(8, true);
        q.started(now + HASH / 10);
        assert!(!q.may_wait(1, now + HASH));
    }
}
