//! Canceling: a queued job is canceled at once; a running one is asked to
//! stop and its worker finishes it as canceled; a finished one cannot be.

use jobcall_entity::{ClientId, JobId, JobStatus, job};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryTrait, sea_query::Expr};

use super::finish::{Finished, terminate};
use crate::{
    kinds::JobError,
    signals::Signal,
    store::{StoreError, WriteOp, WriteTx},
};

#[derive(Debug, Clone)]
pub struct CancelJob {
    pub client_id: ClientId,
    pub job_id: JobId,
}

#[derive(Debug, Clone)]
pub enum CancelOutcome {
    /// It was queued; it is canceled now.
    Canceled(job::Model),
    /// It is running; its worker has been asked to stop.
    Requested(job::Model),
    /// It had already finished.
    AlreadyFinished(job::Model),
    NotFound,
}

impl WriteOp for CancelJob {
    type Output = CancelOutcome;

    async fn apply(self, tx: &mut WriteTx) -> Result<CancelOutcome, StoreError> {
        let now = tx.now_ms();
        let this_job = Condition::all()
            .add(job::Column::Id.eq(self.job_id.clone()))
            .add(job::Column::ClientId.eq(self.client_id.clone()));

        let queued = this_job
            .clone()
            .add(job::Column::Status.eq(JobStatus::Queued));
        let error = JobError::permanent("canceled", "canceled by the client");
        if let Finished::Terminal(job, _) = terminate(
            tx,
            queued,
            JobStatus::Canceled,
            Some(&error),
            &[],
            now,
            None,
        )
        .await?
        {
            return Ok(CancelOutcome::Canceled(job));
        }

        let mut request = job::Entity::update_many()
            .col_expr(job::Column::CancelRequested, Expr::value(true))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(
                this_job
                    .clone()
                    .add(job::Column::Status.eq(JobStatus::Running)),
            )
            .into_query();
        request.returning_all();
        if let Some(job) = tx.fetch_optional::<job::Model, _>(&request).await? {
            tx.signal(Signal::CancelRequested(job.id.clone()));
            return Ok(CancelOutcome::Requested(job));
        }

        let current: Option<job::Model> = tx
            .fetch_optional(&job::Entity::find().filter(this_job).into_query())
            .await?;
        Ok(match current {
            Some(job) => CancelOutcome::AlreadyFinished(job),
            None => CancelOutcome::NotFound,
        })
    }
}
