//! Ending an attempt: the job succeeds, fails, is canceled, waits for a
//! retry, or goes back to the queue (a worker shutting down). Every ending
//! is fenced by the attempt number and the lease owner, so a worker that
//! lost its lease cannot overwrite the outcome of the one that took over.

use jobcall_entity::{ClientId, EventType, JobId, JobStatus, job};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryTrait,
    sea_query::{Expr, ExprTrait, SimpleExpr},
};
use serde_json::Value;

use crate::{
    callbacks::outbox::{self, ClaimedDelivery, DeliveryLease},
    claim::{clear_lease, held_by},
    kinds::JobError,
    queue::{ExecuteTask, Queue},
    signals::Signal,
    store::{StoreError, TaskRef, WriteOp, WriteTx},
};

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Succeeded(Value),
    /// Failed; `retry_at` is set when another attempt is due then.
    Failed {
        error: JobError,
        retry_at: Option<i64>,
    },
    Canceled,
    /// Not finished: handed back to the queue without using up the attempt.
    Released,
}

#[derive(Debug, Clone)]
pub struct FinishAttempt {
    pub job_id: JobId,
    pub client_id: ClientId,
    pub attempt: i32,
    pub worker: String,
    pub outcome: AttemptOutcome,
    /// The queue task the attempt ran for, retired with the outcome.
    pub task: Option<TaskRef>,
    /// Set when the worker can deliver the job's final event itself, at
    /// once, rather than through the delivery queue.
    pub deliver: Option<DeliveryLease>,
}

#[derive(Debug, Clone)]
pub enum Finished {
    /// The job reached a terminal state; its event is leased to the worker
    /// when the worker asked for it (see [`FinishAttempt::deliver`]).
    Terminal(job::Model, Option<Box<ClaimedDelivery>>),
    /// Another attempt is scheduled.
    Retrying(job::Model),
    Released,
    /// The attempt no longer held the job; nothing was written.
    LeaseLost,
}

impl WriteOp for FinishAttempt {
    type Output = Finished;

    async fn apply(self, tx: &mut WriteTx) -> Result<Finished, StoreError> {
        let task = self.task.clone();
        let finished = self.write_outcome(tx).await?;
        if matches!(finished, Finished::LeaseLost) {
            tx.release(task.as_ref());
        } else {
            tx.retire(task.as_ref());
        }
        Ok(finished)
    }
}

impl FinishAttempt {
    async fn write_outcome(self, tx: &mut WriteTx) -> Result<Finished, StoreError> {
        let now = tx.now_ms();
        let deliver = self.deliver.as_ref();
        let held = attempt_held(&self.job_id, self.attempt, &self.worker);
        match self.outcome {
            AttemptOutcome::Succeeded(result) => {
                let changes = [
                    (job::Column::Result, Expr::value(result)),
                    (job::Column::Progress, Expr::value(100i16)),
                ];
                terminate(tx, held, JobStatus::Succeeded, None, &changes, now, deliver).await
            }
            AttemptOutcome::Failed {
                error,
                retry_at: None,
            } => terminate(tx, held, JobStatus::Failed, Some(&error), &[], now, deliver).await,
            AttemptOutcome::Canceled => {
                let error = JobError::permanent("canceled", "canceled by the client");
                terminate(
                    tx,
                    held,
                    JobStatus::Canceled,
                    Some(&error),
                    &[],
                    now,
                    deliver,
                )
                .await
            }
            AttemptOutcome::Failed {
                error,
                retry_at: Some(retry_at),
            } => {
                let update = job::Entity::update_many()
                    .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
                    .col_expr(job::Column::ErrorCode, Expr::value(error.code))
                    .col_expr(job::Column::ErrorMessage, Expr::value(error.message))
                    .col_expr(job::Column::NextAttemptAt, Expr::value(retry_at));
                let mut update = clear_lease(update, now).filter(held).into_query();
                update.returning_all();
                let Some(job) = tx.fetch_optional::<job::Model, _>(&update).await? else {
                    return Ok(Finished::LeaseLost);
                };
                let task = ExecuteTask::new(job.id.clone(), job.client_id.clone());
                let priority = tx.fair_priority(&job.client_id).await?;
                tx.push_with_priority(Queue::Execute, &task, Some(retry_at), priority)?;
                Ok(Finished::Retrying(job))
            }
            AttemptOutcome::Released => {
                let update = job::Entity::update_many()
                    .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
                    .col_expr(
                        job::Column::Attempts,
                        Expr::col(job::Column::Attempts).sub(1),
                    );
                let update = clear_lease(update, now).filter(held).into_query();
                if tx.execute(&update).await? == 0 {
                    return Ok(Finished::LeaseLost);
                }
                let task = ExecuteTask::new(self.job_id, self.client_id);
                tx.push(Queue::Execute, &task, None)?;
                Ok(Finished::Released)
            }
        }
    }
}

/// The running attempt `attempt` of a job, while `worker` holds it: what
/// every write of a running attempt is fenced by.
pub(super) fn attempt_held(job_id: &JobId, attempt: i32, worker: &str) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(job_id.clone()))
        .add(job::Column::Status.eq(JobStatus::Running))
        .add(job::Column::Attempts.eq(attempt))
        .add(held_by::<job::Entity>(worker))
}

/// Moves the job matching `filter` to a terminal `status`, records `error`
/// and `changes`, writes the matching callback event and wakes long-polling
/// readers.
pub(super) async fn terminate(
    tx: &mut WriteTx,
    filter: Condition,
    status: JobStatus,
    error: Option<&JobError>,
    changes: &[(job::Column, SimpleExpr)],
    now: i64,
    deliver: Option<&DeliveryLease>,
) -> Result<Finished, StoreError> {
    let update = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(
            job::Column::ErrorCode,
            Expr::value(error.map(|e| e.code.clone())),
        )
        .col_expr(
            job::Column::ErrorMessage,
            Expr::value(error.map(|e| e.message.clone())),
        )
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::NextAttemptAt, Expr::value(Option::<i64>::None));
    let mut update = clear_lease(update, now);
    for (column, value) in changes {
        update = update.col_expr(*column, value.clone());
    }
    let mut update = update.filter(filter).into_query();
    update.returning_all();
    let Some(job) = tx.fetch_optional::<job::Model, _>(&update).await? else {
        return Ok(Finished::LeaseLost);
    };
    let event =
        EventType::for_terminal(status).expect("terminate is only called with terminal states");
    let claimed = outbox::emit(tx, &job, event, now, deliver).await?;
    tx.signal(Signal::JobFinished(job.id.clone()));
    Ok(Finished::Terminal(job, claimed.map(Box::new)))
}
