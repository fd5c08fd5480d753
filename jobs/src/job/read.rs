//! Reading jobs back, always scoped to the client that owns them.

use jobcall_entity::{ClientId, JobId, JobStatus, job};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

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

/// Jobs waiting to run, across all clients: the backpressure gauge.
pub async fn queue_depth(db: &Database) -> Result<u64, StoreError> {
    Ok(job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .count(db.reads())
        .await?)
}
