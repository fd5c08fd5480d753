//! The workers: one apalis worker per queue in this process, each restarted
//! by a supervisor if it dies (its database went away, say), and stopped in
//! two steps on shutdown: stop claiming, then, after the grace period, hand
//! what still runs back to the queue.

mod deliver;
mod dispatch;
mod execute;
mod health;
mod runtime;
mod shares;
mod wake;

pub use dispatch::{LocalDispatch, Reserved};
pub use health::WorkerHealth;
pub use runtime::WorkerRuntime;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use futures::future::join_all;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    queue::{DeliverTask, ExecuteTask, Queue},
    store::{Pools, release_worker_tasks},
};
use runtime::concurrency_of;
use wake::WakeStrategy;

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
            concurrency = runtime.settings().worker.concurrency,
            callback_concurrency = runtime.settings().callbacks.concurrency,
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
        let grace = runtime.settings().worker.shutdown_grace;
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
        match release_worker_tasks(&runtime.services.db, &names).await {
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

/// Builds and runs one worker on whichever backend the database is.
macro_rules! run_on {
    ($storage:expr, $name:expr, $runtime:expr, $queue:expr, $concurrency:expr, $handler:expr) => {{
        let health = $runtime.clone();
        let queue = $queue;
        let wake = WakeStrategy::new(
            $runtime.services.signals.queue_wakeups(queue),
            $runtime.settings().worker.poll_interval,
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
    let concurrency = concurrency_of(runtime.settings(), queue);
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
    match (queue, runtime.services.db.pools().clone()) {
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
