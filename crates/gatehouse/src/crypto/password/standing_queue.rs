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
//! or below capacity never refuses, so this never changes what it admits. The state
//! clears when a request finds a slot that has sat free for half a hash or more (the load
//! fell below capacity), not merely one that just came free.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// How long overload must have lasted, in mean hash times, before shedding starts.
const OVERLOADED_FOR_HASHES: u32 = 2;

#[derive(Debug, Default)]
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
    /// When the last job finished.
    last_finished: Option<Instant>,
    /// Whether shedding has started in this overload (waiters were told).
    shedding: bool,
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
}

impl StandingQueue {
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
        self.state().overloaded_since.get_or_insert(now);
    }

    /// A job starts after waiting `waited` (exactly zero when it found a free slot).
    pub(super) fn started(&self, waited: Duration, now: Instant) {
        let mut state = self.state();
        if waited.is_zero() {
            let idle_long = match (state.last_finished, state.mean_job) {
                (Some(last), Some(mean)) => now.duration_since(last) >= mean / 2,
                _ => true,
            };
            if idle_long {
                state.overloaded_since = None;
                state.shedding = false;
            }
        }
        state.running.push(now);
    }

    /// A job that started at `started` finished (or panicked) at `now`.
    pub(super) fn finished(&self, started: Instant, now: Instant) {
        let mut state = self.state();
        if let Some(i) = state.running.iter().position(|s| *s == started) {
            state.running.swap_remove(i);
        }
        state.last_finished = Some(now);
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
        let q = StandingQueue::default();
        let mut now = Instant::now();
        for _ in 0..jobs {
            q.started(HASH * 3, now);
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
        q.started(HASH * 3, now);
        assert!(
            q.may_wait(3, now),
            "nothing refused: at capacity, not overloaded"
        );
    }

    #[test]
    fn a_short_burst_may_fill_the_queue() {
        let (q, now) = after_jobs(1, true);
        q.started(HASH * 3, now);
        assert!(
            q.may_wait(3, now),
            "refusing for less than 2 hashes is a burst"
        );
    }

    #[test]
    fn sustained_overload_admits_only_a_short_wait() {
        let (q, now) = after_jobs(8, true);
        q.started(HASH * 3, now);
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

        // The overload ends; the next one starts shedding afresh.
        q.started(Duration::ZERO, now + HASH * 5);
        q.finished(now + HASH * 5, now + HASH * 6);
        q.refused(now + HASH * 6);
        q.may_wait(1, now + HASH * 9);
        assert!(again.as_mut().now_or_never().is_some());
    }

    #[test]
    fn a_slot_that_sat_free_ends_the_overload() {
        let (q, now) = after_jobs(8, true);
        q.started(Duration::ZERO, now + HASH / 2);
        assert!(q.may_wait(3, now + HASH / 2));
    }

    #[test]
    fn a_slot_taken_as_it_frees_up_keeps_shedding() {
        let (q, now) = after_jobs(8, true);
        q.started(Duration::ZERO, now + HASH / 10);
        assert!(!q.may_wait(1, now + HASH));
    }
}
