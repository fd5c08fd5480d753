//! What a submission (`POST /v1/jobs`) and each item of a batch
//! (`POST /v1/jobs/batch`) share: reading the fields of a job, checking it,
//! preparing it for the writer, and counting it in once it is committed.

use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest};
use jobcall_entity::{ClientId, EventType, job};
use jobcall_jobs::{
    job::{IdempotencyKey, JobSpec, NewJob, Submission},
    store::TaskRef,
    trace::TraceContext,
    validation::FieldErrors,
    worker::Reserved,
};
use serde_json::{Value, json};
use tracing::info;

use crate::{
    body::Fields,
    error::ApiError,
    middleware::{RequestId, RequestTrace},
    state::AppState,
};

/// 503 while more jobs are queued than the server accepts.
pub(super) fn refuse_when_backlogged(state: &AppState) -> Result<(), ApiError> {
    let queued = state.backlog.queued();
    if queued >= state.api.max_queued_jobs {
        return Err(ApiError::Unavailable {
            detail: format!("{queued} jobs are queued, the most this server accepts; retry later"),
            retry_after: Duration::from_secs(5),
        });
    }
    Ok(())
}

/// The fields of a job, taken from `fields` (which the caller finishes:
/// a batch item has one more field).
pub(super) fn read_new_job(fields: &mut Fields) -> NewJob {
    let kind = fields.required_string("kind");
    let input = fields.optional_object("input").map(Value::Object);
    NewJob {
        kind: kind.unwrap_or_default(),
        input: input.unwrap_or_else(|| json!({})),
        callback_url: fields.optional_string("callback_url"),
        callback_events: fields.optional_strings("callback_events", EventType::ALL.len()),
        metadata: fields.optional_object("metadata"),
        timeout_seconds: fields.optional_integer("timeout_seconds"),
        max_attempts: fields.optional_integer("max_attempts"),
    }
}

/// Checks a job against the kinds, the outbound guard and the limits.
pub(super) async fn check(state: &AppState, new: NewJob) -> Result<JobSpec, FieldErrors> {
    let services = &state.services;
    JobSpec::parse(
        new,
        &services.registry,
        services.outbound.guard(),
        &services.settings.limits,
    )
    .await
}

/// What a job keeps of the request that submitted it: its request id and
/// its place in a trace (see [`crate::middleware`]).
pub(super) struct Submitter {
    request_id: Option<String>,
    trace: Option<TraceContext>,
}

impl Submitter {
    pub(super) fn of(request: &HttpRequest) -> Self {
        let extensions = request.extensions();
        Self {
            request_id: extensions.get::<RequestId>().map(|r| r.0.clone()),
            trace: extensions.get::<RequestTrace>().map(|t| t.0.clone()),
        }
    }
}

/// The submission for the writer, and, when this process runs workers with
/// a slot free, that slot: the job then starts here as soon as it commits.
pub(super) fn prepare(
    state: &AppState,
    client: &ClientId,
    spec: JobSpec,
    key: Option<IdempotencyKey>,
    submitter: &Submitter,
) -> (Submission, Option<Reserved>) {
    let reserved = state
        .dispatch
        .as_ref()
        .and_then(|dispatch| dispatch.try_reserve(client));
    let mut submission = Submission::new(client.clone(), spec, key, submitter.request_id.clone());
    if let Some(trace) = &submitter.trace {
        submission = submission.traced(trace);
    }
    if let Some(reserved) = &reserved {
        submission = submission.handed_over(reserved.fallback_delay());
    }
    (submission, reserved)
}

/// A new job has committed: start it on its reserved slot, and count it.
pub(super) fn created(
    state: &AppState,
    job: &job::Model,
    task: TaskRef,
    reserved: Option<Reserved>,
) {
    if let Some(reserved) = reserved {
        reserved.start(job.id.clone(), task);
    }
    state.backlog.accepted();
    state.services.metrics.job_submitted(&job.kind);
    info!(job_id = %job.id, kind = %job.kind, "job accepted");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Map;

    fn new_job(body: Map<String, Value>) -> Result<NewJob, ApiError> {
        let mut fields = Fields::new(body);
        let new = read_new_job(&mut fields);
        fields.finish()?;
        Ok(new)
    }

    /// Any JSON value, nested a few levels, with keys that often hit the
    /// real field names.
    pub(crate) fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "kind",
                "input",
                "callback_url",
                "callback_events",
                "metadata",
                "timeout_seconds",
                "max_attempts",
                "delay_ms",
                "url",
            ])
            .prop_map(str::to_owned),
            ".{0,12}",
        ]
    }

    fn submission() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((key(), any_json()), 0..10)
            .prop_map(|entries| entries.into_iter().collect())
    }

    proptest! {
        // At least 2048 cases; PROPTEST_CASES=N asks for more in a long run.
        #![proptest_config(ProptestConfig::with_cases(ProptestConfig::default().cases.max(2048)))]

        /// Whatever the body, reading it answers (never panics), and every
        /// problem it reports names a field of the body or a required one.
        #[test]
        fn any_body_is_read_or_refused_with_named_fields(body in submission()) {
            let keys: Vec<String> = body.keys().cloned().collect();
            let kind = body.get("kind").cloned();
            match new_job(body) {
                // Read only when the required `kind` was a string.
                Ok(new) => prop_assert_eq!(kind, Some(Value::String(new.kind))),
                Err(ApiError::Validation(errors)) => {
                    prop_assert!(!errors.is_empty());
                    for error in errors {
                        // Keys may hold dots themselves, so match whole prefixes.
                        let names_a_key = keys.iter().chain(["kind".to_owned()].iter()).any(|key| {
                            error.field == *key
                                || error.field.starts_with(&format!("{key}."))
                                || error.field.starts_with(&format!("{key}["))
                        });
                        prop_assert!(names_a_key, "{} is not in {:?}", error.field, keys);
                    }
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}
