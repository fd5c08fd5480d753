//! Running one attempt of a job: claim it, run its kind under a timeout
//! while renewing the lease and recording progress, then write how it ended.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::{BoxDynError, Data, TaskId};
use jobcall_entity::{JobId, job};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, debug, field, info, info_span, warn};

use super::{
    deliver::{deliver_now, delivery_lease},
    runtime::{Halt, Settled, WorkerRuntime, claim_settled, put_back, run_handler, write_durably},
    shares::ClientSlot,
};
use crate::{
    backoff,
    callbacks::outbox::DeliveryLease,
    job::{
        AttemptOutcome, ClaimJob, FinishAttempt, Finished, JobEnd, LeaseState, RecordProgress,
        RenewLease,
    },
    kinds::{JobContext, JobError, Progress},
    metrics::KindLabels,
    queue::{ExecuteTask, Queue},
    store::{ReleaseTask, TaskRef},
    trace::TraceContext,
};

/// The apalis handler of the execute queue. Errors are database errors only;
/// see [`run_handler`].
pub(super) async fn handle(
    task: ExecuteTask,
    id: TaskId,
    runtime: Data<Arc<WorkerRuntime>>,
) -> Result<(), BoxDynError> {
    let span = info_span!("job", job_id = %task.job_id, kind = field::Empty, attempt = field::Empty, request_id = field::Empty, trace_id = field::Empty);
    let runtime = Arc::clone(&runtime);
    let handled = TaskRef(id.to_string());
    let work = {
        let (runtime, args, handled) = (runtime.clone(), task.clone(), handled.clone());
        async move {
            // A task queued before tasks named their client runs unshared.
            let share = match &args.client_id {
                None => None,
                Some(client) => match runtime.execute_shares.try_acquire(client) {
                    Some(share) => Some(share),
                    None => {
                        let delay = runtime.execute_shares.put_back(client);
                        debug!(
                            delay_ms = delay.as_millis() as u64,
                            "the client holds its share of the workers; put back"
                        );
                        return put_back(&runtime, Queue::Execute, args, handled, delay).await;
                    }
                },
            };
            let ran = execute(&runtime, args.job_id, handled).await;
            drop(share);
            ran
        }
        .instrument(span)
    };
    run_handler(&runtime, Queue::Execute, task, handled, work).await
}

/// Runs a job handed over by the API of this process (see
/// [`super::dispatch`]), holding `slot` and its client's `share` until the
/// attempt ends.
pub(super) fn spawn_handed_over(
    runtime: &Arc<WorkerRuntime>,
    on: &tokio::runtime::Handle,
    job_id: JobId,
    task: TaskRef,
    (slot, share): (OwnedSemaphorePermit, ClientSlot),
) {
    let span = info_span!("job", job_id = %job_id, kind = field::Empty, attempt = field::Empty, request_id = field::Empty, trace_id = field::Empty);
    let runtime_for_task = runtime.clone();
    runtime.attempts.spawn_on(
        async move {
            if let Err(err) = execute(&runtime_for_task, job_id, task).await {
                // The job's queue task runs it once it falls due.
                warn!(error = %err, "handed-over job failed to run; the queue runs it later");
            }
            drop((slot, share));
        }
        .instrument(span),
        on,
    );
}

async fn execute(runtime: &Arc<WorkerRuntime>, job_id: JobId, task: TaskRef) -> Result<(), Halt> {
    let claim = || ClaimJob {
        job_id: job_id.clone(),
        worker: runtime.instance.clone(),
        lease: runtime.settings().worker.takeover,
        task: Some(task.clone()),
    };
    // Shutting down while waiting: a later claim (after a restart) finds
    // the job still queued.
    match claim_settled(runtime, claim).await? {
        Settled::Claimed(job) => run_attempt(runtime, job, task).await,
        Settled::Requeued(at) => {
            debug!(at, "not runnable yet; queued for later");
            Ok(())
        }
        Settled::Ended(JobEnd::Terminated(job)) => {
            info!(status = job.status.as_str(), "ended at takeover");
            runtime
                .services
                .metrics
                .job_finished(&job.kind, job.status.as_str());
            Ok(())
        }
        Settled::Ended(JobEnd::AlreadyOver) => Ok(()),
    }
}

/// Why a running attempt stopped before its kind returned.
enum Stop {
    Canceled,
    /// The worker is shutting down and the grace period is over.
    HandBack,
    /// The lease is gone: another worker owns the job now.
    LeaseLost,
}

async fn run_attempt(
    runtime: &Arc<WorkerRuntime>,
    job: job::Model,
    task: TaskRef,
) -> Result<(), Halt> {
    let span = Span::current();
    span.record("kind", job.kind.as_str());
    span.record("attempt", job.attempts);
    if let Some(request_id) = &job.request_id {
        span.record("request_id", request_id.as_str());
    }
    // The attempt's own span continues the submission's trace (when spans
    // are exported, the job span above was started before the job was read).
    let attempt_span = info_span!("job.attempt", job_id = %job.id, attempt = job.attempts);
    TraceContext::continue_stored(
        job.trace_parent.as_deref(),
        job.trace_state.as_deref(),
        &span,
        &attempt_span,
    );
    attempt_in_span(runtime, job, task)
        .instrument(attempt_span)
        .await
}

async fn attempt_in_span(
    runtime: &Arc<WorkerRuntime>,
    job: job::Model,
    task: TaskRef,
) -> Result<(), Halt> {
    let started = Instant::now();
    let cancel = runtime.hand_back.child_token();
    let services = &runtime.services;
    let _registration = services.signals.register_running(&job.id, cancel.clone());
    let (ctx, progress) = JobContext::new(job.id.clone(), job.attempts as u32, cancel.clone());

    let outcome = match services.registry.get(&job.kind).cloned() {
        None => AttemptOutcome::Failed {
            error: JobError::permanent(
                "unknown_kind",
                format!("this server does not run `{}` jobs", job.kind),
            ),
            retry_at: None,
        },
        Some(kind) => {
            let timeout = Duration::from_millis(job.timeout_ms.max(0) as u64);
            tokio::select! {
                biased;
                stop = stop_reason(runtime, &job, &cancel) => match stop {
                    Stop::Canceled => AttemptOutcome::Canceled,
                    Stop::HandBack => AttemptOutcome::Released,
                    Stop::LeaseLost => {
                        warn!("lease lost; another worker owns the job now");
                        return write_durably(runtime, ReleaseTask(task)).await;
                    }
                },
                result = kind.run(job.input.clone(), ctx) => match result {
                    Ok(value) => AttemptOutcome::Succeeded(value),
                    // A kind that gave up because the attempt was told to
                    // stop ends as the stop does, not as a failure of its own.
                    Err(_) if runtime.hand_back.is_cancelled() => AttemptOutcome::Released,
                    Err(_) if cancel.is_cancelled() => AttemptOutcome::Canceled,
                    Err(error) => failed(runtime, &job, error),
                },
                () = services.clock.sleep(timeout) => failed(
                    runtime,
                    &job,
                    JobError::retryable("timeout", format!("the attempt ran longer than {} s", timeout.as_secs())),
                ),
                _ = record_progress(runtime, &job, progress) => unreachable!("progress recording never ends"),
            }
        }
    };

    let describe = describe(&outcome);
    // With a delivery slot free, the final event goes out from here at once,
    // without a round trip through the delivery queue.
    let delivery_slot = runtime.delivery_slots.clone().try_acquire_owned().ok();
    let finish = FinishAttempt {
        job_id: job.id.clone(),
        client_id: job.client_id.clone(),
        attempt: job.attempts,
        worker: runtime.instance.clone(),
        outcome,
        task: Some(task),
        deliver: delivery_slot.as_ref().map(|_| DeliveryLease {
            worker: runtime.instance.clone(),
            lease: delivery_lease(runtime),
        }),
    };
    let ran = started.elapsed();
    let duration_ms = ran.as_millis() as u64;
    services
        .metrics
        .job_run_seconds
        .get_or_create(&KindLabels {
            kind: job.kind.clone(),
        })
        .observe(ran.as_secs_f64());
    match write_durably(runtime, finish).await? {
        Finished::Terminal(done, claimed) => {
            services
                .metrics
                .job_finished(&done.kind, done.status.as_str());
            info!(status = done.status.as_str(), duration_ms, "{describe}");
            if let (Some(claimed), Some(slot)) = (claimed, delivery_slot) {
                deliver_now(runtime, *claimed, slot);
            }
        }
        Finished::Retrying(retry) => info!(
            duration_ms,
            next_attempt_at = retry.next_attempt_at,
            "{describe}; retry scheduled"
        ),
        Finished::Released => info!(duration_ms, "handed back to the queue"),
        Finished::LeaseLost => {
            warn!("lease lost before the outcome was written; another worker owns the job now")
        }
    }
    Ok(())
}

/// A failed attempt, with a retry when the error allows one and attempts remain.
fn failed(runtime: &WorkerRuntime, job: &job::Model, error: JobError) -> AttemptOutcome {
    let retry_at = (error.retryable && job.attempts < job.max_attempts).then(|| {
        let delay = backoff::delay(
            runtime.settings().worker.retry_backoff,
            job.attempts as u32,
            backoff::jitter_sample(),
        );
        runtime.services.clock.after(delay)
    });
    AttemptOutcome::Failed { error, retry_at }
}

fn describe(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Succeeded(_) => "attempt succeeded".into(),
        AttemptOutcome::Failed { error, .. } => {
            format!("attempt failed: {}: {}", error.code, error.message)
        }
        AttemptOutcome::Canceled => "attempt canceled".into(),
        AttemptOutcome::Released => "attempt released".into(),
    }
}

/// Resolves when the attempt must stop early; renews the lease meanwhile.
async fn stop_reason(
    runtime: &WorkerRuntime,
    job: &job::Model,
    cancel: &CancellationToken,
) -> Stop {
    tokio::select! {
        _ = cancel.cancelled() => {}
        () = keep_lease(runtime, job, cancel) => return Stop::LeaseLost,
    }
    if runtime.hand_back.is_cancelled() {
        Stop::HandBack
    } else {
        Stop::Canceled
    }
}

/// Renews the lease a few times per takeover period; returns once it is lost
/// (or can no longer be renewed before it runs out). A cancel requested from
/// another process arrives here, with the renewal.
async fn keep_lease(runtime: &WorkerRuntime, job: &job::Model, cancel: &CancellationToken) {
    let clock = &runtime.services.clock;
    let lease = runtime.settings().worker.takeover;
    let every = (lease / 4).max(Duration::from_millis(100));
    let mut held_until = job.lease_expires_at.unwrap_or_else(|| clock.now_ms());
    loop {
        clock.sleep(every).await;
        let until = clock.after(lease);
        let renew = RenewLease {
            job_id: job.id.clone(),
            attempt: job.attempts,
            worker: runtime.instance.clone(),
            until,
        };
        match runtime.services.writer.run(renew).await {
            Ok(LeaseState::Held { cancel_requested }) => {
                held_until = until;
                if cancel_requested {
                    cancel.cancel();
                }
            }
            Ok(LeaseState::Lost) => return,
            Err(err) => {
                warn!(error = %err, "could not renew the lease");
                // Stop before the lease lapses: past it, another worker may run the job.
                if clock.after(every) >= held_until {
                    return;
                }
            }
        }
    }
}

/// Stores progress reports, at most a few per second.
async fn record_progress(runtime: &WorkerRuntime, job: &job::Model, mut progress: Progress) {
    loop {
        if progress.changed().await.is_err() {
            return std::future::pending().await;
        }
        let Some(percent) = *progress.borrow_and_update() else {
            continue;
        };
        let record = RecordProgress {
            job_id: job.id.clone(),
            attempt: job.attempts,
            worker: runtime.instance.clone(),
            percent,
        };
        if let Err(err) = runtime.services.writer.run(record).await {
            warn!(error = %err, "could not record progress");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
