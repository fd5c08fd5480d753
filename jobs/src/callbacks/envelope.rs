//! The body of a callback: `{"type", "timestamp", "data"}`.

use jobcall_entity::EventType;
use serde::Serialize;

use crate::{job::JobView, time::rfc3339};

#[derive(Debug, Clone, Serialize)]
pub struct Envelope<T: Serialize> {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// When the event happened (RFC 3339).
    pub timestamp: String,
    pub data: T,
}

impl Envelope<JobView> {
    pub fn job(event_type: EventType, at_ms: i64, job: JobView) -> Self {
        Self {
            event_type: event_type.as_str(),
            timestamp: rfc3339(at_ms),
            data: job,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    /// The exact bytes that are signed and sent.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}
