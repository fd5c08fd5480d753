//! Writing events. Called inside the transaction that changes the job, so
//! the change and the promise to report it commit together.

use jobcall_entity::{CallbackState, EventId, EventState, EventType, JobId, event, job};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, sea_query::Expr,
};

use super::Envelope;
use crate::{
    job::{JobView, subscribed_events},
    store::{DeliverTask, Queue, StoreError, WriteTx},
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
pub(crate) async fn emit(
    tx: &mut WriteTx,
    job: &job::Model,
    event_type: EventType,
    now: i64,
) -> Result<(), StoreError> {
    let Some(url) = &job.callback_url else {
        return Ok(());
    };
    if !subscribed_events(job).contains(&event_type) {
        return Ok(());
    }
    let payload = Envelope::job(event_type, now, JobView::from(job)).to_body();
    let last: Option<LastEvent> = tx
        .fetch_optional(
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
        .await?;

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
        return Ok(());
    }

    let behind_another = last.as_ref().is_some_and(|e| !e.state.is_finished());
    let event_id = EventId::generate();
    let state = if behind_another {
        EventState::Waiting
    } else {
        EventState::Pending
    };
    let row = event::ActiveModel {
        id: Set(event_id.clone()),
        job_id: Set(job.id.clone()),
        client_id: Set(job.client_id.clone()),
        seq: Set(last.map_or(1, |e| e.seq + 1)),
        event_type: Set(event_type),
        url: Set(url.clone()),
        payload: Set(payload),
        state: Set(state),
        attempts: Set(0),
        next_attempt_at: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
        updated_at: Set(now),
        request_id: Set(job.request_id.clone()),
    };
    tx.execute(&event::Entity::insert(row).into_query()).await?;
    if state == EventState::Pending {
        tx.push(
            Queue::Deliver,
            &DeliverTask {
                event_id,
                trigger: DeliveryTrigger::Scheduled,
            },
            None,
        )?;
    }
    mark_pending(tx, &job.id).await
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
