//! The outbox worker every process runs: woken at once when this process queues a
//! message, and every `delivery.poll_interval` for messages of other processes and
//! retries. It claims up to `delivery.concurrency` due messages with a lease, sends them
//! at once, records each outcome, and claims again until nothing is due.

use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{backoff_ms, mask_recipient, sealing, SendError};
use crate::app::AppRef;
use crate::store::{OutboxMessage, StoreResult};

/// How often unsent messages whose content expired are marked `expired` and finished
/// messages older than [`KEEP_FINISHED_MS`] are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long sent, failed and expired messages stay in the outbox (bodies erased).
pub const KEEP_FINISHED_MS: i64 = 7 * 24 * 3600 * 1000;

/// A running worker.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    app: AppRef,
}

/// Starts the worker when some channel really sends (with only `log` transports there
/// is nothing to deliver).
pub fn spawn(app: AppRef) -> Option<Worker> {
    if app.delivery.sending_channels().is_empty() {
        return None;
    }
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(app.clone(), stopped));
    Some(Worker { stop, task, app })
}

impl Worker {
    /// Stops claiming, lets the messages being sent finish for up to `grace`, then
    /// releases whatever this process still holds so another process (or the next
    /// start) sends it without waiting for the lease to run out.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
        let app = &self.app;
        if let Err(e) = app
            .store
            .release_outbox(app.delivery.worker_id(), app.now())
            .await
        {
            tracing::warn!(error = %e, "could not release claimed messages");
        }
    }
}

async fn run(app: AppRef, mut stopped: watch::Receiver<bool>) {
    let wake = app.delivery.wake_signal();
    let poll = app.config.delivery.poll_interval.0;
    let mut last_sweep: Option<Instant> = None;
    while !*stopped.borrow() {
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            sweep(&app).await;
            last_sweep = Some(Instant::now());
        }
        if let Err(e) = drain(&app, &stopped).await {
            tracing::warn!(error = %e, "outbox: could not claim or record messages");
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// Sends batches until nothing is due (or the worker is stopping).
async fn drain(app: &AppRef, stopped: &watch::Receiver<bool>) -> StoreResult<()> {
    let channels = app.delivery.sending_channels();
    let settings = &app.config.delivery;
    let lease = settings.lease.as_millis();
    // A send that outlives half the lease is abandoned (and retried), so a message is
    // never still being sent when its lease lets another process claim it.
    let deadline = Duration::from_millis((lease / 2) as u64);
    while !*stopped.borrow() {
        let now = app.now();
        let batch = app
            .store
            .claim_outbox(
                &channels,
                app.delivery.worker_id(),
                now,
                now + lease,
                settings.concurrency as i64,
            )
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes = join_all(batch.iter().map(|m| async move {
            let result = match tokio::time::timeout(deadline, send(app, m)).await {
                Ok(result) => result,
                Err(_) => Err(SendError::Transient(format!(
                    "no answer within {}s",
                    deadline.as_secs()
                ))),
            };
            (m, result)
        }))
        .await;
        let mut sent = Vec::new();
        for (m, result) in outcomes {
            match result {
                Ok(()) => {
                    sent.push(m.id.clone());
                    log_outcome(m, "sent", None);
                }
                Err(e) => record_failure(app, m, e).await?,
            }
        }
        app.store
            .mark_outbox_sent(&sent, app.delivery.worker_id(), app.now())
            .await?;
    }
    Ok(())
}

async fn send(app: &AppRef, m: &OutboxMessage) -> Result<(), SendError> {
    let max = app.config.delivery.max_attempts as i64;
    if m.attempts > max {
        // Claimed again after its worker died while sending it, more often than allowed.
        return Err(SendError::Permanent(format!(
            "abandoned after {max} attempts"
        )));
    }
    let mut m = m.clone();
    if sealing::open(&app.master_key, &mut m).is_err() {
        return Err(SendError::Permanent(
            "its sealed contents do not open with this master key".into(),
        ));
    }
    match app.delivery.sender(&m.channel) {
        Some(sender) => sender.send(&m).await,
        None => Err(SendError::Transient(format!(
            "no transport sends {} in this process",
            m.channel
        ))),
    }
}

async fn record_failure(app: &AppRef, m: &OutboxMessage, e: SendError) -> StoreResult<()> {
    let worker = app.delivery.worker_id();
    let now = app.now();
    let max = app.config.delivery.max_attempts as i64;
    match e {
        SendError::Transient(reason) if m.attempts < max => {
            let next = now + backoff_ms(&app.config.delivery, m.attempts);
            log_outcome(m, "retry", Some(&reason));
            app.store.retry_outbox(&m.id, worker, next, &reason).await
        }
        SendError::Transient(reason) => {
            let reason = format!("{reason} (gave up after {} attempts)", m.attempts);
            log_outcome(m, "failed", Some(&reason));
            app.store
                .mark_outbox_failed(&m.id, worker, now, &reason)
                .await
        }
        SendError::Permanent(reason) => {
            log_outcome(m, "failed", Some(&reason));
            app.store
                .mark_outbox_failed(&m.id, worker, now, &reason)
                .await
        }
    }
}

/// One log line and one counter per outcome: kind, masked recipient, attempt — never the body.
fn log_outcome(m: &OutboxMessage, outcome: &'static str, reason: Option<&str>) {
    let to = mask_recipient(&m.channel, &m.recipient);
    metrics::counter!("gatehouse_messages_total", "channel" => m.channel.clone(), "outcome" => outcome)
        .increment(1);
    match reason {
        None => {
            tracing::info!(id = %m.id, kind = %m.kind, to = %to, attempt = m.attempts, "message {outcome}")
        }
        Some(reason) => {
            tracing::warn!(id = %m.id, kind = %m.kind, to = %to, attempt = m.attempts, reason, "message {outcome}")
        }
    }
}

/// Expires messages whose content expired unsent, and deletes old finished ones.
async fn sweep(app: &AppRef) {
    let now = app.now();
    match app.store.expire_outbox(now).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            count = n,
            "outbox: messages expired before they could be sent"
        ),
        Err(e) => tracing::warn!(error = %e, "outbox: could not expire messages"),
    }
    if let Err(e) = app.store.prune_outbox(now - KEEP_FINISHED_MS).await {
        tracing::warn!(error = %e, "outbox: could not prune finished messages");
    }
}
