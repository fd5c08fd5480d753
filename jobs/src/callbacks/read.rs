//! Reading a job's delivery attempts back.

use jobcall_entity::{ClientId, JobId, delivery_attempt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::store::{Database, StoreError};

/// The most attempts one listing returns.
pub const MAX_LISTED_ATTEMPTS: u64 = 1000;

/// Every attempt of the job's callbacks, oldest first.
pub async fn list_attempts(
    db: &Database,
    client_id: &ClientId,
    job_id: &JobId,
) -> Result<Vec<delivery_attempt::Model>, StoreError> {
    Ok(delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::JobId.eq(job_id.clone()))
        .filter(delivery_attempt::Column::ClientId.eq(client_id.clone()))
        .order_by_asc(delivery_attempt::Column::Id)
        .limit(MAX_LISTED_ATTEMPTS)
        .all(db.reads())
        .await?)
}
