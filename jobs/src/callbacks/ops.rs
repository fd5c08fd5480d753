//! The writes of delivery: claiming an event for an attempt, putting it off,
//! recording an attempt (and promoting the job's next event when this one
//! is finished), and queueing a manual replay.

use std::time::Duration;

use jobcall_entity::{
    CallbackState, ClientId, DeliveryTrigger, EventId, EventState, JobId, delivery_attempt, event,
    job,
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{
    outcome::{Next, SendOutcome},
    sender::Sent,
};
use crate::{
    claim::{Claim, clear_lease, come_back_at, held_by, take_lease, unleased},
    queue::{DeliverTask, Queue},
    store::{StoreError, TaskRef, WriteOp, WriteTx},
};

#[derive(Debug, Clone)]
pub struct ClaimDelivery {
    pub event_id: EventId,
    pub trigger: DeliveryTrigger,
    /// Whose event it is, when the task that asked knew.
    pub client_id: Option<ClientId>,
    pub worker: String,
    pub lease: Duration,
    /// The queue task that asked; retired unless the event is claimed (or
    /// due in a moment).
    pub task: Option<TaskRef>,
}

/// How a claim of an event ended: [`Claim::Claimed`] with the event to send,
/// or [`Claim::Ended`] with nothing to send.
pub type DeliveryClaim = Claim<event::Model>;

#[derive(Debug, FromQueryResult)]
struct EventTiming {
    state: EventState,
    next_attempt_at: Option<i64>,
    lease_expires_at: Option<i64>,
}

impl WriteOp for ClaimDelivery {
    type Output = DeliveryClaim;

    async fn apply(self, tx: &mut WriteTx) -> Result<DeliveryClaim, StoreError> {
        let now = tx.now_ms();
        let mut claimable = Condition::all()
            .add(event::Column::Id.eq(self.event_id.clone()))
            .add(unleased::<event::Entity>(now));
        if self.trigger == DeliveryTrigger::Scheduled {
            claimable = claimable
                .add(event::Column::State.eq(EventState::Pending))
                .add(
                    Condition::any()
                        .add(event::Column::NextAttemptAt.is_null())
                        .add(event::Column::NextAttemptAt.lte(now)),
                );
        }
        let until = now + self.lease.as_millis() as i64;
        let mut claim = take_lease(event::Entity::update_many(), &self.worker, until)
            .filter(claimable)
            .into_query();
        claim.returning_all();
        if let Some(event) = tx.fetch_optional::<event::Model, _>(&claim).await? {
            return Ok(DeliveryClaim::Claimed(event));
        }

        let timing: Option<EventTiming> = tx
            .fetch_optional(
                &event::Entity::find_by_id(self.event_id.clone())
                    .select_only()
                    .columns([
                        event::Column::State,
                        event::Column::NextAttemptAt,
                        event::Column::LeaseExpiresAt,
                    ])
                    .into_query(),
            )
            .await?;
        let asked = self.task.as_ref();
        let Some(timing) = timing else {
            tx.retire(asked);
            return Ok(Claim::Ended(()));
        };
        let leased_until = timing.lease_expires_at.filter(|until| *until >= now);
        let later = match (self.trigger, leased_until) {
            // Another attempt holds the event. If its worker lives, this task
            // finds nothing to do later; if the worker died, this task is
            // what delivers the event once the lease lapses.
            (_, Some(until)) => until + 1,
            (DeliveryTrigger::Scheduled, None) if timing.state == EventState::Pending => {
                match timing.next_attempt_at {
                    Some(at) if at > now => at,
                    _ => {
                        tx.retire(asked);
                        return Ok(Claim::Ended(()));
                    }
                }
            }
            (DeliveryTrigger::Scheduled | DeliveryTrigger::Manual, None) => {
                tx.retire(asked);
                return Ok(Claim::Ended(()));
            }
        };
        let task = DeliverTask {
            event_id: self.event_id,
            trigger: self.trigger,
            client_id: self.client_id,
        };
        come_back_at(tx, Queue::Deliver, &task, asked, later)
    }
}

/// Gives a claimed event back, to be tried at `at` (its receiver is busy,
/// or its client holds its share of the delivery slots).
#[derive(Debug, Clone)]
pub struct DeferDelivery {
    pub event_id: EventId,
    pub trigger: DeliveryTrigger,
    pub client_id: ClientId,
    pub worker: String,
    pub at: i64,
    pub task: Option<TaskRef>,
}

impl WriteOp for DeferDelivery {
    type Output = ();

    async fn apply(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        let now = tx.now_ms();
        let released = tx
            .execute(
                &clear_lease(event::Entity::update_many(), now)
                    .filter(event::Column::Id.eq(self.event_id.clone()))
                    .filter(held_by::<event::Entity>(&self.worker))
                    .into_query(),
            )
            .await?;
        if released > 0 {
            tx.retire(self.task.as_ref());
            let task = DeliverTask::new(self.event_id, self.trigger, self.client_id);
            tx.push(Queue::Deliver, &task, Some(self.at))?;
        } else {
            tx.release(self.task.as_ref());
        }
        Ok(())
    }
}

/// One finished attempt, and what it decided.
#[derive(Debug, Clone)]
pub struct RecordAttempt {
    /// The event as claimed (its `attempts` count this one not yet).
    pub event: event::Model,
    pub trigger: DeliveryTrigger,
    pub worker: String,
    pub sent: Sent,
    pub next: Next,
    /// The queue task the attempt ran for, retired with its record.
    pub task: Option<TaskRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The event's state was updated as decided.
    Applied,
    /// The claim had lapsed; the attempt is on record, the state untouched.
    LeaseLost,
}

impl WriteOp for RecordAttempt {
    type Output = Recorded;

    async fn apply(self, tx: &mut WriteTx) -> Result<Recorded, StoreError> {
        let now = tx.now_ms();
        let event = &self.event;
        let outcome: &SendOutcome = &self.sent.outcome;
        let status_code = outcome.status_code().map(i32::from);
        let error = outcome.error_message();
        // The job row first. Whatever adds an event to this job has locked
        // the row already (it changed the job's state), so the two take
        // turns: either the new event sees this one finished and starts its
        // own delivery, or this one sees the new event waiting and promotes
        // it. Checking for a waiting event before taking the lock would miss
        // one committed in between, and leave it waiting forever.
        tx.lock_job_row(&event.job_id).await?;
        let attempt = event.attempts + 1;
        let was_pending = event.state == EventState::Pending;
        let scheduled = self.trigger == DeliveryTrigger::Scheduled;
        let last_error = error.clone().or_else(|| match &self.next {
            Next::GiveUp(reason) => Some((*reason).to_owned()),
            _ => None,
        });

        let update = event::Entity::update_many()
            .col_expr(
                event::Column::Attempts,
                Expr::col(event::Column::Attempts).add(1),
            )
            .col_expr(event::Column::LastStatusCode, Expr::value(status_code))
            .col_expr(event::Column::LastError, Expr::value(last_error));
        let mut update = clear_lease(update, now);
        // What the event is after this attempt: still the head of its job's
        // line, or finished in this state.
        let mut after = None;
        match &self.next {
            Next::Delivered => {
                update = update
                    .col_expr(event::Column::State, Expr::value(EventState::Delivered))
                    .col_expr(
                        event::Column::NextAttemptAt,
                        Expr::value(Option::<i64>::None),
                    )
                    .col_expr(event::Column::FinishedAt, Expr::value(now));
                after = Some(AfterAttempt::Finished(EventState::Delivered));
            }
            // A manual attempt that fails leaves the event's schedule (or its
            // failed state) as it was.
            Next::RetryAt(at) if scheduled => {
                update = update.col_expr(event::Column::NextAttemptAt, Expr::value(*at));
                after = Some(AfterAttempt::RetryAt(*at));
            }
            Next::GiveUp(_) if scheduled => {
                update = update
                    .col_expr(event::Column::State, Expr::value(EventState::Failed))
                    .col_expr(
                        event::Column::NextAttemptAt,
                        Expr::value(Option::<i64>::None),
                    )
                    .col_expr(event::Column::FinishedAt, Expr::value(now));
                after = Some(AfterAttempt::Finished(EventState::Failed));
            }
            Next::RetryAt(_) | Next::GiveUp(_) => {}
        }
        let applied = tx
            .execute(
                &update
                    .filter(event::Column::Id.eq(event.id.clone()))
                    .filter(held_by::<event::Entity>(&self.worker))
                    .into_query(),
            )
            .await?
            > 0;

        tx.insert_attempt_at_commit(delivery_attempt::ActiveModel {
            id: NotSet,
            event_id: Set(event.id.clone()),
            job_id: Set(event.job_id.clone()),
            client_id: Set(event.client_id.clone()),
            event_type: Set(event.event_type),
            attempt: Set(attempt),
            trigger: Set(self.trigger),
            url: Set(event.url.clone()),
            status_code: Set(status_code),
            error_class: Set(outcome.error_class().map(str::to_owned)),
            error: Set(error),
            duration_ms: Set(self.sent.duration_ms),
            response_body: Set(self.sent.response_body.clone()),
            created_at: Set(now),
        });
        let counted = job::Entity::update_many()
            .col_expr(
                job::Column::CallbackAttempts,
                Expr::col(job::Column::CallbackAttempts).add(1),
            )
            .col_expr(
                job::Column::CallbackLastStatusCode,
                Expr::value(status_code),
            )
            .filter(job::Column::Id.eq(event.job_id.clone()));
        if !applied {
            tx.execute(&counted.into_query()).await?;
            tx.release(self.task.as_ref());
            return Ok(Recorded::LeaseLost);
        }
        tx.retire(self.task.as_ref());

        if let Some(AfterAttempt::RetryAt(at)) = after {
            let task = DeliverTask::new(
                event.id.clone(),
                DeliveryTrigger::Scheduled,
                event.client_id.clone(),
            );
            tx.push(Queue::Deliver, &task, Some(at))?;
        }
        let promoted = match after {
            Some(AfterAttempt::Finished(_)) if was_pending => {
                promote_next(tx, &event.job_id, now).await?
            }
            _ => false,
        };
        let summary = match after {
            // A scheduled attempt is of the head of the line (only the head
            // is pending), so what follows is known without reading: the
            // head stays, or the promoted event is the new head (never
            // attempted: a waiting event cannot be replayed), or, with
            // nothing behind it, this event is the newest and speaks.
            Some(AfterAttempt::RetryAt(at)) => (CallbackState::Failing, Some(at)),
            Some(AfterAttempt::Finished(_)) if was_pending && promoted => {
                (CallbackState::Pending, None)
            }
            Some(AfterAttempt::Finished(EventState::Failed)) if was_pending => {
                (CallbackState::Failed, None)
            }
            Some(AfterAttempt::Finished(_)) if was_pending => (CallbackState::Delivered, None),
            // A manual attempt can be of any event: read the line.
            _ => summary_of(tx, &event.job_id).await?,
        };
        let (state, next_attempt_at) = summary;
        tx.execute(
            &counted
                .col_expr(job::Column::CallbackState, Expr::value(state))
                .col_expr(
                    job::Column::CallbackNextAttemptAt,
                    Expr::value(next_attempt_at),
                )
                .into_query(),
        )
        .await?;
        Ok(Recorded::Applied)
    }
}

#[derive(Debug, Clone, Copy)]
enum AfterAttempt {
    RetryAt(i64),
    Finished(EventState),
}

/// The job's oldest waiting event becomes the head of its line; true if
/// there was one.
async fn promote_next(tx: &mut WriteTx, job_id: &JobId, now: i64) -> Result<bool, StoreError> {
    let oldest_waiting = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(event::Column::JobId.eq(job_id.clone()))
        .filter(event::Column::State.eq(EventState::Waiting))
        .order_by_asc(event::Column::Seq)
        .limit(1)
        .into_query();
    let mut promote = event::Entity::update_many()
        .col_expr(event::Column::State, Expr::value(EventState::Pending))
        .col_expr(event::Column::UpdatedAt, Expr::value(now))
        .filter(event::Column::Id.in_subquery(oldest_waiting))
        .into_query();
    promote.returning(Query::returning().columns([event::Column::Id, event::Column::ClientId]));
    let Some(promoted) = tx.fetch_optional::<Promoted, _>(&promote).await? else {
        return Ok(false);
    };
    let task = DeliverTask::new(promoted.id, DeliveryTrigger::Scheduled, promoted.client_id);
    tx.push(Queue::Deliver, &task, None)?;
    Ok(true)
}

#[derive(Debug, FromQueryResult)]
struct Promoted {
    id: EventId,
    client_id: ClientId,
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct EventGlance {
    pub state: EventState,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
}

/// The callback summary of a job, from its events: while an event is
/// unfinished the head of the line speaks (`pending` before its first
/// attempt, `failing` after a failed one); otherwise the newest event does.
pub(crate) fn summarize(
    head: Option<&EventGlance>,
    newest: Option<&EventGlance>,
) -> (CallbackState, Option<i64>) {
    match (head, newest) {
        (Some(head), _) if head.attempts == 0 => (CallbackState::Pending, head.next_attempt_at),
        (Some(head), _) => (CallbackState::Failing, head.next_attempt_at),
        (None, Some(newest)) if newest.state == EventState::Failed => (CallbackState::Failed, None),
        (None, Some(_)) => (CallbackState::Delivered, None),
        (None, None) => (CallbackState::None, None),
    }
}

/// The callback summary of a job, read from its events.
async fn summary_of(
    tx: &mut WriteTx,
    job_id: &JobId,
) -> Result<(CallbackState, Option<i64>), StoreError> {
    let glance = || {
        event::Entity::find()
            .select_only()
            .columns([
                event::Column::State,
                event::Column::Attempts,
                event::Column::NextAttemptAt,
            ])
            .filter(event::Column::JobId.eq(job_id.clone()))
            .limit(1)
    };
    let head: Option<EventGlance> = tx
        .fetch_optional(
            &glance()
                .filter(event::Column::State.is_in([EventState::Pending, EventState::Waiting]))
                .order_by_asc(event::Column::Seq)
                .into_query(),
        )
        .await?;
    let newest: Option<EventGlance> = tx
        .fetch_optional(&glance().order_by_desc(event::Column::Seq).into_query())
        .await?;
    Ok(summarize(head.as_ref(), newest.as_ref()))
}

/// Queues a manual attempt of the job's newest event.
#[derive(Debug, Clone)]
pub struct ReplayLatest {
    pub client_id: ClientId,
    pub job_id: JobId,
}

#[derive(Debug, Clone)]
pub enum Replay {
    Queued(event::Model),
    /// The job has sent no event (no callback URL, or nothing happened yet).
    NoEvents,
    /// The newest event waits behind an earlier one; replaying it would
    /// break the order.
    Waiting(event::Model),
    NoSuchJob,
}

impl WriteOp for ReplayLatest {
    type Output = Replay;

    async fn apply(self, tx: &mut WriteTx) -> Result<Replay, StoreError> {
        let job: Option<(jobcall_entity::JobId,)> = tx
            .fetch_optional::<JobIdOnly, _>(
                &job::Entity::find_by_id(self.job_id.clone())
                    .select_only()
                    .column(job::Column::Id)
                    .filter(job::Column::ClientId.eq(self.client_id))
                    .into_query(),
            )
            .await?
            .map(|row| (row.id,));
        if job.is_none() {
            return Ok(Replay::NoSuchJob);
        }
        let newest: Option<event::Model> = tx
            .fetch_optional(
                &event::Entity::find()
                    .filter(event::Column::JobId.eq(self.job_id))
                    .order_by_desc(event::Column::Seq)
                    .limit(1)
                    .into_query(),
            )
            .await?;
        Ok(match newest {
            None => Replay::NoEvents,
            Some(event) if event.state == EventState::Waiting => Replay::Waiting(event),
            Some(event) => {
                let task = DeliverTask::new(
                    event.id.clone(),
                    DeliveryTrigger::Manual,
                    event.client_id.clone(),
                );
                tx.push(Queue::Deliver, &task, None)?;
                Replay::Queued(event)
            }
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct JobIdOnly {
    id: jobcall_entity::JobId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glance(state: EventState, attempts: i32, next: Option<i64>) -> EventGlance {
        EventGlance {
            state,
            attempts,
            next_attempt_at: next,
        }
    }

    #[test]
    fn the_summary_follows_the_head_then_the_newest_event() {
        assert_eq!(summarize(None, None), (CallbackState::None, None));
        let fresh = glance(EventState::Pending, 0, None);
        assert_eq!(
            summarize(Some(&fresh), Some(&fresh)),
            (CallbackState::Pending, None)
        );
        let retrying = glance(EventState::Pending, 2, Some(42));
        assert_eq!(
            summarize(Some(&retrying), Some(&fresh)),
            (CallbackState::Failing, Some(42))
        );
        let delivered = glance(EventState::Delivered, 1, None);
        assert_eq!(
            summarize(None, Some(&delivered)),
            (CallbackState::Delivered, None)
        );
        let failed = glance(EventState::Failed, 5, None);
        assert_eq!(
            summarize(None, Some(&failed)),
            (CallbackState::Failed, None)
        );
    }
}
