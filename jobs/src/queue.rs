//! The two apalis queues and the tasks they carry. A task only names the row
//! it is about; the row holds the state, so a task that arrives twice or late
//! finds out from the row that there is nothing to do.

use jobcall_entity::{ClientId, DeliveryTrigger, EventId, JobId};
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
    /// Whose job it is, so a worker can keep to the client's share before
    /// claiming it. Tasks queued by releases before 0.2 have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
}

impl ExecuteTask {
    pub fn new(job_id: JobId, client_id: ClientId) -> Self {
        Self {
            job_id,
            client_id: Some(client_id),
        }
    }
}

/// Send a callback event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverTask {
    pub event_id: EventId,
    pub trigger: DeliveryTrigger,
    /// Whose event it is (see [`ExecuteTask::client_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
}

impl DeliverTask {
    pub fn new(event_id: EventId, trigger: DeliveryTrigger, client_id: ClientId) -> Self {
        Self {
            event_id,
            trigger,
            client_id: Some(client_id),
        }
    }
}
