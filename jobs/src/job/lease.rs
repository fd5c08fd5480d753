//! What a running attempt writes while it runs: lease renewals (which also
//! carry cancel requests back to it) and progress.

use jobcall_entity::{EventType, JobId, job};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryTrait, sea_query::Expr,
};

use super::finish::attempt_held as held;
use crate::{
    callbacks::outbox,
    store::{StoreError, WriteOp, WriteTx},
};

/// Extends the lease of a running attempt to `until`.
#[derive(Debug, Clone)]
pub struct RenewLease {
    pub job_id: JobId,
    pub attempt: i32,
    pub worker: String,
    pub until: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    Held {
        cancel_requested: bool,
    },
    /// Another worker took the job over, or it was finished: stop.
    Lost,
}

#[derive(FromQueryResult)]
struct CancelFlag {
    cancel_requested: bool,
}

impl WriteOp for RenewLease {
    type Output = LeaseState;

    async fn apply(self, tx: &mut WriteTx) -> Result<LeaseState, StoreError> {
        let mut renew = job::Entity::update_many()
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(self.until))
            .filter(held(&self.job_id, self.attempt, &self.worker))
            .into_query();
        renew.returning_col(job::Column::CancelRequested);
        Ok(match tx.fetch_optional::<CancelFlag, _>(&renew).await? {
            Some(flag) => LeaseState::Held {
                cancel_requested: flag.cancel_requested,
            },
            None => LeaseState::Lost,
        })
    }
}

/// Stores the progress of a running attempt and sends `job.progress`.
#[derive(Debug, Clone)]
pub struct RecordProgress {
    pub job_id: JobId,
    pub attempt: i32,
    pub worker: String,
    pub percent: u8,
}

impl WriteOp for RecordProgress {
    type Output = ();

    async fn apply(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        let now = tx.now_ms();
        let percent = i16::from(self.percent.min(100));
        let mut record = job::Entity::update_many()
            .col_expr(job::Column::Progress, Expr::value(percent))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(held(&self.job_id, self.attempt, &self.worker))
            .filter(
                Condition::any()
                    .add(job::Column::Progress.is_null())
                    .add(job::Column::Progress.ne(percent)),
            )
            .into_query();
        record.returning_all();
        if let Some(job) = tx.fetch_optional::<job::Model, _>(&record).await? {
            outbox::emit(tx, &job, EventType::JobProgress, now, None).await?;
        }
        Ok(())
    }
}
