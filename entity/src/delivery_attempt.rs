//! `jobcall_delivery_attempts`: every callback attempt, successful or not.

use sea_orm::entity::prelude::*;

use crate::{ClientId, DeliveryTrigger, EventId, EventType, JobId};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobcall_delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: EventId,
    pub job_id: JobId,
    pub client_id: ClientId,
    pub event_type: EventType,
    /// The event's attempt number, from 1.
    pub attempt: i32,
    pub trigger: DeliveryTrigger,
    pub url: String,
    /// `None` when no response arrived (network error, timeout, refused address).
    pub status_code: Option<i32>,
    pub error_class: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The first bytes of the response body, as text.
    pub response_body: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
