//! Gives freed heap memory back to the operating system once a busy spell ends.
//!
//! glibc keeps memory freed by other threads' arenas mapped for reuse: after 1,000
//! concurrent connections the resident size stayed ~24 MiB above its idle level for good
//! (measured: 63.9 MiB at rest, 40.9 MiB after `malloc_trim(0)`). So when a housekeeping
//! tick finds traffic has dropped to a trickle after a busier tick, the free memory is
//! trimmed once. Health checks at a steady rate count as quiet and trigger nothing.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests in one tick at or below which the server counts as quiet.
const QUIET_REQUESTS_PER_TICK: u64 = 30;

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts one request served (called by the request-logging middleware).
pub fn request_seen() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// Decides, tick by tick, when a busy spell has just ended.
#[derive(Debug, Default)]
pub struct IdleTrim {
    seen_at_last_tick: u64,
    busy: bool,
}

impl IdleTrim {
    /// One housekeeping tick: trims if traffic just fell to quiet. Returns whether it did.
    pub fn tick(&mut self) -> bool {
        let trim = self.observe(REQUESTS.load(Ordering::Relaxed));
        if trim {
            release_free_memory();
        }
        trim
    }

    /// With `requests` served in total so far: did a busy spell just end?
    fn observe(&mut self, requests: u64) -> bool {
        let this_tick = requests.saturating_sub(self.seen_at_last_tick);
        self.seen_at_last_tick = requests;
        let was_busy = std::mem::replace(&mut self.busy, this_tick > QUIET_REQUESTS_PER_TICK);
        was_busy && !self.busy
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks and trims glibc's own arenas under their locks; it
    // takes no pointers from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_when_a_busy_spell_ends() {
        let mut trim = IdleTrim::default();
        let mut total = 0;
        let mut ticks = Vec::new();
        for requests in [5, 5, 500, 9000, 12, 3, 0, 800, 0, 31, 30] {
            total += requests;
            ticks.push(trim.observe(total));
        }
        assert_eq!(
            ticks,
            [false, false, false, false, true, false, false, false, true, false, true]
        );
    }

    #[test]
    fn steady_health_checks_never_trim() {
        let mut trim = IdleTrim::default();
        assert!((1..100).all(|t| !trim.observe(t * QUIET_REQUESTS_PER_TICK)));
    }
}
