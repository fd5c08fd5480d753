//! Retention: finished jobs, and everything that hangs off them (events,
//! delivery attempts, the idempotency key on the row), are deleted once
//! they are older than their client's retention, in small batches off the
//! hot path. A job whose callbacks are still being delivered is kept until
//! they end. `DELETE /v1/jobs/{id}` erases one finished job at once.
//!
//! Queue tasks need no sweeping of their own: a job's tasks are retired in
//! the transactions that end its attempts and deliveries, so a finished job
//! with no pending callback has none. Tasks apalis itself gave up on are
//! purged with [`crate::store::purge_dead_tasks`].

use std::time::Duration;

use jobcall_entity::{
    CallbackState, ClientId, JobId, JobStatus, client, delivery_attempt, event, job,
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, Order, QueryFilter, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr},
};
use tracing::{info, warn};

use crate::{
    config::RetentionSettings,
    services::Services,
    store::{StoreError, WriteOp, WriteTx, purge_dead_tasks, table_sizes},
};

/// Deletes the oldest finished jobs past their retention, at most `limit`.
#[derive(Debug, Clone)]
pub struct PurgeExpired {
    /// The server's retention of succeeded and canceled jobs, in ms; 0: forever.
    pub finished_ms: i64,
    /// The same for failed jobs.
    pub failed_ms: i64,
    pub limit: u64,
}

impl PurgeExpired {
    pub fn new(settings: &RetentionSettings) -> Self {
        let ms = |keep: Option<Duration>| keep.map_or(0, |keep| keep.as_millis() as i64);
        Self {
            finished_ms: ms(settings.finished),
            failed_ms: ms(settings.failed),
            limit: settings.batch as u64,
        }
    }
}

/// Rows deleted by one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub jobs: u64,
    pub events: u64,
    pub attempts: u64,
}

#[derive(Debug, FromQueryResult)]
struct IdOnly {
    id: JobId,
}

/// Jobs in `statuses` that finished longer ago than their client keeps
/// them (`column` of the client, or `default_ms` when it has none; 0 is
/// forever), and whose callbacks are not still being delivered.
fn expired(statuses: &[JobStatus], column: client::Column, default_ms: i64, now: i64) -> Condition {
    let keep_ms: SimpleExpr = Func::coalesce([
        Expr::col((client::Entity, column)).mul(1000),
        Expr::val(default_ms),
    ])
    .into();
    Condition::all()
        .add(Expr::col((job::Entity, job::Column::Status)).is_in(statuses.iter().copied()))
        .add(
            Expr::col((job::Entity, job::Column::CallbackState))
                .is_not_in([CallbackState::Pending, CallbackState::Failing]),
        )
        .add(Expr::expr(keep_ms.clone()).gt(0))
        .add(Expr::col((job::Entity, job::Column::FinishedAt)).lt(Expr::val(now).sub(keep_ms)))
}

impl WriteOp for PurgeExpired {
    type Output = Purged;

    async fn apply(self, tx: &mut WriteTx) -> Result<Purged, StoreError> {
        // Two processes sweeping at once would only delete the same rows;
        // on PostgreSQL the second one skips the batch instead.
        if !tx.try_lock_for_transaction("retention").await? {
            return Ok(Purged::default());
        }
        let now = tx.now_ms();
        let groups = [
            (
                &[JobStatus::Succeeded, JobStatus::Canceled][..],
                client::Column::RetentionSeconds,
                self.finished_ms,
            ),
            (
                &[JobStatus::Failed][..],
                client::Column::RetentionFailedSeconds,
                self.failed_ms,
            ),
        ];
        let mut ids = Vec::new();
        for (statuses, column, default_ms) in groups {
            let left = self.limit.saturating_sub(ids.len() as u64);
            if left == 0 {
                break;
            }
            let select = Query::select()
                .column((job::Entity, job::Column::Id))
                .from(job::Entity)
                .inner_join(
                    client::Entity,
                    Expr::col((client::Entity, client::Column::Id))
                        .equals((job::Entity, job::Column::ClientId)),
                )
                .cond_where(expired(statuses, column, default_ms, now))
                .order_by((job::Entity, job::Column::FinishedAt), Order::Asc)
                .limit(left)
                .to_owned();
            let found: Vec<IdOnly> = tx.fetch_all(&select).await?;
            ids.extend(found.into_iter().map(|row| row.id));
        }
        delete_jobs(tx, ids).await
    }
}

/// Deletes jobs with their events and delivery attempts.
async fn delete_jobs(tx: &mut WriteTx, mut ids: Vec<JobId>) -> Result<Purged, StoreError> {
    if ids.is_empty() {
        return Ok(Purged::default());
    }
    // One order everywhere: two transactions never wait on each other.
    ids.sort_unstable();
    let attempts = tx
        .execute(
            &delivery_attempt::Entity::delete_many()
                .filter(delivery_attempt::Column::JobId.is_in(ids.clone()))
                .into_query(),
        )
        .await?;
    let events = tx
        .execute(
            &event::Entity::delete_many()
                .filter(event::Column::JobId.is_in(ids.clone()))
                .into_query(),
        )
        .await?;
    let jobs = tx
        .execute(
            &job::Entity::delete_many()
                .filter(job::Column::Id.is_in(ids))
                .into_query(),
        )
        .await?;
    Ok(Purged {
        jobs,
        events,
        attempts,
    })
}

/// Erases one finished job of a client now.
#[derive(Debug, Clone)]
pub struct EraseJob {
    pub client_id: ClientId,
    pub job_id: JobId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    Erased,
    NoSuchJob,
    /// Still queued or running: cancel it first.
    NotFinished(JobStatus),
    /// Its callbacks are still being delivered.
    CallbacksPending,
}

#[derive(Debug, FromQueryResult)]
struct Erasable {
    status: JobStatus,
    callback_state: CallbackState,
}

impl WriteOp for EraseJob {
    type Output = Erased;

    async fn apply(self, tx: &mut WriteTx) -> Result<Erased, StoreError> {
        tx.lock_job_row(&self.job_id).await?;
        let found: Option<Erasable> = tx
            .fetch_optional(
                &job::Entity::find_by_id(self.job_id.clone())
                    .select_only()
                    .columns([job::Column::Status, job::Column::CallbackState])
                    .filter(job::Column::ClientId.eq(self.client_id))
                    .into_query(),
            )
            .await?;
        let Some(found) = found else {
            return Ok(Erased::NoSuchJob);
        };
        if !found.status.is_terminal() {
            return Ok(Erased::NotFinished(found.status));
        }
        if matches!(
            found.callback_state,
            CallbackState::Pending | CallbackState::Failing
        ) {
            return Ok(Erased::CallbacksPending);
        }
        delete_jobs(tx, vec![self.job_id]).await?;
        Ok(Erased::Erased)
    }
}

/// Sweeps every `sweep_interval` (on the clock) until `stop`: expired jobs
/// in batches, then dead queue tasks, then gives SQLite's free pages back
/// and samples the table sizes for the metrics.
pub fn spawn_sweeper(services: Services, stop: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        let settings = services.settings.retention.clone();
        loop {
            tokio::select! {
                () = services.clock.sleep(settings.sweep_interval) => {}
                () = stop.cancelled() => return,
            }
            if let Err(err) = sweep(&services, &settings, &stop).await {
                warn!(error = %err, "retention sweep failed; trying again at the next one");
            }
        }
    });
}

/// One sweep; returns what it deleted.
pub async fn sweep(
    services: &Services,
    settings: &RetentionSettings,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<Purged, StoreError> {
    /// A long purge samples the table sizes as it goes, too.
    const BATCHES_PER_SAMPLE: u64 = 100;
    let mut total = Purged::default();
    for batch in 1.. {
        let purged = services.writer.run(PurgeExpired::new(settings)).await?;
        total.jobs += purged.jobs;
        total.events += purged.events;
        total.attempts += purged.attempts;
        services
            .metrics
            .purged(purged.jobs, purged.events, purged.attempts);
        if purged.jobs < settings.batch as u64 || stop.is_cancelled() {
            break;
        }
        if batch % BATCHES_PER_SAMPLE == 0 {
            let sizes = table_sizes(&services.db).await?;
            services.metrics.storage(&sizes.rows, sizes.bytes);
        }
        // A pause on real time, not the clock: between batches the write
        // path commits other transactions without a purge in them.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let keep_tasks_ms = settings
        .finished
        .unwrap_or(Duration::from_secs(7 * 24 * 3600));
    let dead_tasks = purge_dead_tasks(&services.db, keep_tasks_ms).await?;
    let pages = if total.jobs > 0 || dead_tasks > 0 {
        services.db.release_free_pages().await?
    } else {
        0
    };
    if total.jobs > 0 || dead_tasks > 0 {
        info!(
            jobs = total.jobs,
            events = total.events,
            attempts = total.attempts,
            dead_tasks,
            pages_released = pages,
            "retention sweep"
        );
    }
    let sizes = table_sizes(&services.db).await?;
    services.metrics.storage(&sizes.rows, sizes.bytes);
    Ok(total)
}
