//! `jobcall_events`: the callback outbox. A row is written in the same transaction as
//! the state change it reports, so an accepted state change always reaches
//! delivery; `payload` holds the exact bytes that are signed and sent.

use sea_orm::entity::prelude::*;

use crate::{ClientId, EventId, EventState, EventType, JobId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EventId,
    pub job_id: JobId,
    pub client_id: ClientId,
    /// Position of the event among its job's events, from 1.
    pub seq: i32,
    pub event_type: EventType,
    pub url: String,
    /// The webhook body, byte for byte as it is signed and sent.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub state: EventState,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub updated_at: i64,
    /// The `X-Request-Id` of the job's submission, for delivery logs.
    pub request_id: Option<String>,
    /// The job's trace context (see `job::Model::trace_parent`), for
    /// delivery logs and the callback's `traceparent`.
    pub trace_parent: Option<String>,
    pub trace_state: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
