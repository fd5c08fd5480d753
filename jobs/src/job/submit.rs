//! Accepting a job: its row and its first execution task, in one transaction.

use std::time::Duration;

use jobcall_entity::{CallbackState, ClientId, JobId, JobStatus, job};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryTrait, sea_query::OnConflict,
};

use super::{IdempotencyKey, JobSpec};
use crate::{
    queue::{ExecuteTask, Queue},
    store::{StoreError, TaskRef, WriteOp, WriteTx},
};

/// A job ready to be written, built outside the writer so the transaction
/// only runs SQL.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Its times are stamped when it is written.
    row: job::Model,
    /// How long after the job is written its queue task falls due; `None`
    /// for at once.
    task_delay: Option<Duration>,
}

/// What a submission came to.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// A new job, committed, and its queue task.
    Created(job::Model, TaskRef),
    /// The key was used before with the same request: that job.
    Replayed(job::Model),
    /// The key was used before with a different request.
    KeyReused,
}

impl Submission {
    pub fn new(
        client_id: ClientId,
        spec: JobSpec,
        key: Option<IdempotencyKey>,
        request_id: Option<String>,
    ) -> Self {
        let request_hash = key.as_ref().map(|_| spec.fingerprint());
        let (callback_url, callback_events, callback_state) = match &spec.callback {
            Some(callback) => (
                Some(callback.url.to_string()),
                serde_json::to_value(&callback.events).unwrap_or_default(),
                CallbackState::None,
            ),
            None => (None, serde_json::json!([]), CallbackState::None),
        };
        let row = job::Model {
            id: JobId::generate(),
            client_id,
            kind: spec.kind,
            status: JobStatus::Queued,
            input: spec.input,
            result: None,
            error_code: None,
            error_message: None,
            progress: None,
            attempts: 0,
            max_attempts: spec.max_attempts as i32,
            timeout_ms: spec.timeout.as_millis() as i64,
            callback_url,
            callback_events,
            callback_state,
            callback_attempts: 0,
            callback_last_status_code: None,
            callback_next_attempt_at: None,
            metadata: serde_json::to_value(&spec.metadata).unwrap_or_default(),
            idempotency_key: key.map(|k| k.as_str().to_owned()),
            request_hash,
            request_id,
            cancel_requested: false,
            lease_owner: None,
            lease_expires_at: None,
            next_attempt_at: None,
            created_at: 0,
            started_at: None,
            finished_at: None,
            updated_at: 0,
            trace_parent: None,
            trace_state: None,
        };
        Self {
            row,
            task_delay: None,
        }
    }

    /// Keeps the trace the submission is part of with the job.
    pub fn traced(mut self, trace: &crate::trace::TraceContext) -> Self {
        self.row.trace_parent = Some(trace.traceparent());
        self.row.trace_state = trace.tracestate().map(str::to_owned);
        self
    }

    /// For a job a worker of this process runs at once: its queue task only
    /// falls due `delay` later (see `worker::LocalDispatch`).
    pub fn handed_over(self, delay: Duration) -> Self {
        Self {
            task_delay: Some(delay),
            ..self
        }
    }
}

impl WriteOp for Submission {
    type Output = Submitted;

    // Inserts only new rows: safe to share a transaction with any other op.
    const BATCHES: bool = true;

    async fn apply(self, tx: &mut WriteTx) -> Result<Submitted, StoreError> {
        let now = tx.now_ms();
        let row = job::Model {
            created_at: now,
            updated_at: now,
            ..self.row
        };
        let task_due_ms = self.task_delay.map(|delay| now + delay.as_millis() as i64);
        let task = ExecuteTask::new(row.id.clone(), row.client_id.clone());
        if row.idempotency_key.is_none() {
            // Nothing to check: the row joins the group's one insert.
            let priority = tx.fair_priority(&row.client_id).await?;
            tx.insert_job_at_commit(row.clone());
            let task = tx.push_with_priority(Queue::Execute, &task, task_due_ms, priority)?;
            return Ok(Submitted::Created(row, task));
        }
        let insert = job::Entity::insert(job::ActiveModel::from(row.clone()).reset_all())
            .on_conflict(
                OnConflict::columns([job::Column::ClientId, job::Column::IdempotencyKey])
                    .do_nothing()
                    .to_owned(),
            );
        if tx.execute(&insert.into_query()).await? == 0 {
            // The key is taken: by this very request (a retry), or another.
            let existing: job::Model = tx
                .fetch_optional(
                    &job::Entity::find()
                        .filter(job::Column::ClientId.eq(row.client_id.clone()))
                        .filter(job::Column::IdempotencyKey.eq(row.idempotency_key.clone()))
                        .into_query(),
                )
                .await?
                .ok_or_else(|| {
                    StoreError::Corrupt("an idempotency key conflicted with no row".into())
                })?;
            return Ok(if existing.request_hash == row.request_hash {
                Submitted::Replayed(existing)
            } else {
                Submitted::KeyReused
            });
        }
        let priority = tx.fair_priority(&row.client_id).await?;
        let task = tx.push_with_priority(Queue::Execute, &task, task_due_ms, priority)?;
        Ok(Submitted::Created(row, task))
    }
}
