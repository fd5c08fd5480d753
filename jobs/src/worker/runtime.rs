//! What the queue handlers share: the process's services, the lease owner
//! name, the slots that bound how much runs at once, and the plumbing every
//! handler runs through (durable writes, the claim loop, requeueing a task
//! whose handler failed).

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use apalis::prelude::BoxDynError;
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::warn;

use super::{health::WorkerHealth, shares::ClientShares};
use crate::{
    callbacks::ReceiverLimits,
    claim::Claim,
    config::{DomainSettings, client_share},
    queue::Queue,
    services::Services,
    store::{PUT_BACK_PRIORITY, RequeueTask, StoreError, TOP_PRIORITY, TaskRef, WriteOp},
};

/// What the task handlers share.
pub struct WorkerRuntime {
    pub services: Services,
    /// Names this process as a lease owner; unique per process start.
    pub instance: String,
    /// Fires when shutdown begins: no new work is taken.
    pub(super) stop_claiming: CancellationToken,
    /// Fires at the end of the shutdown grace period: running attempts are
    /// handed back to the queue.
    pub(super) hand_back: CancellationToken,
    pub(super) health: WorkerHealth,
    /// Attempts and deliveries in flight, each in a task of its own so that
    /// stopping the apalis workers does not stop them.
    pub(super) attempts: TaskTracker,
    /// The apalis worker names this process used, to hand their tasks back.
    pub(super) worker_names: Mutex<Vec<String>>,
    pub(super) receivers: ReceiverLimits,
    /// Attempts this process runs at once (`worker.concurrency`), whether
    /// the queue's worker fetched them or the API handed them over.
    pub(super) execute_slots: Arc<Semaphore>,
    /// Deliveries this process makes at once (`callbacks.concurrency`),
    /// whether from the queue or by a job's worker as the job finished.
    pub(super) delivery_slots: Arc<Semaphore>,
    /// One client's share of `execute_slots`.
    pub(super) execute_shares: ClientShares,
    /// One client's share of `delivery_slots`.
    pub(super) delivery_shares: ClientShares,
}

/// Why a handler's work stopped without writing an outcome.
#[derive(Debug, thiserror::Error)]
pub(super) enum Halt {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The process is shutting down: what the handler held goes back to
    /// the queue with the rest of this worker's tasks.
    #[error("shutting down")]
    ShuttingDown,
}

impl WorkerRuntime {
    pub fn new(services: Services) -> Arc<Self> {
        let settings = &services.settings;
        Arc::new(Self {
            receivers: ReceiverLimits::new(settings.callbacks.per_receiver_concurrency),
            execute_slots: Arc::new(Semaphore::new(concurrency_of(settings, Queue::Execute))),
            delivery_slots: Arc::new(Semaphore::new(concurrency_of(settings, Queue::Deliver))),
            execute_shares: ClientShares::new(client_share(
                concurrency_of(settings, Queue::Execute),
                settings.worker.max_per_client,
            )),
            delivery_shares: ClientShares::new(client_share(
                concurrency_of(settings, Queue::Deliver),
                settings.callbacks.max_per_client,
            )),
            services,
            instance: format!("jobcall-{}-{}", std::process::id(), ulid::Ulid::generate()),
            stop_claiming: CancellationToken::new(),
            hand_back: CancellationToken::new(),
            health: WorkerHealth::default(),
            attempts: TaskTracker::new(),
            worker_names: Mutex::default(),
        })
    }

    /// How often apalis workers announce they are alive, and how many missed
    /// announcements make one dead: together about the takeover time.
    pub(super) fn heartbeat(&self) -> (Duration, usize) {
        let takeover = self.services.settings.worker.takeover;
        let interval = (takeover / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        let interval = Duration::from_secs(interval.as_secs().max(1));
        let missed = takeover.as_secs().div_ceil(interval.as_secs()).max(2) as usize;
        (interval, missed)
    }

    pub fn health(&self) -> &WorkerHealth {
        &self.health
    }

    pub(super) fn settings(&self) -> &DomainSettings {
        &self.services.settings
    }

    /// Sleeps on the clock until `at`, unless the shutdown grace period
    /// ends first.
    async fn sleep_until(&self, at: i64) -> Result<(), Halt> {
        tokio::select! {
            () = self.services.clock.sleep_until(at) => Ok(()),
            () = self.hand_back.cancelled() => Err(Halt::ShuttingDown),
        }
    }
}

/// Tasks of a queue this process runs at once.
pub(super) fn concurrency_of(settings: &DomainSettings, queue: Queue) -> usize {
    match queue {
        Queue::Execute => settings.worker.concurrency,
        Queue::Deliver => settings.callbacks.concurrency,
    }
    .max(1)
}

/// Runs a write, retrying database failures for a while: an outcome that is
/// not written is lost work. The retries pace on real time: they wait for
/// the database to come back, not for a moment on the clock.
pub(super) async fn write_durably<O: WriteOp + Clone>(
    runtime: &WorkerRuntime,
    op: O,
) -> Result<O::Output, Halt> {
    let mut delay = Duration::from_millis(100);
    let deadline = Instant::now() + runtime.settings().worker.takeover / 2;
    loop {
        match runtime.services.writer.run(op.clone()).await {
            Ok(output) => return Ok(output),
            // The writer stops only when the process does.
            Err(StoreError::WriterStopped) => return Err(Halt::ShuttingDown),
            Err(err) if Instant::now() + delay < deadline => {
                warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Puts back a task whose client holds its share of the slots: due after
/// `delay`, and behind every other client's tasks.
pub(super) async fn put_back<T>(
    runtime: &WorkerRuntime,
    queue: Queue,
    args: T,
    task: TaskRef,
    delay: Duration,
) -> Result<(), Halt>
where
    T: serde::Serialize + Clone + Send + Sync + 'static,
{
    let op = RequeueTask {
        queue,
        args,
        task,
        delay,
        priority: PUT_BACK_PRIORITY,
    };
    write_durably(runtime, op).await
}

/// A claim once it no longer asks to wait a moment.
pub(super) enum Settled<T, E> {
    Claimed(T),
    /// Not before this time; a task for then has been queued.
    Requeued(i64),
    Ended(E),
}

/// Claims until the claim no longer asks to wait a moment, sleeping on the
/// clock in between: the one claim loop of jobs and deliveries alike.
pub(super) async fn claim_settled<O, T, E>(
    runtime: &WorkerRuntime,
    claim: impl Fn() -> O,
) -> Result<Settled<T, E>, Halt>
where
    O: WriteOp<Output = Claim<T, E>>,
{
    loop {
        match write_durably(runtime, claim()).await? {
            Claim::WaitUntil(at) => runtime.sleep_until(at).await?,
            Claim::Claimed(row) => return Ok(Settled::Claimed(row)),
            Claim::Requeued(at) => return Ok(Settled::Requeued(at)),
            Claim::Ended(end) => return Ok(Settled::Ended(end)),
        }
    }
}

/// Runs one handler's work in a task of its own (so it outlives its apalis
/// worker at shutdown) and settles its outcome with apalis.
///
/// jobcall retires tasks itself (see [`crate::store::TaskRef`]), so a
/// handler that fails leaves its task locked by this live worker, which
/// apalis hands to no one else. Such a task is replaced by a fresh one, due
/// a moment later, as soon as the database takes writes again. A handler
/// stopped by shutdown needs nothing: the worker's tasks are handed back.
pub(super) async fn run_handler<T, F>(
    runtime: &Arc<WorkerRuntime>,
    queue: Queue,
    args: T,
    task: TaskRef,
    work: F,
) -> Result<(), BoxDynError>
where
    T: serde::Serialize + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), Halt>> + Send + 'static,
{
    let slots = match queue {
        Queue::Execute => &runtime.execute_slots,
        Queue::Deliver => &runtime.delivery_slots,
    };
    // Shared with the work that skips the queue; never closed.
    let slot = slots.clone().acquire_owned().await.ok();
    let work = async move {
        let outcome = work.await;
        drop(slot);
        outcome
    };
    let outcome = match runtime.attempts.spawn(work).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(Halt::ShuttingDown)) => return Err(Box::new(Halt::ShuttingDown)),
        Ok(Err(Halt::Store(err))) => Box::new(err) as BoxDynError,
        Err(panicked) => Box::new(panicked) as BoxDynError,
    };
    warn!(queue = queue.label(), task = %task.0, error = %outcome, "handler failed; its task is requeued");
    let runtime = runtime.clone();
    runtime.clone().attempts.spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            let op = RequeueTask {
                queue,
                args: args.clone(),
                task: task.clone(),
                delay,
                priority: TOP_PRIORITY,
            };
            let written = tokio::select! {
                written = runtime.services.writer.run(op) => written,
                _ = runtime.hand_back.cancelled() => return,
            };
            match written {
                Ok(()) | Err(StoreError::WriterStopped) => return,
                Err(err) => warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "could not requeue task; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = runtime.hand_back.cancelled() => return,
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    });
    Err(outcome)
}
