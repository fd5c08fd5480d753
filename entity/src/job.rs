//! `jobcall_jobs`: one row per submitted job; the source of truth for its state.
//! Times are Unix milliseconds on every backend.

use sea_orm::entity::prelude::*;

use crate::{CallbackState, ClientId, JobId, JobStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobId,
    pub client_id: ClientId,
    pub kind: String,
    pub status: JobStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub input: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub result: Option<Json>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub progress: Option<i16>,
    /// Execution attempts started so far (a takeover after a crash counts).
    pub attempts: i32,
    pub max_attempts: i32,
    pub timeout_ms: i64,
    pub callback_url: Option<String>,
    /// The subscribed event types, as a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub callback_events: Json,
    pub callback_state: CallbackState,
    pub callback_attempts: i32,
    pub callback_last_status_code: Option<i32>,
    pub callback_next_attempt_at: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the canonical request, to tell a replay from a conflicting reuse of a key.
    pub request_hash: Option<String>,
    /// The `X-Request-Id` of the submission; carried into worker and callback logs.
    pub request_id: Option<String>,
    pub cancel_requested: bool,
    /// The worker instance holding the job while it runs.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    /// When the next execution attempt is due, while a retry is scheduled.
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
    // Trace context (issue 16): the submission's span, as a W3C
    // `traceparent`, and its `tracestate`; the parent of the job's attempts
    // and deliveries.
    pub trace_parent: Option<String>,
    pub trace_state: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
