//! The two apalis queues and the tasks they carry. A task only names the row
//! it is about; the row holds the state, so a task that arrives twice or late
//! finds out from the row that there is nothing to do.

use jobcall_entity::{DeliveryTrigger, EventId, JobId};
use serde::{Deserialize, Serialize};

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
