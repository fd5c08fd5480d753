//! The apalis handler of the delivery queue: one attempt of one event.

use std::{sync::Arc, time::Duration};

use tokio::sync::OwnedSemaphorePermit;

use apalis::prelude::{BoxDynError, Data, TaskId};
use jobcall_entity::{DeliveryTrigger, event};
use tracing::{Instrument, Span, field, info, info_span, warn};

use super::{
    ops::{ClaimDelivery, DeferDelivery, DeliveryClaim, RecordAttempt, Recorded},
    outbox::ClaimedDelivery,
    outcome::{Next, Response, next_step},
    sender::{Webhook, send},
};
use crate::{
    backoff::jitter_sample,
    metrics::OutcomeLabels,
    outbound::OutboundErrorClass,
    store::{DeliverTask, Queue, StoreError, TaskRef},
    time::now_ms,
    worker::{WorkerRuntime, run_handler, write_durably},
};

/// How long an attempt waits for a slot at a busy receiver before giving
/// the event back to the queue.
const RECEIVER_WAIT: Duration = Duration::from_secs(1);

pub(crate) async fn handle(
    task: DeliverTask,
    id: TaskId,
    runtime: Data<Arc<WorkerRuntime>>,
) -> Result<(), BoxDynError> {
    let span = info_span!(
        "delivery",
        event_id = %task.event_id,
        trigger = ?task.trigger,
        job_id = field::Empty,
        event_type = field::Empty,
        request_id = field::Empty
    );
    let runtime = Arc::clone(&runtime);
    let handled = TaskRef(id.to_string());
    let work = {
        let (runtime, task, handled) = (runtime.clone(), task.clone(), handled.clone());
        async move { deliver(&runtime, task, handled).await }.instrument(span)
    };
    run_handler(&runtime, Queue::Deliver, task, handled, work).await
}

/// How long an attempt holds its event: long enough for one whole attempt,
/// so two never overlap; otherwise the takeover time, like a job's.
pub(crate) fn delivery_lease(runtime: &WorkerRuntime) -> Duration {
    runtime
        .settings
        .worker
        .takeover
        .max(runtime.settings.callbacks.attempt_timeout + Duration::from_secs(1))
}

/// Delivers an event the worker leased to itself when it wrote it (see
/// [`super::outbox::DeliveryLease`]), in a task of its own, holding `slot`.
pub(crate) fn deliver_now(
    runtime: &Arc<WorkerRuntime>,
    claimed: ClaimedDelivery,
    slot: OwnedSemaphorePermit,
) {
    let span = info_span!(
        "delivery",
        event_id = %claimed.event.id,
        trigger = ?DeliveryTrigger::Scheduled,
        job_id = field::Empty,
        event_type = field::Empty,
        request_id = field::Empty
    );
    let runtime_for_task = runtime.clone();
    runtime.attempts.spawn(
        async move {
            let runtime = runtime_for_task;
            let (event, task) = (claimed.event, claimed.task);
            if let Err(err) = attempt(&runtime, event, DeliveryTrigger::Scheduled, task).await {
                // The event's queue task delivers it once the lease lapses.
                warn!(error = %err, "delivery could not be recorded; the queue retries it");
            }
            drop(slot);
        }
        .instrument(span),
    );
}

async fn deliver(
    runtime: &Arc<WorkerRuntime>,
    task: DeliverTask,
    handled: TaskRef,
) -> Result<(), StoreError> {
    let lease = delivery_lease(runtime);
    loop {
        let claim = ClaimDelivery {
            event_id: task.event_id.clone(),
            trigger: task.trigger,
            worker: runtime.instance.clone(),
            lease,
            task: Some(handled.clone()),
        };
        match write_durably(runtime, claim).await? {
            DeliveryClaim::Claimed(event) => {
                return attempt(runtime, event, task.trigger, handled).await;
            }
            DeliveryClaim::WaitUntil(at) => {
                let wait = Duration::from_millis((at - now_ms()).max(0) as u64);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = runtime.hand_back_requested() => return Err(StoreError::WriterStopped),
                }
            }
            DeliveryClaim::Requeued(_) | DeliveryClaim::Ended => return Ok(()),
        }
    }
}

async fn attempt(
    runtime: &Arc<WorkerRuntime>,
    event: event::Model,
    trigger: DeliveryTrigger,
    handled: TaskRef,
) -> Result<(), StoreError> {
    let span = Span::current();
    span.record("job_id", event.job_id.as_str());
    span.record("event_type", event.event_type.as_str());
    if let Some(request_id) = &event.request_id {
        span.record("request_id", request_id.as_str());
    }
    let settings = &runtime.settings.callbacks;

    let (sent, response) = match runtime.outbound.guard().policy().parse_url(&event.url) {
        Err(refused) => {
            let error = crate::outbound::OutboundError {
                class: OutboundErrorClass::Blocked,
                message: format!("URL {refused}"),
            };
            let response = Response::Failed { class: error.class };
            (
                super::sender::Sent {
                    status: None,
                    retry_after: None,
                    response_body: None,
                    error: Some(error),
                    duration_ms: 0,
                },
                response,
            )
        }
        Ok(url) => {
            let Some(_slot) = runtime
                .receivers
                .acquire(&url.authority(), RECEIVER_WAIT)
                .await
            else {
                let defer = DeferDelivery {
                    event_id: event.id.clone(),
                    trigger,
                    worker: runtime.instance.clone(),
                    at: now_ms() + 1000 + (jitter_sample().abs() * 1000.0) as i64,
                    task: Some(handled),
                };
                write_durably(runtime, defer).await?;
                info!(receiver = %url.authority(), "receiver busy; delivery put off");
                return Ok(());
            };
            let secrets = runtime.secrets.get(&runtime.db, &event.client_id).await?;
            let sent = send(
                &runtime.outbound,
                Webhook {
                    url: &url,
                    id: event.id.as_str(),
                    body: &event.payload,
                    secrets: &secrets,
                    timeout: settings.attempt_timeout,
                    keep_bytes: settings.response_body_bytes,
                },
            )
            .await;
            let response = match (&sent.status, &sent.error) {
                (Some(code), _) => Response::Status {
                    code: *code,
                    retry_after: sent.retry_after,
                },
                (None, Some(error)) => Response::Failed { class: error.class },
                (None, None) => Response::Failed {
                    class: OutboundErrorClass::Other,
                },
            };
            (sent, response)
        }
    };

    let attempt_no = event.attempts as u32 + 1;
    let next = next_step(
        settings,
        &response,
        attempt_no,
        event.created_at,
        now_ms(),
        jitter_sample(),
    );
    let error_class = match (&sent.error, sent.status) {
        (Some(error), _) => Some(error.class.as_str()),
        (None, Some(code)) if !(200..300).contains(&code) => Some("http_status"),
        _ => None,
    };
    let error = match (&sent.error, sent.status) {
        (Some(error), _) => Some(error.message.clone()),
        (None, Some(code)) if !(200..300).contains(&code) => {
            Some(format!("the receiver answered {code}"))
        }
        _ => None,
    };
    let outcome = match &next {
        Next::Delivered => "delivered",
        _ => error_class.unwrap_or("other"),
    };
    runtime
        .metrics
        .callback_attempts
        .get_or_create(&OutcomeLabels {
            outcome: outcome.to_owned(),
        })
        .inc();
    if next == Next::Delivered {
        let latency_ms = (now_ms() - event.created_at).max(0);
        runtime
            .metrics
            .delivery_latency_seconds
            .observe(latency_ms as f64 / 1000.0);
    }
    match &next {
        Next::Delivered => info!(
            attempt = attempt_no,
            status = sent.status,
            duration_ms = sent.duration_ms,
            "callback delivered"
        ),
        Next::RetryAt(at) => warn!(
            attempt = attempt_no,
            status = sent.status,
            error = error.as_deref().unwrap_or_default(),
            retry_in_ms = at - now_ms(),
            "callback attempt failed"
        ),
        Next::GiveUp(reason) => warn!(
            attempt = attempt_no,
            status = sent.status,
            error = error.as_deref().unwrap_or_default(),
            reason,
            "callback given up"
        ),
    }
    let record = RecordAttempt {
        event,
        trigger,
        worker: runtime.instance.clone(),
        status_code: sent.status,
        error_class,
        error,
        duration_ms: sent.duration_ms,
        response_body: sent.response_body,
        next,
        task: Some(handled),
    };
    if write_durably(runtime, record).await? == Recorded::LeaseLost {
        warn!(
            "the delivery lease lapsed during the attempt; its outcome was recorded but not applied"
        );
    }
    Ok(())
}
