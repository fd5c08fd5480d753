//! Handing a new job straight to a worker of the same process (`jobcall
//! serve`), skipping the round trip through the queue: the submission
//! reserves a free worker slot, and the job starts as soon as its row has
//! committed.
//!
//! The job's queue task is still written, in the same transaction, but due
//! only after the takeover time: should this process die before the job
//! finishes, it is what runs the job again. (A job running longer than
//! that meets its own task, which finds it leased and queues itself for
//! when the lease would lapse, as for any job a worker holds.)

use std::{sync::Arc, time::Duration};

use jobcall_entity::{ClientId, JobId};
use tokio::{runtime::Handle, sync::OwnedSemaphorePermit};

use super::{execute, runtime::WorkerRuntime, shares::ClientSlot};
use crate::store::TaskRef;

#[derive(Clone)]
pub struct LocalDispatch {
    runtime: Arc<WorkerRuntime>,
    /// The workers' tokio runtime. The API answers on runtimes of its own,
    /// which stop with the HTTP server; a job must not stop with them.
    workers_runtime: Handle,
}

/// A worker slot and a share of its client's, held for one job from its
/// submission to its end.
pub struct Reserved {
    runtime: Arc<WorkerRuntime>,
    workers_runtime: Handle,
    slot: OwnedSemaphorePermit,
    share: ClientSlot,
}

impl LocalDispatch {
    /// Must be called on the workers' tokio runtime.
    pub fn new(runtime: Arc<WorkerRuntime>) -> Self {
        Self {
            runtime,
            workers_runtime: Handle::current(),
        }
    }

    /// A free worker slot (the queue's worker takes from the same ones),
    /// unless every slot is busy, `client` holds its share of them, or the
    /// workers are stopping.
    pub fn try_reserve(&self, client: &ClientId) -> Option<Reserved> {
        if self.runtime.stop_claiming.is_cancelled() {
            return None;
        }
        let share = self.runtime.execute_shares.try_acquire(client)?;
        let slot = self
            .runtime
            .execute_slots
            .clone()
            .try_acquire_owned()
            .ok()?;
        Some(Reserved {
            runtime: self.runtime.clone(),
            workers_runtime: self.workers_runtime.clone(),
            slot,
            share,
        })
    }
}

impl Reserved {
    /// How long after the job is written its queue task falls due: once
    /// this process has had the takeover time to run it.
    pub fn fallback_delay(&self) -> Duration {
        self.runtime.services.settings.worker.takeover
    }

    /// Runs the committed job `job_id`, whose queue task is `task`.
    pub fn start(self, job_id: JobId, task: TaskRef) {
        execute::spawn_handed_over(
            &self.runtime,
            &self.workers_runtime,
            job_id,
            task,
            (self.slot, self.share),
        );
    }
}
