//! Reading jobs back, always scoped to the client that owns them.

use jobcall_entity::{ClientId, JobId, JobStatus, job};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, Query},
};

use crate::store::{Database, StoreError};

pub async fn find_job(
    db: &Database,
    client_id: &ClientId,
    job_id: &JobId,
) -> Result<Option<job::Model>, StoreError> {
    Ok(job::Entity::find_by_id(job_id.clone())
        .filter(job::Column::ClientId.eq(client_id.clone()))
        .one(db.reads())
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    /// Return jobs older than this one (the previous page's `next_cursor`).
    pub after: Option<JobId>,
    pub limit: u64,
}

#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<job::Model>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<JobId>,
}

/// Newest first. Ids sort by creation time, so the cursor is simply the last
/// id of the page and each page is one index range scan.
pub async fn list_jobs(
    db: &Database,
    client_id: &ClientId,
    filter: JobFilter,
) -> Result<JobPage, StoreError> {
    let mut query = job::Entity::find().filter(job::Column::ClientId.eq(client_id.clone()));
    if let Some(status) = filter.status {
        query = query.filter(job::Column::Status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(job::Column::Kind.eq(kind));
    }
    if let Some(after) = filter.after {
        query = query.filter(job::Column::Id.lt(after));
    }
    let mut jobs = query
        .order_by_desc(job::Column::Id)
        .limit(filter.limit + 1)
        .all(db.reads())
        .await?;
    let next_cursor = if jobs.len() as u64 > filter.limit {
        jobs.truncate(filter.limit as usize);
        jobs.last().map(|job| job.id.clone())
    } else {
        None
    };
    Ok(JobPage { jobs, next_cursor })
}

/// Jobs waiting to run, across all clients, counted up to `cap` (the
/// backpressure threshold: beyond it the exact number does not matter, and
/// counting stays cheap however deep the queue).
pub async fn queue_depth(db: &Database, cap: u64) -> Result<u64, StoreError> {
    let capped = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .limit(cap)
        .into_query();
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "count")
        .from_subquery(capped, "capped")
        .to_owned();
    let row = db
        .reads()
        .query_one(&count)
        .await?
        .ok_or_else(|| StoreError::Corrupt("COUNT returned no row".into()))?;
    Ok(row.try_get::<i64>("", "count")? as u64)
}

/// Which of `ids` have reached a terminal state.
pub async fn finished_among(db: &Database, ids: Vec<JobId>) -> Result<Vec<JobId>, StoreError> {
    let mut finished = Vec::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<JobId> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(job::Column::Id.is_in(chunk.to_vec()))
            .filter(job::Column::Status.is_in([
                JobStatus::Succeeded,
                JobStatus::Failed,
                JobStatus::Canceled,
            ]))
            .into_tuple()
            .all(db.reads())
            .await?;
        finished.extend(rows);
    }
    Ok(finished)
}
