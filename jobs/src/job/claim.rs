//! Claiming a job for an attempt. A queued job is claimed when its retry is
//! due; a running job is taken over once its lease has lapsed (its worker
//! died). A takeover counts as an attempt.

use std::time::Duration;

use jobcall_entity::{EventType, JobId, JobStatus, job};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func},
};

use super::finish::{Finished, terminate};
use crate::{
    callbacks::outbox,
    kinds::JobError,
    store::{ExecuteTask, Queue, StoreError, TaskRef, WriteOp, WriteTx},
    time::now_ms,
};

#[derive(Debug, Clone)]
pub struct ClaimJob {
    pub job_id: JobId,
    pub worker: String,
    pub lease: Duration,
    /// The queue task that asked for this claim; retired unless the job is
    /// claimed (or is due in a moment).
    pub task: Option<TaskRef>,
}

// Returned once per claim and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Claim {
    /// Ours to run: the job as it is now, attempt number included.
    Claimed(job::Model),
    /// A retry due this soon: wait, then claim again. (Queue tasks are due
    /// in whole seconds, so they arrive up to a second early.)
    WaitUntil(i64),
    /// Not runnable before this time (a retry further out, or a lease held
    /// by another worker); a task for then has been queued.
    Requeued(i64),
    /// Ended here: canceled while its dead worker held it, or out of attempts.
    Terminated(job::Model),
    /// Nothing to run: finished, canceled, or unknown.
    Ended,
}

/// The longest wait for a retry that a worker sits out instead of queueing
/// a task for later.
const MAX_EARLY_MS: i64 = 1500;

#[derive(Debug, FromQueryResult)]
struct Unclaimable {
    status: JobStatus,
    next_attempt_at: Option<i64>,
    lease_expires_at: Option<i64>,
}

impl WriteOp for ClaimJob {
    type Output = Claim;

    async fn apply(self, tx: &mut WriteTx) -> Result<Claim, StoreError> {
        let now = now_ms();
        let claimable = Condition::any()
            .add(
                Condition::all()
                    .add(job::Column::Status.eq(JobStatus::Queued))
                    .add(
                        Condition::any()
                            .add(job::Column::NextAttemptAt.is_null())
                            .add(job::Column::NextAttemptAt.lte(now)),
                    ),
            )
            .add(
                Condition::all()
                    .add(job::Column::Status.eq(JobStatus::Running))
                    .add(job::Column::LeaseExpiresAt.lt(now)),
            );
        let mut claim = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(
                job::Column::StartedAt,
                Func::coalesce([Expr::col(job::Column::StartedAt), Expr::value(now)]).into(),
            )
            .col_expr(job::Column::LeaseOwner, Expr::value(self.worker))
            .col_expr(
                job::Column::LeaseExpiresAt,
                Expr::value(now + self.lease.as_millis() as i64),
            )
            .col_expr(job::Column::NextAttemptAt, Expr::value(Option::<i64>::None))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.eq(self.job_id.clone()))
            .filter(claimable)
            .into_query();
        claim.returning_all();

        let Some(job) = tx.fetch_optional::<job::Model, _>(&claim).await? else {
            let outcome = why_not(tx, self.job_id, now).await?;
            if !matches!(outcome, Claim::WaitUntil(_)) {
                tx.retire(self.task.as_ref());
            }
            return Ok(outcome);
        };
        let this_attempt = Condition::all()
            .add(job::Column::Id.eq(job.id.clone()))
            .add(job::Column::Attempts.eq(job.attempts));
        if job.cancel_requested {
            // Canceled while its previous worker held it; that worker is gone.
            let error = JobError::permanent("canceled", "canceled by the client");
            let finished = terminate(
                tx,
                this_attempt,
                JobStatus::Canceled,
                Some(&error),
                &[],
                now,
                None,
            )
            .await?;
            tx.retire(self.task.as_ref());
            return Ok(ended(finished));
        }
        if job.attempts > job.max_attempts {
            // Taken over from a worker that died during the last attempt.
            let error = JobError::permanent(
                "worker_lost",
                format!(
                    "the worker running attempt {} stopped responding",
                    job.max_attempts
                ),
            );
            let attempts = [(job::Column::Attempts, Expr::value(job.max_attempts))];
            let finished = terminate(
                tx,
                this_attempt,
                JobStatus::Failed,
                Some(&error),
                &attempts,
                now,
                None,
            )
            .await?;
            tx.retire(self.task.as_ref());
            return Ok(ended(finished));
        }
        outbox::emit(tx, &job, EventType::JobStarted, now, None).await?;
        Ok(Claim::Claimed(job))
    }
}

async fn why_not(tx: &mut WriteTx, job_id: JobId, now: i64) -> Result<Claim, StoreError> {
    let state: Option<Unclaimable> = tx
        .fetch_optional(
            &job::Entity::find_by_id(job_id.clone())
                .select_only()
                .columns([
                    job::Column::Status,
                    job::Column::NextAttemptAt,
                    job::Column::LeaseExpiresAt,
                ])
                .into_query(),
        )
        .await?;
    let later = match state {
        Some(Unclaimable {
            status: JobStatus::Queued,
            next_attempt_at: Some(at),
            ..
        }) if at > now => at,
        Some(Unclaimable {
            status: JobStatus::Running,
            lease_expires_at: Some(until),
            ..
        }) => until + 1,
        _ => return Ok(Claim::Ended),
    };
    if later - now <= MAX_EARLY_MS {
        return Ok(Claim::WaitUntil(later));
    }
    tx.push(Queue::Execute, &ExecuteTask { job_id }, Some(later))?;
    Ok(Claim::Requeued(later))
}

fn ended(finished: Finished) -> Claim {
    match finished {
        Finished::Terminal(job, _) => Claim::Terminated(job),
        _ => Claim::Ended,
    }
}
