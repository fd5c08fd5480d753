//! Queue tasks staged in a write transaction, pushed when it commits.

use apalis_core::task::builder::TaskBuilder;
use serde::Serialize;

use super::StoreError;
use crate::{queue::Queue, time::Clock};

/// apalis gives up on a task after this many failed handler runs; our
/// handlers fail only on database errors, so this bounds retries of those.
pub(crate) const TASK_MAX_ATTEMPTS: usize = 25;

/// The priority of a task of a client with nothing else waiting; each job a
/// client already has waiting lowers its next task's priority by one, down
/// to [`PUT_BACK_PRIORITY`] (apalis fetches the highest priority first).
pub const TOP_PRIORITY: u32 = 1000;
/// The priority of a task put back because its client held its share of
/// the slots: after everyone else's.
pub const PUT_BACK_PRIORITY: u32 = 0;

/// A task waiting for the transaction that pushes it to commit.
#[derive(Debug)]
pub(crate) struct StagedTask {
    /// Chosen here rather than by apalis, so the writer can name the task
    /// it pushed (see [`super::TaskRef`]).
    pub id: ulid::Ulid,
    pub queue: Queue,
    pub args: Vec<u8>,
    /// When the task becomes due on the process's clock; `None` for now.
    pub due_ms: Option<i64>,
    /// The same moment on the system clock, which the database's own
    /// "now" follows when apalis fetches due tasks.
    run_at_system_ms: Option<i64>,
    pub priority: u32,
}

impl StagedTask {
    pub fn new<T: Serialize>(
        queue: Queue,
        args: &T,
        due_ms: Option<i64>,
        priority: u32,
        clock: &Clock,
    ) -> Result<Self, StoreError> {
        let args = serde_json::to_vec(args).map_err(|e| StoreError::Queue(e.to_string()))?;
        Ok(Self {
            id: ulid::Ulid::generate(),
            queue,
            args,
            due_ms,
            run_at_system_ms: due_ms.map(|due| clock.to_system_ms(due)),
            priority,
        })
    }

    /// When the task becomes due, in apalis's whole seconds. Rounded down:
    /// the handler waits out the rest, so retries keep millisecond timing.
    pub fn run_at_seconds(&self) -> Option<u64> {
        self.run_at_system_ms.map(|at| (at.max(0) / 1000) as u64)
    }

    pub fn to_apalis(&self) -> apalis_core::task::Task<Vec<u8>> {
        let builder = TaskBuilder::new(self.args.clone())
            .task_id(self.id.into())
            .priority(self.priority as usize)
            .max_attempts(TASK_MAX_ATTEMPTS);
        match self.run_at_seconds() {
            Some(run_at) => builder.run_at_timestamp(run_at).build(),
            None => builder.build(),
        }
    }
}
