//! `POST /v1/jobs/batch`: up to `max_batch_jobs` submissions in one request.
//!
//! Each item is read and checked as `POST /v1/jobs` would (its problems
//! named under `jobs[i]`). Two kinds of problem are told apart:
//!
//! - A **malformed** item breaks what `openapi.yaml` says of every item
//!   (a field of the wrong type, an unknown field, a number out of range, an
//!   event that does not exist): a client bug, which a typed client cannot
//!   make. The whole batch is refused with 400 naming every such field, and
//!   nothing is written.
//! - A **refused** item is well-formed but not accepted here and now: an
//!   unknown kind, an input its kind's schema refuses, a callback URL the
//!   outbound guard refuses, an idempotency key reused for another job.
//!   The other items go ahead.
//!
//! The items that go ahead are written in one transaction, and the answer
//! is `200` with one result per item, in request order: the accepted job
//! (`status` 202), or the problem a single submission would have got
//! (`status` 400, or 422 for a reused key).

use actix_web::{HttpRequest, HttpResponse, web};
use futures::{StreamExt, stream};
use jobcall_entity::ClientId;
use jobcall_jobs::{
    job::{IdempotencyKey, JobSpec, JobView, SubmitBatch, Submitted},
    validation::{FieldError, FieldErrors},
    worker::Reserved,
};
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::info;

use super::submission;
use crate::{
    auth::{Caller, Scope},
    body::{Fields, read_object},
    error::{ApiError, Problem},
    state::AppState,
};

/// Items checked at once: each may wait on a DNS lookup of its callback URL.
const CHECKED_AT_ONCE: usize = 8;

/// One item's answer.
#[derive(Serialize)]
struct ItemResult<'a> {
    /// What a single submission of the item would have been answered.
    status: u16,
    job: Option<JobView>,
    /// Whether an earlier request with the item's `idempotency_key`
    /// created this job.
    replayed: bool,
    error: Option<Problem<'a>>,
}

#[derive(Serialize)]
struct BatchResult<'a> {
    data: Vec<ItemResult<'a>>,
}

/// What is wrong with an item (see the module's documentation).
enum ItemError {
    Malformed(FieldErrors),
    Refused(ApiError),
}

/// An item, read and checked; or what is wrong with it.
type Checked = Result<(JobSpec, Option<IdempotencyKey>), ItemError>;

pub async fn submit(
    request: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    if request.headers().contains_key("idempotency-key") {
        return Err(ApiError::field(
            "Idempotency-Key",
            "a batch has no key of its own: give each item its `idempotency_key`",
        ));
    }
    submission::refuse_when_backlogged(&state)?;
    let max_items = max_items(&state);
    let mut fields = Fields::new(read_object(&request, payload, state.api.max_body_bytes).await?);
    let items = fields.required_array("jobs", 1..=max_items);
    fields.finish()?;
    let items = items.unwrap_or_default();
    // Each item counts against the client's rate, as a submission would.
    state.take_rate_for(&caller.client_id, items.len() as u32)?;

    let checked: Vec<Checked> = stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| check_item(&state, index, item))
        .buffered(CHECKED_AT_ONCE)
        .collect()
        .await;
    refuse_malformed(&checked)?;
    let submitter = submission::Submitter::of(&request);
    let mut submissions = Vec::new();
    let mut reservations: Vec<Option<Reserved>> = Vec::new();
    for (spec, key) in checked.iter().filter_map(|item| item.as_ref().ok()) {
        let (submission, reserved) = submission::prepare(
            &state,
            &caller.client_id,
            spec.clone(),
            key.clone(),
            &submitter,
        );
        submissions.push(submission);
        reservations.push(reserved);
    }
    let accepted = submissions.len();
    let mut outcomes = if submissions.is_empty() {
        Vec::new()
    } else {
        state.services.writer.run(SubmitBatch(submissions)).await?
    }
    .into_iter()
    .zip(reservations);

    // Refusals are answered from `checked`; each valid item takes the next
    // outcome, in the order they were written.
    let conflict = ApiError::IdempotencyConflict;
    let mut data = Vec::with_capacity(checked.len());
    for item in &checked {
        data.push(match item {
            Err(ItemError::Refused(problem)) => refused(problem),
            Err(ItemError::Malformed(_)) => unreachable!("a malformed item refuses the batch"),
            Ok(_) => {
                let (outcome, reserved) =
                    outcomes.next().expect("the writer answers each submission");
                match outcome {
                    Submitted::Created(job, task) => {
                        submission::created(&state, &job, task, reserved);
                        accepted_item(&job, false)
                    }
                    Submitted::Replayed(job) => accepted_item(&job, true),
                    Submitted::KeyReused => refused(&conflict),
                }
            }
        });
    }
    log_batch(&caller.client_id, data.len(), accepted);
    Ok(HttpResponse::Ok().json(BatchResult { data }))
}

/// The most items a batch may hold: the server's limit, and no more than
/// the client's rate lets through at once (its burst).
fn max_items(state: &AppState) -> usize {
    let burst = state
        .rate_limiter
        .burst()
        .map_or(usize::MAX, |b| b as usize);
    state.api.max_batch_jobs.min(burst).max(1)
}

/// 400 for the whole batch, naming every field of every malformed item.
fn refuse_malformed(checked: &[Checked]) -> Result<(), ApiError> {
    let mut malformed = FieldErrors::new();
    for item in checked {
        if let Err(ItemError::Malformed(errors)) = item {
            malformed.append(errors.clone());
        }
    }
    if malformed.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(malformed))
    }
}

/// Reads and checks item `index`: its problems are named under `jobs[index]`.
async fn check_item(state: &AppState, index: usize, item: Value) -> Checked {
    let parent = format!("jobs[{index}]");
    let Value::Object(object) = item else {
        let error = FieldError::new(parent, "must be an object (a job)");
        return Err(ItemError::Malformed(error.into()));
    };
    let (new, key) =
        read_item(object).map_err(|errors| ItemError::Malformed(nested(errors, &parent)))?;
    let spec = submission::check(state, new).await.map_err(|errors| {
        if errors.iter().all(|error| is_refusal(&error.field)) {
            ItemError::Refused(ApiError::Validation(nested(errors, &parent)))
        } else {
            ItemError::Malformed(nested(errors, &parent))
        }
    })?;
    Ok((spec, key))
}

/// Whether a problem with `field` (of a job) is one the item's own
/// schema in `openapi.yaml` cannot state: the kind (known here?), the input
/// (its kind's schema) and the callback URL (the outbound guard).
fn is_refusal(field: &str) -> bool {
    field == "kind" || field == "callback_url" || field == "input" || field.starts_with("input.")
}

/// A job's fields and its own `idempotency_key`.
fn read_item(
    object: Map<String, Value>,
) -> Result<(jobcall_jobs::job::NewJob, Option<IdempotencyKey>), FieldErrors> {
    let mut fields = Fields::new(object);
    let new = submission::read_new_job(&mut fields);
    let key = fields.optional_string("idempotency_key");
    let mut errors = match fields.finish() {
        Ok(()) => FieldErrors::new(),
        Err(ApiError::Validation(errors)) => errors,
        Err(other) => FieldErrors::from(FieldError::new("", other.to_string())),
    };
    let key = match key.as_deref().map(IdempotencyKey::parse) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(message)) => {
            errors.push(FieldError::new("idempotency_key", message));
            None
        }
    };
    if errors.is_empty() {
        Ok((new, key))
    } else {
        Err(errors)
    }
}

fn nested(errors: FieldErrors, parent: &str) -> FieldErrors {
    let mut under = FieldErrors::new();
    under.append_under(errors, parent);
    under
}

fn accepted_item(job: &jobcall_entity::job::Model, replayed: bool) -> ItemResult<'static> {
    ItemResult {
        status: 202,
        job: Some(JobView::from(job)),
        replayed,
        error: None,
    }
}

fn refused(problem: &ApiError) -> ItemResult<'_> {
    let problem = problem.problem();
    ItemResult {
        status: problem.status,
        job: None,
        replayed: false,
        error: Some(problem),
    }
}

fn log_batch(client: &ClientId, items: usize, valid: usize) {
    info!(client_id = %client, items, valid, "batch submitted");
}
