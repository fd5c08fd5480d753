//! Writing events. Called inside the transaction that changes the job, so
//! the change and the promise to report it commit together.

use std::time::Duration;

use jobcall_entity::{CallbackState, EventId, EventState, EventType, JobId, event, job};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::Expr,
};

use super::Envelope;
use crate::{
    job::{JobView, subscribed_events},
    queue::{DeliverTask, Queue},
    store::{StoreError, TaskRef, WriteTx},
};
use jobcall_entity::DeliveryTrigger;

/// The newest event of a job: whether a new one must wait behind it.
#[derive(Debug, FromQueryResult)]
struct LastEvent {
    id: EventId,
    seq: i32,
    event_type: EventType,
    state: EventState,
}

/// Records `event_type` for `job` (already updated to the state the event
/// reports) if the job has a callback URL and subscribes to that event.
///
/// Only the oldest unfinished event of a job has a delivery task; a newer one
/// is `waiting` until the delivery of its predecessor finishes. A progress
/// report that would wait behind another waiting progress report replaces
/// it instead: a slow receiver gets the latest progress, not every step.
///
/// With `claim`, a new event that can be sent at once is written already
/// leased to the caller, which delivers it straight away (see
/// [`DeliveryLease`]); its queue task is only due when the lease lapses, for
/// when the caller dies first.
pub(crate) async fn emit(
    tx: &mut WriteTx,
    job: &job::Model,
    event_type: EventType,
    now: i64,
    claim: Option<&DeliveryLease>,
) -> Result<Option<ClaimedDelivery>, StoreError> {
    let Some(url) = &job.callback_url else {
        return Ok(None);
    };
    if !subscribed_events(job).contains(&event_type) {
        return Ok(None);
    }
    let payload = Envelope::job(event_type, now, JobView::from(job)).to_body();
    // `job` is the row as this transaction just updated (and locked) it, so
    // its summary is current: `none` means the job has no event yet.
    let has_events = job.callback_state != CallbackState::None;
    let last: Option<LastEvent> = if !has_events {
        None
    } else {
        tx.fetch_optional(
            &event::Entity::find()
                .select_only()
                .columns([
                    event::Column::Id,
                    event::Column::Seq,
                    event::Column::EventType,
                    event::Column::State,
                ])
                .filter(event::Column::JobId.eq(job.id.clone()))
                .order_by_desc(event::Column::Seq)
                .limit(1)
                .into_query(),
        )
        .await?
    };

    if let Some(last) = &last
        && event_type == EventType::JobProgress
        && last.event_type == EventType::JobProgress
        && last.state == EventState::Waiting
    {
        tx.execute(
            &event::Entity::update_many()
                .col_expr(event::Column::Payload, Expr::value(payload))
                .col_expr(event::Column::UpdatedAt, Expr::value(now))
                .filter(event::Column::Id.eq(last.id.clone()))
                .into_query(),
        )
        .await?;
        return Ok(None);
    }

    let behind_another = last.as_ref().is_some_and(|e| !e.state.is_finished());
    let event_id = EventId::generate();
    let state = if behind_another {
        EventState::Waiting
    } else {
        EventState::Pending
    };
    let claim = claim.filter(|_| state == EventState::Pending);
    let lease_expires_at = claim.map(|claim| now + claim.lease.as_millis() as i64);
    let row = event::Model {
        id: event_id.clone(),
        job_id: job.id.clone(),
        client_id: job.client_id.clone(),
        seq: last.map_or(1, |e| e.seq + 1),
        event_type,
        url: url.clone(),
        payload,
        state,
        attempts: 0,
        next_attempt_at: None,
        last_status_code: None,
        last_error: None,
        lease_owner: claim.map(|claim| claim.worker.clone()),
        lease_expires_at,
        created_at: now,
        finished_at: None,
        updated_at: now,
        request_id: job.request_id.clone(),
        trace_parent: job.trace_parent.clone(),
        trace_state: job.trace_state.clone(),
    };
    tx.execute(&event::Entity::insert(event::ActiveModel::from(row.clone())).into_query())
        .await?;
    let mut claimed = None;
    if state == EventState::Pending {
        let task = DeliverTask::new(event_id, DeliveryTrigger::Scheduled, job.client_id.clone());
        let task = tx.push(Queue::Deliver, &task, lease_expires_at)?;
        if claim.is_some() {
            claimed = Some(ClaimedDelivery { event: row, task });
        }
    }
    if matches!(
        job.callback_state,
        CallbackState::None | CallbackState::Delivered
    ) {
        mark_pending(tx, &job.id).await?;
    }
    Ok(claimed)
}

/// Who takes a new event for delivery at once, and for how long.
#[derive(Debug, Clone)]
pub struct DeliveryLease {
    pub worker: String,
    pub lease: Duration,
}

/// An event leased to the worker that wrote it, with the queue task that
/// delivers it should that worker die first.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub event: event::Model,
    pub task: TaskRef,
}

/// A new event makes a quiet callback summary `pending`; a failing or failed
/// one keeps saying so until a delivery succeeds.
async fn mark_pending(tx: &mut WriteTx, job_id: &JobId) -> Result<(), StoreError> {
    tx.execute(
        &job::Entity::update_many()
            .col_expr(
                job::Column::CallbackState,
                Expr::value(CallbackState::Pending),
            )
            .filter(job::Column::Id.eq(job_id.clone()))
            .filter(
                job::Column::CallbackState.is_in([CallbackState::None, CallbackState::Delivered]),
            )
            .into_query(),
    )
    .await?;
    Ok(())
}
