//! Bounded concurrency for expensive password hashing.
//!
//! Each argon2id check takes ~19 MiB and tens of milliseconds of CPU. Under a
//! credential-stuffing burst we would rather answer 429 at once than queue
//! without bound and time everyone out.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::hash_threads::{HashThreads, NoThread};
use super::standing_queue::StandingQueue;

/// Returned when the pool is saturated and its wait queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is overloaded, retry later")]
pub struct Overloaded;

/// Runs closures on its own low-priority threads (see `hash_threads`), at most
/// `concurrency` at once, with at most `queue` callers waiting (fewer under sustained
/// overload, see `standing_queue`). Cloning shares the same pool.
#[derive(Debug, Clone)]
pub struct HashPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    permits: Arc<Semaphore>,
    concurrency: usize,
    /// Jobs running or waiting at most: concurrency + queue.
    capacity: usize,
    /// Jobs admitted and not finished (running or waiting). Released by the job itself
    /// when it finishes, so a caller whose job just returned always finds its place free.
    admitted: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    standing: Arc<StandingQueue>,
    line: Line,
    threads: HashThreads,
}

impl HashPool {
    /// A pool running `concurrency` jobs at once (at least 1) with `queue` wait slots.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(concurrency)),
                concurrency,
                capacity: concurrency.saturating_add(queue),
                admitted: Arc::new(AtomicUsize::new(0)),
                running: Arc::new(AtomicUsize::new(0)),
                standing: Arc::new(StandingQueue::new(concurrency)),
                line: Line::default(),
                threads: HashThreads::new(concurrency),
            }),
        }
    }

    /// Runs `f` on one of the pool's threads, waiting for a slot if needed, or
    /// returns [`Overloaded`] immediately when the queue is full.
    ///
    /// A panic inside `f` is propagated to the caller.
    pub async fn run<F, R>(&self, f: F) -> Result<R, Overloaded>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let inner = &self.inner;
        let arrived = Instant::now();
        // Dropped if this future is cancelled while waiting; else moved into the job.
        let admission = Admission::claim(&inner.admitted, inner.capacity)
            .inspect_err(|_| inner.standing.refused(arrived))?;
        let permit = match Arc::clone(&inner.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(Overloaded),
            Err(TryAcquireError::NoPermits) => self.wait_for_slot(arrived).await?,
        };
        let running = Running::start(inner);
        let (done, outcome) = oneshot::channel();
        // Everything the job holds moves into it, so it is held until the work is done
        // even if the caller stops waiting; the slot is released before the caller hears.
        let job = move || {
            let held = (running, admission, permit);
            let result = std::panic::catch_unwind(AssertUnwindSafe(f));
            drop(held);
            let _ = done.send(result);
        };
        inner.threads.run(job).map_err(|NoThread| Overloaded)?;
        match outcome.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // The thread is gone without an answer: only when the process is ending.
            Err(_) => Err(Overloaded),
        }
    }

    /// Waits in line for a slot, unless the standing-queue state refuses the wait or,
    /// once shedding starts, this caller is not next in line.
    async fn wait_for_slot(&self, arrived: Instant) -> Result<OwnedSemaphorePermit, Overloaded> {
        let inner = &self.inner;
        let shedding = inner.standing.shedding_began();
        tokio::pin!(shedding);
        let others_waiting = self.queue_depth().saturating_sub(1);
        if !inner.standing.may_wait(others_waiting, arrived) {
            inner.standing.refused(arrived);
            return Err(Overloaded);
        }
        // The semaphore serves waiters in the order they first poll it, which is (up to
        // a race between two arrivals) the order of their places in line.
        let place = inner.line.join();
        let permit = Arc::clone(&inner.permits).acquire_owned();
        tokio::pin!(permit);
        loop {
            tokio::select! {
                biased;
                permit = &mut permit => return permit.map_err(|_| Overloaded),
                () = &mut shedding => {
                    if place.ahead() >= inner.concurrency {
                        inner.standing.refused(Instant::now());
                        return Err(Overloaded);
                    }
                    shedding.set(inner.standing.shedding_began());
                }
            }
        }
    }

    /// Whether a caller arriving now would be refused; if so it counts as refused. Lets a
    /// request that needs a hash shed before doing any other work. It is an arrival like
    /// any other, so it may start shedding. Advisory: a caller told no may still be
    /// refused by [`Self::run`] a moment later.
    pub fn refuses_now(&self) -> bool {
        let inner = &self.inner;
        let now = Instant::now();
        let refuse = inner.admitted.load(Ordering::Acquire) >= inner.capacity
            || (inner.permits.available_permits() == 0
                && !inner.standing.may_wait(self.queue_depth(), now));
        if refuse {
            inner.standing.refused(now);
        }
        refuse
    }

    /// Callers currently waiting for a slot.
    pub fn queue_depth(&self) -> usize {
        let admitted = self.inner.admitted.load(Ordering::Relaxed);
        admitted.saturating_sub(self.in_flight())
    }

    /// Jobs currently holding a slot.
    pub fn in_flight(&self) -> usize {
        self.inner.running.load(Ordering::Relaxed)
    }
}

/// The order in which callers started waiting for a slot.
#[derive(Debug, Default)]
struct Line {
    next_ticket: AtomicU64,
    waiting: Mutex<BTreeSet<u64>>,
}

impl Line {
    fn waiting(&self) -> std::sync::MutexGuard<'_, BTreeSet<u64>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join(&self) -> Place<'_> {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.waiting().insert(ticket);
        Place { line: self, ticket }
    }
}

/// A caller's place in [`Line`], left on drop (served, refused or cancelled).
struct Place<'a> {
    line: &'a Line,
    ticket: u64,
}

impl Place<'_> {
    /// How many callers still waiting joined the line before this one.
    fn ahead(&self) -> usize {
        self.line.waiting().range(..self.ticket).count()
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.line.waiting().remove(&self.ticket);
    }
}

/// One admitted job (running or waiting), released on drop.
struct Admission(Arc<AtomicUsize>);

impl Admission {
    fn claim(admitted: &Arc<AtomicUsize>, capacity: usize) -> Result<Self, Overloaded> {
        admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .map(|_| Self(Arc::clone(admitted)))
            .map_err(|_| Overloaded)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts a running job for [`HashPool::in_flight`] and reports its start and run time
/// to the standing-queue state.
struct Running {
    counter: Arc<AtomicUsize>,
    standing: Arc<StandingQueue>,
    started: Instant,
}

impl Running {
    fn start(inner: &Inner) -> Self {
        let started = Instant::now();
        inner.running.fetch_add(1, Ordering::AcqRel);
        inner.standing.started(started);
        Self {
            counter: Arc::clone(&inner.running),
            standing: Arc::clone(&inner.standing),
            started,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
        self.standing.finished(self.started, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    async fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Occupies the pool's only slot until the returned sender is used.
    async fn occupy(
        pool: &HashPool,
    ) -> (
        mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), Overloaded>>,
    ) {
        let (release, wait) = mpsc::channel::<()>();
        let job = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    let _ = wait.recv();
                })
                .await
            }
        });
        wait_until("the first job to start", || pool.in_flight() == 1).await;
        (release, job)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_and_returns_values() {
        let pool = HashPool::new(2, 0);
        assert_eq!(pool.run(|| 40 + 2).await, Ok(42));
        assert_eq!((pool.in_flight(), pool.queue_depth()), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn third_caller_is_refused_immediately() {
        let pool = HashPool::new(1, 1);
        let (release, first) = occupy(&pool).await;
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 2).await }
        });
        wait_until("the second job to queue", || pool.queue_depth() == 1).await;

        let started = Instant::now();
        assert_eq!(pool.run(|| 3).await, Err(Overloaded));
        assert!(started.elapsed() < Duration::from_millis(100));

        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(second.await.unwrap(), Ok(2));
        wait_until("the pool to drain", || pool.in_flight() == 0).await;
        assert_eq!(pool.queue_depth(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_waiter_frees_its_queue_slot() {
        let pool = HashPool::new(1, 1);
        let (release, first) = occupy(&pool).await;
        let waiter = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| ()).await }
        });
        wait_until("the waiter to queue", || pool.queue_depth() == 1).await;
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert_eq!(pool.queue_depth(), 0);

        // The freed slot can be used again.
        let again = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 7).await }
        });
        wait_until("the new waiter to queue", || pool.queue_depth() == 1).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(again.await.unwrap(), Ok(7));
    }

    /// Twice as many 30 ms jobs as one slot can run, for 1.2 s: once overload has lasted,
    /// admitted jobs wait well under the full queue (4 jobs, 120 ms) and the slot stays busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sustained_overload_keeps_admitted_waits_short() {
        const JOB: Duration = Duration::from_millis(30);
        let pool = HashPool::new(1, 4);
        let began = Instant::now();
        let mut callers = Vec::new();
        while began.elapsed() < Duration::from_millis(1200) {
            let pool = pool.clone();
            callers.push(tokio::spawn(async move {
                let arrived = Instant::now();
                let outcome = pool
                    .run(move || {
                        let waited = arrived.elapsed();
                        std::thread::sleep(JOB);
                        waited
                    })
                    .await;
                (arrived, outcome)
            }));
            tokio::time::sleep(JOB / 2).await;
        }
        let mut admitted = 0;
        let mut late_waits = Vec::new();
        for caller in callers {
            let (arrived, outcome) = caller.await.unwrap();
            if let Ok(waited) = outcome {
                admitted += 1;
                if arrived.duration_since(began) > Duration::from_millis(600) {
                    late_waits.push(waited);
                }
            }
        }
        late_waits.sort();
        let p90 = late_waits[late_waits.len() * 9 / 10];
        assert!(
            p90 < JOB * 2,
            "admitted waits once the queue stood: {late_waits:?}"
        );
        // The slot stayed busy: 1.2 s holds 40 jobs; shedding must not leave it idle.
        assert!(admitted >= 30, "only {admitted} jobs ran");
    }

    /// As many closed-loop callers as slots plus queue: the queue stays full for a long
    /// time, but nobody is ever refused (that is capacity, not overload).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queue_kept_full_at_capacity_refuses_nobody() {
        let pool = HashPool::new(1, 3);
        let callers: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for _ in 0..15 {
                        pool.run(|| std::thread::sleep(Duration::from_millis(10)))
                            .await?;
                    }
                    Ok::<_, Overloaded>(())
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), Ok(()));
        }
    }

    /// Overload has lasted: the queue is full of callers who would each wait several hashes.
    /// When shedding starts, those not next in line are refused at once; the next one runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_shedding_starts_only_the_next_in_line_keeps_waiting() {
        const HASH: Duration = Duration::from_millis(20);
        let pool = HashPool::new(1, 4);
        for _ in 0..3 {
            pool.run(|| std::thread::sleep(HASH)).await.unwrap();
        }
        let (release_first, first) = occupy(&pool).await;
        let mut releases = Vec::new();
        let mut waiters = Vec::new();
        for i in 0..4 {
            let (release, wait) = mpsc::channel::<()>();
            releases.push(release);
            waiters.push(tokio::spawn({
                let pool = pool.clone();
                async move {
                    pool.run(move || {
                        let _ = wait.recv();
                        i
                    })
                    .await
                }
            }));
            wait_until("the waiter to queue", || pool.queue_depth() == i + 1).await;
        }
        assert_eq!(pool.run(|| 99).await, Err(Overloaded), "the queue is full");
        // Refusals go on for well over two (moving-average) hash times.
        tokio::time::sleep(HASH * 10).await;
        release_first.send(()).unwrap();
        first.await.unwrap().unwrap();
        wait_until("the first waiter to start", || pool.in_flight() == 1).await;

        // This arrival finds no slot and three waiting: shedding starts.
        let started = Instant::now();
        assert_eq!(pool.run(|| 100).await, Err(Overloaded));
        let third = waiters.remove(2);
        let fourth = waiters.remove(2);
        for refused in [third, fourth] {
            let outcome = tokio::time::timeout(Duration::from_secs(1), refused).await;
            assert_eq!(outcome.expect("still waiting").unwrap(), Err(Overloaded));
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(pool.queue_depth(), 1, "the next in line still waits");

        for release in releases {
            let _ = release.send(());
        }
        let outcomes: Vec<_> = futures::future::join_all(waiters).await;
        let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
        assert_eq!(outcomes, [Ok(0), Ok(1)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_now_tells_ahead_of_time() {
        let pool = HashPool::new(1, 1);
        assert!(!pool.refuses_now(), "idle");
        let (release, first) = occupy(&pool).await;
        assert!(!pool.refuses_now(), "a queue place is free");
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 2).await }
        });
        wait_until("the second job to queue", || pool.queue_depth() == 1).await;
        assert!(pool.refuses_now(), "running and waiting: full");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap(), Ok(2));
        wait_until("the pool to drain", || pool.in_flight() == 0).await;
        assert!(!pool.refuses_now(), "idle again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn zero_queue_means_no_waiting() {
        let pool = HashPool::new(1, 0);
        let (release, first) = occupy(&pool).await;
        assert_eq!(pool.run(|| ()).await, Err(Overloaded));
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
    }
}
