//! The apalis handler of the delivery queue: one attempt of one event, made
//! from the queue or straight after the job's worker wrote the event.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::sync::OwnedSemaphorePermit;

use apalis::prelude::{BoxDynError, Data, TaskId};
use jobcall_entity::{DeliveryTrigger, event};
use tracing::{Instrument, Span, field, info, info_span, warn};
use url::Host;

use super::runtime::{Halt, Settled, WorkerRuntime, claim_settled, run_handler, write_durably};
use crate::{
    backoff::jitter_sample,
    callbacks::{
        ClaimDelivery, DeferDelivery, RecordAttempt, Recorded,
        outbox::ClaimedDelivery,
        outcome::{Next, SendOutcome, next_step},
        sender::{Sent, Webhook, send},
    },
    metrics::OutcomeLabels,
    outbound::CheckedUrl,
    queue::{DeliverTask, Queue},
    store::TaskRef,
    trace::TraceContext,
};

/// How long an attempt waits for a slot at a busy receiver before giving
/// the event back to the queue.
const RECEIVER_WAIT: Duration = Duration::from_secs(1);

pub(super) async fn handle(
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
        request_id = field::Empty,
        trace_id = field::Empty
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
pub(super) fn delivery_lease(runtime: &WorkerRuntime) -> Duration {
    let settings = runtime.settings();
    settings
        .worker
        .takeover
        .max(settings.callbacks.attempt_timeout + Duration::from_secs(1))
}

/// Delivers an event the worker leased to itself when it wrote it (see
/// [`crate::callbacks::outbox::DeliveryLease`]), in a task of its own,
/// holding `slot`.
pub(super) fn deliver_now(
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
        request_id = field::Empty,
        trace_id = field::Empty
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
) -> Result<(), Halt> {
    let lease = delivery_lease(runtime);
    let claim = || ClaimDelivery {
        event_id: task.event_id.clone(),
        trigger: task.trigger,
        client_id: task.client_id.clone(),
        worker: runtime.instance.clone(),
        lease,
        task: Some(handled.clone()),
    };
    match claim_settled(runtime, claim).await? {
        Settled::Claimed(event) => attempt(runtime, event, task.trigger, handled).await,
        Settled::Requeued(_) | Settled::Ended(()) => Ok(()),
    }
}

async fn attempt(
    runtime: &Arc<WorkerRuntime>,
    event: event::Model,
    trigger: DeliveryTrigger,
    handled: TaskRef,
) -> Result<(), Halt> {
    let span = Span::current();
    span.record("job_id", event.job_id.as_str());
    span.record("event_type", event.event_type.as_str());
    if let Some(request_id) = &event.request_id {
        span.record("request_id", request_id.as_str());
    }
    // The attempt's own span continues the job's trace, and the callback's
    // `traceparent` names it: the receiver's trace continues from there.
    let attempt_span =
        info_span!("callback.attempt", event_id = %event.id, attempt = event.attempts + 1);
    let stored = TraceContext::continue_stored(
        event.trace_parent.as_deref(),
        event.trace_state.as_deref(),
        &span,
        &attempt_span,
    );
    let trace = TraceContext::of_span(&attempt_span, stored.as_ref().and_then(|s| s.tracestate()))
        .unwrap_or_else(|| stored.map_or_else(TraceContext::new_root, |s| s.child()));
    attempt_in_span(runtime, event, trigger, handled, trace)
        .instrument(attempt_span)
        .await
}

async fn attempt_in_span(
    runtime: &Arc<WorkerRuntime>,
    event: event::Model,
    trigger: DeliveryTrigger,
    handled: TaskRef,
    trace: TraceContext,
) -> Result<(), Halt> {
    let services = &runtime.services;
    let settings = &services.settings.callbacks;

    let sent = match services.outbound.guard().policy().parse_url(&event.url) {
        Err(refused) => Sent {
            outcome: SendOutcome::Refused {
                message: format!("URL {refused}"),
            },
            response_body: None,
            duration_ms: 0,
        },
        Ok(url) => {
            let put_off = |at: i64| DeferDelivery {
                event_id: event.id.clone(),
                trigger,
                client_id: event.client_id.clone(),
                worker: runtime.instance.clone(),
                at,
                task: Some(handled.clone()),
            };
            let Some(_share) = runtime.delivery_shares.try_acquire(&event.client_id) else {
                let delay = runtime.delivery_shares.put_back(&event.client_id);
                write_durably(runtime, put_off(services.clock.after(delay))).await?;
                info!(
                    delay_ms = delay.as_millis() as u64,
                    "the client holds its share of the deliveries; put off"
                );
                return Ok(());
            };
            let receiver = receiver_of(runtime, &url).await;
            let Some(_slot) = runtime.receivers.acquire(&receiver, RECEIVER_WAIT).await else {
                let at = services.clock.now_ms() + 1000 + (jitter_sample().abs() * 1000.0) as i64;
                write_durably(runtime, put_off(at)).await?;
                info!(receiver = %receiver, "receiver busy; delivery put off");
                return Ok(());
            };
            let secrets = services.secrets.get(&services.db, &event.client_id).await?;
            let webhook = Webhook {
                url: &url,
                id: event.id.as_str(),
                body: &event.payload,
                signers: &secrets,
                trace: Some(&trace),
                timeout: settings.attempt_timeout,
                keep_bytes: settings.response_body_bytes,
            };
            send(&services.outbound, &services.clock, webhook).await
        }
    };

    let attempt_no = event.attempts as u32 + 1;
    let now = services.clock.now_ms();
    let next = next_step(
        settings,
        &sent.outcome,
        attempt_no,
        event.created_at,
        now,
        jitter_sample(),
    );
    record_metrics(runtime, &event, &sent.outcome, now);
    let status = sent.outcome.status_code();
    let error = sent.outcome.error_message().unwrap_or_default();
    match &next {
        Next::Delivered => info!(
            attempt = attempt_no,
            status,
            duration_ms = sent.duration_ms,
            "callback delivered"
        ),
        Next::RetryAt(at) => warn!(
            attempt = attempt_no,
            status,
            error,
            retry_in_ms = at - now,
            "callback attempt failed"
        ),
        Next::GiveUp(reason) => warn!(
            attempt = attempt_no,
            status, error, reason, "callback given up"
        ),
    }
    let record = RecordAttempt {
        event,
        trigger,
        worker: runtime.instance.clone(),
        sent,
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

/// What limits a receiver: the address its host resolves to (the first,
/// as the connection will use it) and the port, however many names point
/// there. A name that does not resolve keys on itself; sending will fail
/// on it anyway.
async fn receiver_of(runtime: &WorkerRuntime, url: &CheckedUrl) -> String {
    let port = url.as_url().port_or_known_default().unwrap_or_default();
    match url.as_url().host() {
        Some(Host::Domain(name)) => match runtime.services.outbound.guard().resolve(name).await {
            Ok(addresses) => match addresses.first() {
                Some(address) => SocketAddr::new(address.ip(), port).to_string(),
                None => url.authority(),
            },
            Err(_) => url.authority(),
        },
        _ => url.authority(),
    }
}

fn record_metrics(runtime: &WorkerRuntime, event: &event::Model, outcome: &SendOutcome, now: i64) {
    let metrics = &runtime.services.metrics;
    let label = outcome.error_class().unwrap_or("delivered");
    metrics
        .callback_attempts
        .get_or_create(&OutcomeLabels {
            outcome: label.to_owned(),
        })
        .inc();
    if outcome.delivered() {
        let latency_ms = (now - event.created_at).max(0);
        metrics
            .delivery_latency_seconds
            .observe(latency_ms as f64 / 1000.0);
    }
}
