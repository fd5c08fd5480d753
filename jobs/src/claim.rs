//! The lease protocol that jobs and callback events share. A row is held by
//! one worker (`lease_owner`) until `lease_expires_at`; a claim takes a row
//! that no live lease holds, and a claim that finds its row held or not yet
//! due either waits a moment or queues a task for later. Ending or giving
//! back an attempt clears the lease.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, UpdateMany,
    sea_query::{Expr, IntoIden},
};
use serde::Serialize;

use jobcall_entity::{event, job};

use crate::{
    queue::Queue,
    store::{StoreError, TaskRef, WriteTx},
};

/// The longest wait for a due time that a worker sits out instead of
/// queueing a task for later: queue tasks are due in whole seconds, so
/// they arrive up to a second early.
pub const MAX_EARLY_MS: i64 = 1500;

/// How a claim ended.
#[derive(Debug, Clone)]
pub enum Claim<T, E = ()> {
    /// Ours to work on: the row as it is now.
    Claimed(T),
    /// Due this soon: wait, then claim again.
    WaitUntil(i64),
    /// Not before this time (due later, or held by a lease); a task for
    /// then has been queued.
    Requeued(i64),
    /// Nothing to do, with what the claim found out.
    Ended(E),
}

/// A row with a lease: the columns the protocol reads and writes.
pub(crate) trait Leased: EntityTrait {
    const OWNER: Self::Column;
    const EXPIRES_AT: Self::Column;
    const UPDATED_AT: Self::Column;
}

impl Leased for job::Entity {
    const OWNER: job::Column = job::Column::LeaseOwner;
    const EXPIRES_AT: job::Column = job::Column::LeaseExpiresAt;
    const UPDATED_AT: job::Column = job::Column::UpdatedAt;
}

impl Leased for event::Entity {
    const OWNER: event::Column = event::Column::LeaseOwner;
    const EXPIRES_AT: event::Column = event::Column::LeaseExpiresAt;
    const UPDATED_AT: event::Column = event::Column::UpdatedAt;
}

/// Rows no live lease holds at `now`.
pub(crate) fn unleased<E: Leased>(now: i64) -> Condition {
    Condition::any()
        .add(E::OWNER.is_null())
        .add(E::EXPIRES_AT.lt(now))
}

/// Rows `worker` holds.
pub(crate) fn held_by<E: Leased>(worker: &str) -> Condition {
    Condition::all().add(E::OWNER.eq(worker.to_owned()))
}

/// Sets `worker`'s lease, until `until`.
pub(crate) fn take_lease<E>(update: UpdateMany<E>, worker: &str, until: i64) -> UpdateMany<E>
where
    E: Leased,
    E::Column: IntoIden,
{
    update
        .col_expr(E::OWNER, Expr::value(worker.to_owned()))
        .col_expr(E::EXPIRES_AT, Expr::value(until))
}

/// Clears the lease and stamps the change.
pub(crate) fn clear_lease<E>(update: UpdateMany<E>, now: i64) -> UpdateMany<E>
where
    E: Leased,
    E::Column: IntoIden,
{
    update
        .col_expr(E::OWNER, Expr::value(Option::<String>::None))
        .col_expr(E::EXPIRES_AT, Expr::value(Option::<i64>::None))
        .col_expr(E::UPDATED_AT, Expr::value(now))
}

/// A claim that found its row not claimable before `later`: waits for a
/// time that close, or queues a task (`args` on `queue`) for then and
/// retires the one that asked.
pub(crate) fn come_back_at<T, E, A: Serialize>(
    tx: &mut WriteTx,
    queue: Queue,
    args: &A,
    asked: Option<&TaskRef>,
    later: i64,
) -> Result<Claim<T, E>, StoreError> {
    if later - tx.now_ms() <= MAX_EARLY_MS {
        return Ok(Claim::WaitUntil(later));
    }
    tx.push(queue, args, Some(later))?;
    tx.retire(asked);
    Ok(Claim::Requeued(later))
}
