//! Every state a stored object can be in. The database enforces each list
//! with a CHECK constraint (see the migrations); these enums are the
//! canonical lists.

// DeriveActiveEnum names its helper variants after the stored strings
// (`job.started` becomes `Job0x2EStarted`), which this lint dislikes.
#![allow(clippy::enum_variant_names)]

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a job is in its life. A job only moves forward:
/// `queued → running → succeeded | failed | canceled`, with `running → queued`
/// between execution attempts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted and committed, waiting for a worker: set by submit, and by a
    /// worker when a retryable failure schedules another attempt. Left when a
    /// worker claims the job or a cancel arrives.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// A worker holds the job's lease and runs it. The lease is renewed while
    /// the worker lives; when it lapses another worker takes the job over.
    #[sea_orm(string_value = "running")]
    Running,
    /// Terminal: the kind returned a result.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Terminal: a non-retryable error, or the last attempt failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Terminal: canceled by the client, at once when queued, cooperatively
    /// when running.
    #[sea_orm(string_value = "canceled")]
    Canceled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Canceled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// The callback delivery summary of a job, kept on the job row and updated in
/// the same transaction as every delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// No callback URL, so nothing will be sent.
    #[sea_orm(string_value = "none")]
    None,
    /// An event waits for its first attempt.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Every event so far reached the receiver.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// The last attempt failed; another one is scheduled.
    #[sea_orm(string_value = "failing")]
    Failing,
    /// An event was given up (attempts or age exhausted, or `410 Gone`). A
    /// manual replay can still deliver it.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// The events a job emits to its callback URL.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum EventType {
    #[sea_orm(string_value = "job.started")]
    #[serde(rename = "job.started")]
    JobStarted,
    #[sea_orm(string_value = "job.progress")]
    #[serde(rename = "job.progress")]
    JobProgress,
    #[sea_orm(string_value = "job.succeeded")]
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    #[sea_orm(string_value = "job.failed")]
    #[serde(rename = "job.failed")]
    JobFailed,
    #[sea_orm(string_value = "job.canceled")]
    #[serde(rename = "job.canceled")]
    JobCanceled,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::JobStarted,
        EventType::JobProgress,
        EventType::JobSucceeded,
        EventType::JobFailed,
        EventType::JobCanceled,
    ];

    /// What a job sends when its submission names no `callback_events`.
    pub const TERMINAL: [EventType; 3] = [
        EventType::JobSucceeded,
        EventType::JobFailed,
        EventType::JobCanceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobStarted => "job.started",
            Self::JobProgress => "job.progress",
            Self::JobSucceeded => "job.succeeded",
            Self::JobFailed => "job.failed",
            Self::JobCanceled => "job.canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == s)
    }

    /// The event a job in this terminal status emits.
    pub fn for_terminal(status: JobStatus) -> Option<Self> {
        match status {
            JobStatus::Succeeded => Some(Self::JobSucceeded),
            JobStatus::Failed => Some(Self::JobFailed),
            JobStatus::Canceled => Some(Self::JobCanceled),
            JobStatus::Queued | JobStatus::Running => None,
        }
    }
}

/// Where one callback event is in its delivery. Events of a job are delivered
/// in order: only the oldest unfinished event of a job is ever `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Behind an earlier event of the same job that is not finished yet. The
    /// transaction that finishes the earlier event promotes this one.
    #[sea_orm(string_value = "waiting")]
    Waiting,
    /// Head of its job's line: a delivery task is queued for it (now, or at
    /// `next_attempt_at` after a failed attempt).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Terminal: the receiver answered 2xx.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Terminal: given up. A manual replay may still deliver it.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl EventState {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }
}

/// What caused a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryTrigger {
    /// The first attempt or a retry on the backoff schedule.
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    /// A replay requested through `POST /v1/jobs/{id}/deliveries`.
    #[sea_orm(string_value = "manual")]
    Manual,
}
