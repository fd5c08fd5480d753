//! The two apalis queues and the tasks they carry. A task only names the row
//! it is about; the row holds the state, so a task that arrives twice or late
//! finds out from the row that there is nothing to do.

use apalis_core::task::builder::TaskBuilder;
use jobcall_entity::{DeliveryTrigger, EventId, JobId};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The apalis queues. Delivery has its own queue so that slow receivers never
/// hold up job execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    Execute,
    Deliver,
}

impl Queue {
    pub const ALL: [Queue; 2] = [Queue::Execute, Queue::Deliver];

    /// The queue's name in apalis's tables (`job_type`).
    pub fn name(self) -> &'static str {
        match self {
            Queue::Execute => "jobcall.execute",
            Queue::Deliver => "jobcall.deliver",
        }
    }

    /// A short label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Queue::Execute => "execute",
            Queue::Deliver => "deliver",
        }
    }

    pub fn from_name(name: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|queue| queue.name() == name)
    }
}

/// Run (an attempt of) a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecuteTask {
    pub job_id: JobId,
}

/// Send a callback event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverTask {
    pub event_id: EventId,
    pub trigger: DeliveryTrigger,
}

/// apalis gives up on a task after this many failed handler runs; our
/// handlers fail only on database errors, so this bounds retries of those.
pub(crate) const TASK_MAX_ATTEMPTS: usize = 25;

/// A task waiting for the transaction that pushes it to commit.
#[derive(Debug)]
pub(crate) struct StagedTask {
    /// Chosen here rather than by apalis, so the writer can name the task
    /// it pushed (see [`super::TaskRef`]).
    pub id: ulid::Ulid,
    pub queue: Queue,
    pub args: Vec<u8>,
    /// When the task becomes due; `None` for now.
    pub due_ms: Option<i64>,
}

impl StagedTask {
    pub fn new<T: Serialize>(
        queue: Queue,
        args: &T,
        due_ms: Option<i64>,
    ) -> Result<Self, StoreError> {
        let args = serde_json::to_vec(args).map_err(|e| StoreError::Queue(e.to_string()))?;
        Ok(Self {
            id: ulid::Ulid::generate(),
            queue,
            args,
            due_ms,
        })
    }

    /// When the task becomes due, in apalis's whole seconds. Rounded down:
    /// the handler waits out the rest, so retries keep millisecond timing.
    pub fn run_at_seconds(&self) -> Option<u64> {
        self.due_ms.map(|due_ms| (due_ms.max(0) / 1000) as u64)
    }

    pub fn to_apalis(&self) -> apalis_core::task::Task<Vec<u8>> {
        let builder = TaskBuilder::new(self.args.clone())
            .task_id(self.id.into())
            .max_attempts(TASK_MAX_ATTEMPTS);
        match self.run_at_seconds() {
            Some(run_at) => builder.run_at_timestamp(run_at).build(),
            None => builder.build(),
        }
    }
}
