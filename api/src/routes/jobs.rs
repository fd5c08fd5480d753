//! `/v1/jobs`: submit, read (with long-polling), list, cancel, erase.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use jobcall_entity::{JobId, JobStatus, job};
use jobcall_jobs::job::{
    CancelJob, CancelOutcome, IdempotencyKey, JobFilter, JobView, Submitted, list_jobs,
};
use jobcall_jobs::retention::{EraseJob, Erased};
use serde::Serialize;
use tracing::info;

use super::{
    prefer::Wait,
    query, submission,
    wait::{self, MAX_WAIT_SECONDS},
};
use crate::{
    auth::{Caller, Scope},
    body::{Fields, read_object},
    error::ApiError,
    state::AppState,
};

/// How long a client should wait before polling again.
const POLL_AFTER_SECONDS: &str = "1";

pub async fn submit(
    request: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    state.take_rate(&caller.client_id)?;
    submission::refuse_when_backlogged(&state)?;
    let key = idempotency_key(&request)?;
    let prefer = Wait::of(&request);
    let mut fields = Fields::new(read_object(&request, payload, state.api.max_body_bytes).await?);
    let new = submission::read_new_job(&mut fields);
    fields.finish()?;
    let spec = submission::check(&state, new)
        .await
        .map_err(ApiError::Validation)?;
    let submitter = submission::Submitter::of(&request);
    let (submission, reserved) =
        submission::prepare(&state, &caller.client_id, spec, key, &submitter);
    let (job, replayed) = match state.services.writer.run(submission).await? {
        Submitted::Created(job, task) => {
            submission::created(&state, &job, task, reserved);
            (job, false)
        }
        Submitted::Replayed(job) => (job, true),
        Submitted::KeyReused => return Err(ApiError::IdempotencyConflict),
    };
    // `Prefer: wait=N`: wait while the client has a wait to spare; without
    // one the answer is the usual 202, at once.
    let Some(wait) = prefer else {
        return Ok(submitted(&job, replayed, None));
    };
    if job.status.is_terminal() {
        return Ok(submitted(&job, replayed, Some(wait)));
    }
    let Some(permit) = state.waits.begin(&caller.client_id) else {
        return Ok(submitted(&job, replayed, None));
    };
    let id = job.id.clone();
    drop(job);
    let job = wait::until_finished(&state, &caller.client_id, &id, wait.duration())
        .await?
        .ok_or_else(|| no_such_job(&id.to_string()))?;
    drop(permit);
    Ok(submitted(&job, replayed, Some(wait)))
}

fn idempotency_key(request: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII characters"))?;
    IdempotencyKey::parse(value)
        .map(Some)
        .map_err(|message| ApiError::field("Idempotency-Key", message))
}

/// The answer to a submission: `202` with the job, or, when the client
/// preferred to wait (`applied`) and the job finished, `200` with the
/// finished job. `Preference-Applied` is there when the server waited.
fn submitted(job: &job::Model, replayed: bool, applied: Option<Wait>) -> HttpResponse {
    let finished = applied.is_some() && job.status.is_terminal();
    let mut response = if finished {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    response.insert_header((header::LOCATION, format!("/v1/jobs/{}", job.id)));
    if !finished {
        response.insert_header((header::RETRY_AFTER, POLL_AFTER_SECONDS));
    }
    if let Some(wait) = applied {
        response.insert_header(wait.applied());
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(JobView::from(job))
}

fn job_response(job: &job::Model) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if !job.status.is_terminal() {
        response.insert_header((header::RETRY_AFTER, POLL_AFTER_SECONDS));
    }
    response.json(JobView::from(job))
}

fn job_id(raw: &str) -> Result<JobId, ApiError> {
    JobId::parse(raw).map_err(|_| no_such_job(raw))
}

fn no_such_job(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no job `{id}`"))
}

/// The job; with `?wait=N`, once it is terminal or N seconds have passed,
/// whichever comes first (see [`wait`]). A client holding its share of
/// long-polls already gets the job at once, as without `wait` (with
/// `Retry-After` while it runs): polling is what it falls back to anyway.
pub async fn get(
    request: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsRead)?;
    let wait = {
        let params = query::params(&request, &["wait"])?;
        Duration::from_secs(query::integer(&params, "wait", 0..=MAX_WAIT_SECONDS, 0)?)
    };
    let id = job_id(&path)?;
    let permit = (!wait.is_zero())
        .then(|| state.waits.begin(&caller.client_id))
        .flatten();
    let wait = if permit.is_some() {
        wait
    } else {
        Duration::ZERO
    };
    let job = wait::until_finished(&state, &caller.client_id, &id, wait)
        .await?
        .ok_or_else(|| no_such_job(&id.to_string()))?;
    drop(permit);
    Ok(job_response(&job))
}

#[derive(Serialize)]
struct Page {
    data: Vec<JobView>,
    next_cursor: Option<JobId>,
}

pub async fn list(
    request: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsRead)?;
    let params = query::params(&request, &["status", "kind", "limit", "cursor"])?;
    let status = match params.get("status") {
        None => None,
        Some(raw) => Some(JobStatus::parse(raw).ok_or_else(|| {
            ApiError::field(
                "status",
                format!(
                    "must be one of {}",
                    JobStatus::ALL.map(JobStatus::as_str).join(", ")
                ),
            )
        })?),
    };
    let after = match params.get("cursor") {
        None => None,
        Some(raw) => Some(
            JobId::parse(raw)
                .map_err(|_| ApiError::field("cursor", "is not a cursor from a previous page"))?,
        ),
    };
    let filter = JobFilter {
        status,
        kind: params.get("kind").cloned(),
        after,
        limit: query::integer(&params, "limit", 1..=100, 20)?,
    };
    let page = list_jobs(&state.services.db, &caller.client_id, filter).await?;
    Ok(HttpResponse::Ok().json(Page {
        data: page.jobs.iter().map(JobView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn cancel(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    let id = job_id(&path)?;
    let cancel = CancelJob {
        client_id: caller.client_id,
        job_id: id.clone(),
    };
    match state.services.writer.run(cancel).await? {
        CancelOutcome::Canceled(job) => {
            info!(job_id = %job.id, "job canceled");
            state
                .services
                .metrics
                .job_finished(&job.kind, job.status.as_str());
            Ok(HttpResponse::Ok().json(JobView::from(&job)))
        }
        CancelOutcome::Requested(job) => {
            info!(job_id = %job.id, "cancel requested");
            Ok(HttpResponse::Accepted().json(JobView::from(&job)))
        }
        CancelOutcome::AlreadyFinished(job) => Err(ApiError::Conflict(format!(
            "the job already finished: it is {}",
            job.status.as_str()
        ))),
        CancelOutcome::NotFound => Err(no_such_job(&id.to_string())),
    }
}

/// Erases a finished job and everything stored about it, now, instead of
/// when its retention ends.
pub async fn erase(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    let id = job_id(&path)?;
    let erase = EraseJob {
        client_id: caller.client_id,
        job_id: id.clone(),
    };
    match state.services.writer.run(erase).await? {
        Erased::Erased => {
            info!(job_id = %id, "job erased");
            Ok(HttpResponse::NoContent().finish())
        }
        Erased::NoSuchJob => Err(no_such_job(&id.to_string())),
        Erased::NotFinished(status) => Err(ApiError::Conflict(format!(
            "the job is {}: cancel it, or wait until it finishes",
            status.as_str()
        ))),
        Erased::CallbacksPending => Err(ApiError::Conflict(
            "the job's callbacks are still being delivered; erase it once they end".into(),
        )),
    }
}
