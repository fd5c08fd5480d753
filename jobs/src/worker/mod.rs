//! The workers: one apalis worker per queue in this process, each restarted
//! by a supervisor if it dies (its database went away, say), and stopped in
//! two steps on shutdown: stop claiming, then, after the grace period, hand
//! what still runs back to the queue.

mod dispatch;
mod execute;
mod wake;

pub use dispatch::{LocalDispatch, Reserved};

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use futures::future::join_all;
use tokio::{sync::Semaphore, task::JoinHandle};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{info, warn};

use crate::{
    callbacks::ReceiverLimits,
    clients::SecretsCache,
    config::DomainSettings,
    kinds::Registry,
    metrics::Metrics,
    outbound::Outbound,
    secrets::EncryptionKey,
    signals::Signals,
    store::{
        Database, DeliverTask, ExecuteTask, Pools, Queue, RequeueTask, StoreError, TaskRef,
        WriteOp, Writer, release_worker_tasks,
    },
    time::now_ms,
};
use wake::WakeStrategy;

/// Everything a worker needs from the rest of the process.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub writer: Writer,
    pub signals: Signals,
    pub registry: Registry,
    pub settings: DomainSettings,
    pub outbound: Outbound,
    pub secrets_key: EncryptionKey,
    pub metrics: Arc<Metrics>,
}

/// What the task handlers share.
pub struct WorkerRuntime {
    pub db: Database,
    pub writer: Writer,
    pub signals: Signals,
    pub registry: Registry,
    pub settings: DomainSettings,
    pub outbound: Outbound,
    pub metrics: Arc<Metrics>,
    /// Names this process as a lease owner; unique per process start.
    pub instance: String,
    /// Fires when shutdown begins: no new work is taken.
    stop_claiming: CancellationToken,
    /// Fires at the end of the shutdown grace period: running attempts are
    /// handed back to the queue.
    hand_back: CancellationToken,
    health: WorkerHealth,
    /// Attempts and deliveries in flight, each in a task of its own so that
    /// stopping the apalis workers does not stop them.
    pub(crate) attempts: TaskTracker,
    /// The apalis worker names this process used, to hand their tasks back.
    worker_names: Mutex<Vec<String>>,
    pub(crate) secrets: SecretsCache,
    pub(crate) receivers: ReceiverLimits,
    /// Attempts this process runs at once (`worker.concurrency`), whether
    /// the queue's worker fetched them or the API handed them over.
    pub(crate) execute_slots: Arc<Semaphore>,
    /// Deliveries this process makes at once (`callbacks.concurrency`),
    /// whether from the queue or by a job's worker as the job finished.
    pub(crate) delivery_slots: Arc<Semaphore>,
}

impl WorkerRuntime {
    pub fn new(services: Services) -> Arc<Self> {
        Arc::new(Self {
            secrets: SecretsCache::new(services.secrets_key),
            receivers: ReceiverLimits::new(services.settings.callbacks.per_receiver_concurrency),
            execute_slots: Arc::new(Semaphore::new(concurrency_of(
                &services.settings,
                Queue::Execute,
            ))),
            delivery_slots: Arc::new(Semaphore::new(concurrency_of(
                &services.settings,
                Queue::Deliver,
            ))),
            db: services.db,
            writer: services.writer,
            signals: services.signals,
            registry: services.registry,
            settings: services.settings,
            outbound: services.outbound,
            metrics: services.metrics,
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
    fn heartbeat(&self) -> (Duration, usize) {
        let takeover = self.settings.worker.takeover;
        let interval = (takeover / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        let interval = Duration::from_secs(interval.as_secs().max(1));
        let missed = takeover.as_secs().div_ceil(interval.as_secs()).max(2) as usize;
        (interval, missed)
    }

    pub fn health(&self) -> &WorkerHealth {
        &self.health
    }

    /// Resolves when the shutdown grace period is over.
    pub(crate) async fn hand_back_requested(&self) {
        self.hand_back.cancelled().await
    }
}

/// Whether each queue's worker is running and recently alive.
#[derive(Default)]
pub struct WorkerHealth {
    execute: QueueHealth,
    deliver: QueueHealth,
}

#[derive(Default)]
struct QueueHealth {
    running: AtomicBool,
    last_alive_ms: AtomicI64,
}

impl WorkerHealth {
    fn of(&self, queue: Queue) -> &QueueHealth {
        match queue {
            Queue::Execute => &self.execute,
            Queue::Deliver => &self.deliver,
        }
    }

    fn alive(&self, queue: Queue) {
        let health = self.of(queue);
        health.running.store(true, Ordering::Relaxed);
        health.last_alive_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn stopped(&self, queue: Queue) {
        self.of(queue).running.store(false, Ordering::Relaxed);
    }

    /// The queues whose worker is not running, or has not been heard from
    /// within `silence`.
    pub fn unhealthy(&self, silence: Duration) -> Vec<Queue> {
        let now = now_ms();
        Queue::ALL
            .into_iter()
            .filter(|queue| {
                let health = self.of(*queue);
                !health.running.load(Ordering::Relaxed)
                    || now - health.last_alive_ms.load(Ordering::Relaxed)
                        > silence.as_millis() as i64
            })
            .collect()
    }
}

/// The running workers of this process.
pub struct Workers {
    runtime: Arc<WorkerRuntime>,
    supervisors: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn start(runtime: Arc<WorkerRuntime>) -> Self {
        let stop_claiming = runtime.stop_claiming.clone();
        let supervisors = Queue::ALL
            .into_iter()
            .map(|queue| tokio::spawn(supervise(runtime.clone(), queue, stop_claiming.clone())))
            .collect();
        info!(
            instance = %runtime.instance,
            concurrency = runtime.settings.worker.concurrency,
            callback_concurrency = runtime.settings.callbacks.concurrency,
            "workers started"
        );
        Self {
            runtime,
            supervisors,
        }
    }

    /// Stops claiming work at once, lets running attempts finish within the
    /// grace period, then hands what still runs back to the queue.
    ///
    /// The apalis workers are dropped rather than stopped: a stopping apalis
    /// worker no longer polls its backend while it waits for running tasks,
    /// and a fetch caught halfway keeps its transaction (on SQLite, the one
    /// writer connection) that the running attempts need to write their
    /// outcome. Dropping rolls that back; attempts run in tasks of their own
    /// and carry on, and the tasks the workers held go straight back to the queue.
    pub async fn shutdown(self) {
        let runtime = self.runtime;
        let grace = runtime.settings.worker.shutdown_grace;
        info!(
            grace_ms = grace.as_millis() as u64,
            running = runtime.attempts.len(),
            "workers stopping"
        );
        runtime.stop_claiming.cancel();
        join_all(self.supervisors).await;
        let names = std::mem::take(
            &mut *runtime
                .worker_names
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        match release_worker_tasks(&runtime.db, &names).await {
            Ok(released) => info!(released, "queue tasks handed back"),
            Err(err) => {
                warn!(error = %err, "could not hand queue tasks back; they return after the takeover time")
            }
        }
        runtime.attempts.close();
        if tokio::time::timeout(grace, runtime.attempts.wait())
            .await
            .is_err()
        {
            info!(
                running = runtime.attempts.len(),
                "grace period over; handing running attempts back"
            );
            runtime.hand_back.cancel();
            if tokio::time::timeout(Duration::from_secs(10), runtime.attempts.wait())
                .await
                .is_err()
            {
                warn!(
                    running = runtime.attempts.len(),
                    "attempts still running at exit; their leases will lapse"
                );
            }
        }
        info!("workers stopped");
    }
}

async fn supervise(runtime: Arc<WorkerRuntime>, queue: Queue, stop: CancellationToken) {
    let mut generation = 0u32;
    let mut backoff = Duration::from_millis(250);
    loop {
        let name = format!("{}:{}:{generation}", runtime.instance, queue.label());
        runtime
            .worker_names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.clone());
        let started = Instant::now();
        let outcome = tokio::select! {
            outcome = run_worker(runtime.clone(), queue, &name) => outcome,
            // Dropping the worker is how it stops; see `Workers::shutdown`.
            _ = stop.cancelled() => break,
        };
        runtime.health.stopped(queue);
        match outcome {
            Ok(()) => warn!(
                queue = queue.label(),
                "worker stopped unexpectedly; restarting"
            ),
            Err(err) => warn!(queue = queue.label(), error = %err, "worker failed; restarting"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_millis(250);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => break,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
        generation += 1;
    }
    runtime.health.stopped(queue);
}

/// Tasks of a queue this process runs at once.
fn concurrency_of(settings: &DomainSettings, queue: Queue) -> usize {
    match queue {
        Queue::Execute => settings.worker.concurrency,
        Queue::Deliver => settings.callbacks.concurrency,
    }
    .max(1)
}

/// Builds and runs one worker on whichever backend the database is.
macro_rules! run_on {
    ($storage:expr, $name:expr, $runtime:expr, $queue:expr, $concurrency:expr, $handler:expr) => {{
        let health = $runtime.clone();
        let queue = $queue;
        let wake = WakeStrategy::new(
            $runtime.signals.queue_wakeups(queue),
            $runtime.settings.worker.poll_interval,
        );
        WorkerBuilder::new($name)
            .backend($storage.poll_with_strategy(wake))
            .on_event(move |_, event| match event {
                Event::Start | Event::HeartBeat | Event::Success(_) => health.health.alive(queue),
                Event::Stop | Event::Exit => health.health.stopped(queue),
                _ => {}
            })
            .concurrency($concurrency)
            .data($runtime.clone())
            .build($handler)
            .run()
            .await
            .map_err(|e| e.to_string())
    }};
}

async fn run_worker(runtime: Arc<WorkerRuntime>, queue: Queue, name: &str) -> Result<(), String> {
    let (heartbeat, missed) = runtime.heartbeat();
    let concurrency = concurrency_of(&runtime.settings, queue);
    // Tasks fetched per query: fewer queries under load, and a bounded share
    // of the queue held by one worker.
    let batch = (concurrency / 2).clamp(1, 50);
    let sqlite = || {
        apalis_sqlite::Config::default()
            .queue(queue.name())
            .batch_size(batch)
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(missed)
            .lock_tasks(false)
            // jobcall retires tasks itself; see `store::TaskRef`.
            .persist_results(false)
    };
    let postgres = || {
        apalis_postgres::Config::default()
            .queue(queue.name())
            .batch_size(batch)
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(missed)
            .lock_tasks(false)
            // jobcall retires tasks itself; see `store::TaskRef`.
            .persist_results(false)
    };
    use crate::callbacks::deliver;
    match (queue, runtime.db.pools().clone()) {
        (Queue::Execute, Pools::Sqlite { writer, .. }) => {
            let storage = SqliteStorage::<ExecuteTask>::new(&writer).with_config(sqlite());
            run_on!(storage, name, runtime, queue, concurrency, execute::handle)
        }
        (Queue::Execute, Pools::Postgres(pool)) => {
            let storage = PostgresStorage::<ExecuteTask>::new(&pool).with_config(postgres());
            run_on!(storage, name, runtime, queue, concurrency, execute::handle)
        }
        (Queue::Deliver, Pools::Sqlite { writer, .. }) => {
            let storage = SqliteStorage::<DeliverTask>::new(&writer).with_config(sqlite());
            run_on!(storage, name, runtime, queue, concurrency, deliver::handle)
        }
        (Queue::Deliver, Pools::Postgres(pool)) => {
            let storage = PostgresStorage::<DeliverTask>::new(&pool).with_config(postgres());
            run_on!(storage, name, runtime, queue, concurrency, deliver::handle)
        }
    }
}

/// Runs a write, retrying database failures for a while: an outcome that is
/// not written is lost work.
pub(crate) async fn write_durably<O: WriteOp + Clone>(
    runtime: &WorkerRuntime,
    op: O,
) -> Result<O::Output, StoreError> {
    let mut delay = Duration::from_millis(100);
    let deadline = Instant::now() + runtime.settings.worker.takeover / 2;
    loop {
        match runtime.writer.run(op.clone()).await {
            Ok(output) => return Ok(output),
            Err(StoreError::WriterStopped) => return Err(StoreError::WriterStopped),
            Err(err) if Instant::now() + delay < deadline => {
                warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(err) => return Err(err),
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
pub(crate) async fn run_handler<T, F>(
    runtime: &Arc<WorkerRuntime>,
    queue: Queue,
    args: T,
    task: TaskRef,
    work: F,
) -> Result<(), BoxDynError>
where
    T: serde::Serialize + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), StoreError>> + Send + 'static,
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
        Ok(Err(StoreError::WriterStopped)) => return Err(Box::new(StoreError::WriterStopped)),
        Ok(Err(err)) => Box::new(err) as BoxDynError,
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
                due_ms: now_ms() + delay.as_millis() as i64,
            };
            let written = tokio::select! {
                written = runtime.writer.run(op) => written,
                _ = runtime.hand_back_requested() => return,
            };
            match written {
                Ok(()) | Err(StoreError::WriterStopped) => return,
                Err(err) => warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "could not requeue task; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = runtime.hand_back_requested() => return,
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    });
    Err(outcome)
}
