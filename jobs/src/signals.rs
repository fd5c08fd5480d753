//! In-process signals, raised after a write commits: a job finished (wake its
//! long-polling readers), a cancel was requested (stop the running attempt),
//! a task was queued (wake the queue's worker, now or when it falls due).
//!
//! On PostgreSQL the first two also travel between processes as NOTIFY on
//! [`PG_CHANNEL`], sent inside the committing transaction; apalis's own
//! insert notifications wake workers in other processes.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use futures::StreamExt;
use jobcall_entity::JobId;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::{queue::Queue, time::Clock};

/// The NOTIFY channel jobcall's own signals travel on between processes.
pub const PG_CHANNEL: &str = "jobcall_signals";
/// The channel apalis announces inserted tasks on.
const APALIS_CHANNEL: &str = "apalis::job::insert";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The job reached a terminal state.
    JobFinished(JobId),
    /// A cancel was requested for a running job.
    CancelRequested(JobId),
    /// A task was queued, due at `due_ms` (`None`: now).
    Wake { queue: Queue, due_ms: Option<i64> },
}

impl Signal {
    /// The NOTIFY payload that carries this signal to other processes.
    pub(crate) fn to_notification(&self) -> Option<String> {
        match self {
            Signal::JobFinished(id) => Some(format!("finished:{id}")),
            Signal::CancelRequested(id) => Some(format!("cancel:{id}")),
            Signal::Wake { .. } => None,
        }
    }

    fn from_notification(payload: &str) -> Option<Signal> {
        let (kind, id) = payload.split_once(':')?;
        let id = JobId::parse(id).ok()?;
        match kind {
            "finished" => Some(Signal::JobFinished(id)),
            "cancel" => Some(Signal::CancelRequested(id)),
            _ => None,
        }
    }
}

/// The signal hub of one process. Cheap to clone.
#[derive(Clone)]
pub struct Signals {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

struct Inner {
    /// What delayed wake-ups are timed by.
    clock: Clock,
    job_watchers: Mutex<HashMap<JobId, Weak<Notify>>>,
    running: Mutex<HashMap<JobId, CancellationToken>>,
    execute: QueueWaker,
    deliver: QueueWaker,
}

impl Signals {
    pub fn new(clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                job_watchers: Mutex::default(),
                running: Mutex::default(),
                execute: QueueWaker::default(),
                deliver: QueueWaker::default(),
            }),
        }
    }

    pub fn publish_all(&self, signals: impl IntoIterator<Item = Signal>) {
        for signal in signals {
            self.publish(&signal);
        }
    }

    pub fn publish(&self, signal: &Signal) {
        match signal {
            Signal::JobFinished(id) => {
                let watcher = lock(&self.inner.job_watchers)
                    .get(id)
                    .and_then(Weak::upgrade);
                if let Some(notify) = watcher {
                    notify.notify_waiters();
                }
            }
            Signal::CancelRequested(id) => {
                if let Some(token) = lock(&self.inner.running).get(id) {
                    token.cancel();
                }
            }
            Signal::Wake { queue, due_ms } => self.waker(*queue).wake(*due_ms, &self.inner.clock),
        }
    }

    /// Wakes every worker and every long-poll reader: after a lost connection
    /// to the notification channel, any of them may have missed a signal.
    pub fn wake_everything(&self) {
        for queue in Queue::ALL {
            self.waker(queue).wake(None, &self.inner.clock);
        }
        let watchers: Vec<_> = lock(&self.inner.job_watchers)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for notify in watchers {
            notify.notify_waiters();
        }
    }

    /// Registers interest in a job's completion. Create the guard, then
    /// enable a `notified()` future, then read the job: a finish that lands
    /// after the read still wakes the future.
    pub fn watch_job(&self, id: &JobId) -> JobWatch {
        let mut watchers = lock(&self.inner.job_watchers);
        let notify = match watchers.get(id).and_then(Weak::upgrade) {
            Some(existing) => existing,
            None => {
                let fresh = Arc::new(Notify::new());
                watchers.insert(id.clone(), Arc::downgrade(&fresh));
                fresh
            }
        };
        JobWatch {
            id: id.clone(),
            notify,
            hub: self.clone(),
        }
    }

    /// The ids of jobs someone is waiting on, for the cross-process sweep.
    pub fn watched_jobs(&self) -> Vec<JobId> {
        lock(&self.inner.job_watchers).keys().cloned().collect()
    }

    /// Registers a running attempt; a [`Signal::CancelRequested`] for the job
    /// cancels `token`. The registration ends when the guard drops.
    pub fn register_running(&self, id: &JobId, token: CancellationToken) -> RunningGuard {
        lock(&self.inner.running).insert(id.clone(), token);
        RunningGuard {
            id: id.clone(),
            hub: self.clone(),
        }
    }

    /// Notified whenever the queue may have work: a task was queued in this
    /// process, a delayed one fell due, or another process announced one.
    pub fn queue_wakeups(&self, queue: Queue) -> Arc<Notify> {
        self.waker(queue).notify.clone()
    }

    fn waker(&self, queue: Queue) -> &QueueWaker {
        match queue {
            Queue::Execute => &self.inner.execute,
            Queue::Deliver => &self.inner.deliver,
        }
    }
}

/// Interest in one job's completion; see [`Signals::watch_job`].
pub struct JobWatch {
    id: JobId,
    notify: Arc<Notify>,
    hub: Signals,
}

impl JobWatch {
    pub fn notify(&self) -> &Notify {
        &self.notify
    }
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        let mut watchers = lock(&self.hub.inner.job_watchers);
        // The map holds a weak reference; when ours is the only strong one
        // left, no other watcher shares it: forget the job.
        if Arc::strong_count(&self.notify) <= 1 {
            watchers.remove(&self.id);
        }
    }
}

/// See [`Signals::register_running`].
pub struct RunningGuard {
    id: JobId,
    hub: Signals,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        lock(&self.hub.inner.running).remove(&self.id);
    }
}

/// Wakes one queue's worker now, or at the due times of delayed tasks.
struct QueueWaker {
    notify: Arc<Notify>,
    timers: Arc<Mutex<BinaryHeap<Reverse<i64>>>>,
    timer_changed: Arc<Notify>,
    timer_started: std::sync::Once,
}

impl Default for QueueWaker {
    fn default() -> Self {
        Self {
            notify: Arc::new(Notify::new()),
            timers: Arc::default(),
            timer_changed: Arc::new(Notify::new()),
            timer_started: std::sync::Once::new(),
        }
    }
}

impl QueueWaker {
    fn wake(&self, due_ms: Option<i64>, clock: &Clock) {
        match due_ms {
            Some(due) if due > clock.now_ms() => {
                self.ensure_timer(clock);
                lock(&self.timers).push(Reverse(due));
                self.timer_changed.notify_one();
            }
            _ => self.notify.notify_one(),
        }
    }

    /// One timer task per queue sleeps until the earliest due time.
    fn ensure_timer(&self, clock: &Clock) {
        self.timer_started.call_once(|| {
            let clock = clock.clone();
            let timers = self.timers.clone();
            let changed = self.timer_changed.clone();
            let notify = self.notify.clone();
            tokio::spawn(async move {
                loop {
                    let next = lock(&timers).peek().map(|Reverse(due)| *due);
                    match next {
                        None => changed.notified().await,
                        Some(due) => {
                            tokio::select! {
                                () = clock.sleep_until(due) => {
                                    let now = clock.now_ms();
                                    let mut heap = lock(&timers);
                                    while heap.peek().is_some_and(|Reverse(due)| *due <= now) {
                                        heap.pop();
                                    }
                                    drop(heap);
                                    notify.notify_one();
                                }
                                _ = changed.notified() => {}
                            }
                        }
                    }
                }
            });
        });
    }
}

/// Bridges NOTIFY from other processes into this hub, reconnecting when the
/// connection drops (and then waking everything, since signals may be lost).
pub fn spawn_pg_listener(pool: sqlx::PgPool, signals: Signals, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match listen(&pool, &signals, &shutdown).await {
                Ok(()) => break,
                Err(err) => {
                    warn!(error = %err, "lost the notification connection; reconnecting");
                    signals.wake_everything();
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
}

async fn listen(
    pool: &sqlx::PgPool,
    signals: &Signals,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen_all([PG_CHANNEL, APALIS_CHANNEL]).await?;
    debug!("listening for notifications");
    // Anything announced while we were not listening is picked up now.
    signals.wake_everything();
    let mut stream = listener.into_stream();
    loop {
        let notification = tokio::select! {
            next = stream.next() => next,
            _ = shutdown.cancelled() => return Ok(()),
        };
        let Some(notification) = notification.transpose()? else {
            return Err(sqlx::Error::PoolClosed);
        };
        if notification.channel() == APALIS_CHANNEL {
            if let Some(queue) = apalis_queue(notification.payload()) {
                signals.publish(&Signal::Wake {
                    queue,
                    due_ms: None,
                });
            }
        } else if let Some(signal) = Signal::from_notification(notification.payload()) {
            signals.publish(&signal);
        }
    }
}

fn apalis_queue(payload: &str) -> Option<Queue> {
    #[derive(serde::Deserialize)]
    struct Inserted {
        job_type: String,
    }
    let inserted: Inserted = serde_json::from_str(payload).ok()?;
    Queue::from_name(&inserted.job_type)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_round_trip() {
        let id = JobId::generate();
        for signal in [
            Signal::JobFinished(id.clone()),
            Signal::CancelRequested(id.clone()),
        ] {
            let payload = signal.to_notification().unwrap();
            assert_eq!(Signal::from_notification(&payload), Some(signal));
        }
        assert_eq!(Signal::from_notification("finished:nope"), None);
        assert_eq!(Signal::from_notification("garbage"), None);
    }

    #[test]
    fn apalis_insert_payloads_name_our_queues() {
        assert_eq!(
            apalis_queue(r#"{"job_type":"jobcall.deliver","id":"01J"}"#),
            Some(Queue::Deliver)
        );
        assert_eq!(apalis_queue(r#"{"job_type":"other","id":"01J"}"#), None);
    }

    #[tokio::test]
    async fn a_finished_job_wakes_its_watchers() {
        let signals = Signals::new(Clock::system());
        let id = JobId::generate();
        let watch = signals.watch_job(&id);
        {
            let notified = watch.notify().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            signals.publish(&Signal::JobFinished(id.clone()));
            tokio::time::timeout(Duration::from_secs(1), notified)
                .await
                .unwrap();
        }
        drop(watch);
        assert!(signals.watched_jobs().is_empty());
    }

    #[tokio::test]
    async fn a_cancel_request_cancels_the_running_attempt() {
        let signals = Signals::new(Clock::system());
        let id = JobId::generate();
        let token = CancellationToken::new();
        let guard = signals.register_running(&id, token.clone());
        signals.publish(&Signal::CancelRequested(id.clone()));
        assert!(token.is_cancelled());
        drop(guard);
        let other = CancellationToken::new();
        signals.publish(&Signal::CancelRequested(id));
        assert!(!other.is_cancelled());
    }

    #[tokio::test]
    async fn delayed_wakeups_fire_when_due() {
        let test = crate::time::TestClock::new();
        let signals = Signals::new(test.clock());
        let wakeups = signals.queue_wakeups(Queue::Deliver);
        let due = test.clock().after(Duration::from_secs(3600));
        signals.publish(&Signal::Wake {
            queue: Queue::Deliver,
            due_ms: Some(due),
        });
        let woken = wakeups.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), woken.as_mut())
                .await
                .is_err(),
            "not due yet"
        );
        test.advance(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(2), woken)
            .await
            .unwrap();
        assert!(test.clock().now_ms() >= due);
    }
}
