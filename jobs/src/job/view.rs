//! The Job as clients see it: in API responses and as the `data` of every
//! callback. One representation for both, so a callback and a status read
//! of the same moment agree.

use std::collections::BTreeMap;

use jobcall_entity::{CallbackState, EventType, JobId, JobStatus, job};
use serde::Serialize;
use serde_json::Value;

use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub input: Value,
    pub result: Option<Value>,
    pub error: Option<JobErrorView>,
    pub progress: Option<i16>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub timeout_seconds: i64,
    pub callback_url: Option<String>,
    pub callback_events: Vec<EventType>,
    pub callback: CallbackSummary,
    pub metadata: BTreeMap<String, String>,
    /// A cancel was requested and the running attempt has not stopped yet.
    pub cancel_requested: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// When the next execution attempt is due, while a retry is scheduled.
    pub next_attempt_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobErrorView {
    pub code: String,
    pub message: String,
}

/// The state of the job's callback deliveries.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallbackSummary {
    pub state: CallbackState,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub next_attempt_at: Option<String>,
}

impl From<&job::Model> for JobView {
    fn from(job: &job::Model) -> Self {
        Self {
            id: job.id.clone(),
            kind: job.kind.clone(),
            status: job.status,
            input: job.input.clone(),
            result: job.result.clone(),
            error: job.error_code.as_ref().map(|code| JobErrorView {
                code: code.clone(),
                message: job.error_message.clone().unwrap_or_default(),
            }),
            progress: job.progress,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            timeout_seconds: job.timeout_ms / 1000,
            callback_url: job.callback_url.clone(),
            callback_events: subscribed_events(job),
            callback: CallbackSummary {
                state: job.callback_state,
                attempts: job.callback_attempts,
                last_status_code: job.callback_last_status_code,
                next_attempt_at: job.callback_next_attempt_at.map(rfc3339),
            },
            metadata: serde_json::from_value(job.metadata.clone()).unwrap_or_default(),
            cancel_requested: job.cancel_requested && job.status == JobStatus::Running,
            created_at: rfc3339(job.created_at),
            started_at: job.started_at.map(rfc3339),
            finished_at: job.finished_at.map(rfc3339),
            next_attempt_at: job.next_attempt_at.map(rfc3339),
        }
    }
}

/// The events the job sends, as stored.
pub fn subscribed_events(job: &job::Model) -> Vec<EventType> {
    serde_json::from_value(job.callback_events.clone()).unwrap_or_default()
}
