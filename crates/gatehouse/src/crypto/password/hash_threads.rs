//! The threads password hashes run on: the pool's own, at the lowest CPU priority.
//!
//! A hash holds a core for tens of milliseconds. On tokio's blocking threads it ran at the
//! same priority as the threads serving requests, so a request woken while a hash ran (its
//! commit done, a new connection, a token to mint) waited for the scheduler to take the
//! core back from the hash: about 3 ms on average with a 250 Hz tick, measured as the gap
//! between a hash finishing and its caller resuming while the next hash ran. On Linux these
//! threads run under `SCHED_IDLE`, so anything else of this process that wakes up runs at
//! once and the hashes take the rest of the core. Other services in their own cgroups
//! (systemd units, containers) are not affected: the kernel shares CPU between cgroups
//! before it looks at the policies inside one.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Up to `max` threads, started as jobs first need them, running jobs in the order given.
#[derive(Debug)]
pub(super) struct HashThreads {
    jobs: Sender<Job>,
    queue: Arc<Mutex<Receiver<Job>>>,
    started: Mutex<usize>,
    max: usize,
}

/// The job could not be handed to a thread (none could be started).
#[derive(Debug)]
pub(super) struct NoThread;

impl HashThreads {
    pub(super) fn new(max: usize) -> Self {
        let (jobs, queue) = channel();
        Self {
            jobs,
            queue: Arc::new(Mutex::new(queue)),
            started: Mutex::new(0),
            max: max.max(1),
        }
    }

    /// Runs `job` on one of the threads. The caller bounds how many jobs are in flight
    /// (to at most `max`), so a job never waits long for a thread.
    pub(super) fn run(&self, job: impl FnOnce() + Send + 'static) -> Result<(), NoThread> {
        self.start_thread_if_short()?;
        self.jobs.send(Box::new(job)).map_err(|_| NoThread)
    }

    fn start_thread_if_short(&self) -> Result<(), NoThread> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if *started >= self.max {
            return Ok(());
        }
        let queue = Arc::clone(&self.queue);
        let spawned = std::thread::Builder::new()
            .name("gatehouse-hash".into())
            .spawn(move || {
                lower_priority();
                work(&queue);
            });
        match spawned {
            Ok(_) => {
                *started += 1;
                Ok(())
            }
            // With threads already running the job waits for one of them.
            Err(_) if *started > 0 => Ok(()),
            Err(_) => Err(NoThread),
        }
    }
}

/// Runs jobs until the pool (the sending side) is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// `SCHED_IDLE` for the calling thread. No privilege is needed to lower one's own
/// priority; where it is refused (a restrictive seccomp profile) hashing runs as before.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pthread_self() is the calling thread and `param` outlives the call.
    let failed =
        unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_IDLE, &param) };
    if failed != 0 {
        tracing::debug!(
            error = failed,
            "password hashing threads keep the normal CPU priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_idle_priority_threads() {
        let threads = HashThreads::new(2);
        let (tx, rx) = channel();
        for _ in 0..4 {
            let tx = tx.clone();
            threads
                .run(move || {
                    // SAFETY: plain query of the calling thread's policy.
                    let policy = unsafe { libc::sched_getscheduler(0) };
                    let name = std::thread::current().name().map(str::to_owned);
                    tx.send((policy, name)).unwrap();
                })
                .unwrap();
        }
        for _ in 0..4 {
            let (policy, name) = rx.recv().unwrap();
            assert_eq!(policy, libc::SCHED_IDLE);
            assert_eq!(name.as_deref(), Some("gatehouse-hash"));
        }
        assert_eq!(
            *threads.started.lock().unwrap(),
            2,
            "no more threads than asked for"
        );
    }

    #[test]
    fn threads_end_with_the_pool() {
        let threads = HashThreads::new(1);
        let (tx, rx) = channel();
        threads
            .run(move || tx.send(std::thread::current().id()).unwrap())
            .unwrap();
        rx.recv().unwrap();
        let queue = Arc::downgrade(&threads.queue);
        drop(threads);
        // The thread holds the queue until it sees the pool gone.
        for _ in 0..200 {
            if queue.upgrade().is_none() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the hashing thread outlived its pool");
    }
}
