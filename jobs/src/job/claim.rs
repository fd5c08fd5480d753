//! Claiming a job for an attempt. A queued job is claimed when its retry is
//! due; a running job is taken over once its lease has lapsed (its worker
//! died). A takeover counts as an attempt.

use std::time::Duration;

use jobcall_entity::{ClientId, EventType, JobId, JobStatus, job};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func},
};

use super::finish::{Finished, terminate};
use crate::{
    callbacks::outbox,
    claim::{Claim, come_back_at, take_lease},
    kinds::JobError,
    queue::{ExecuteTask, Queue},
    store::{StoreError, TaskRef, WriteOp, WriteTx},
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

/// How a claim of a job ended: [`Claim::Claimed`] with the job as it is now,
/// attempt number included.
pub type JobClaim = Claim<job::Model, JobEnd>;

/// Why there is nothing to run.
// Returned once per claim and matched at once; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum JobEnd {
    /// Finished, canceled, or unknown.
    AlreadyOver,
    /// Ended by this claim: canceled while its dead worker held it, or out
    /// of attempts.
    Terminated(job::Model),
}

#[derive(Debug, FromQueryResult)]
struct Unclaimable {
    client_id: ClientId,
    status: JobStatus,
    next_attempt_at: Option<i64>,
    lease_expires_at: Option<i64>,
}

impl WriteOp for ClaimJob {
    type Output = JobClaim;

    async fn apply(self, tx: &mut WriteTx) -> Result<JobClaim, StoreError> {
        let now = tx.now_ms();
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
        let claim = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(
                job::Column::StartedAt,
                Func::coalesce([Expr::col(job::Column::StartedAt), Expr::value(now)]).into(),
            )
            .col_expr(job::Column::NextAttemptAt, Expr::value(Option::<i64>::None))
            .col_expr(job::Column::UpdatedAt, Expr::value(now));
        let mut claim = take_lease(claim, &self.worker, now + self.lease.as_millis() as i64)
            .filter(job::Column::Id.eq(self.job_id.clone()))
            .filter(claimable)
            .into_query();
        claim.returning_all();

        let Some(job) = tx.fetch_optional::<job::Model, _>(&claim).await? else {
            return why_not(tx, self.job_id, self.task.as_ref(), now).await;
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

/// The job could not be claimed: come back when it can be, or end.
async fn why_not(
    tx: &mut WriteTx,
    job_id: JobId,
    asked: Option<&TaskRef>,
    now: i64,
) -> Result<JobClaim, StoreError> {
    let state: Option<Unclaimable> = tx
        .fetch_optional(
            &job::Entity::find_by_id(job_id.clone())
                .select_only()
                .columns([
                    job::Column::ClientId,
                    job::Column::Status,
                    job::Column::NextAttemptAt,
                    job::Column::LeaseExpiresAt,
                ])
                .into_query(),
        )
        .await?;
    let (later, client_id) = match state {
        Some(Unclaimable {
            status: JobStatus::Queued,
            next_attempt_at: Some(at),
            client_id,
            ..
        }) if at > now => (at, client_id),
        Some(Unclaimable {
            status: JobStatus::Running,
            lease_expires_at: Some(until),
            client_id,
            ..
        }) => (until + 1, client_id),
        _ => {
            tx.retire(asked);
            return Ok(Claim::Ended(JobEnd::AlreadyOver));
        }
    };
    let task = ExecuteTask::new(job_id, client_id);
    come_back_at(tx, Queue::Execute, &task, asked, later)
}

fn ended(finished: Finished) -> JobClaim {
    Claim::Ended(match finished {
        Finished::Terminal(job, _) => JobEnd::Terminated(job),
        _ => JobEnd::AlreadyOver,
    })
}
