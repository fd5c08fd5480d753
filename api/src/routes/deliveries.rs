//! `/v1/jobs/{id}/deliveries` (the attempts, and replaying the newest event)
//! and `/v1/callbacks/test` (a signed test event, sent now).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use jobcall_entity::{ClientId, DeliveryTrigger, EventId, EventType, JobId, delivery_attempt};
use jobcall_jobs::{
    callbacks::{
        Envelope, Replay, ReplayLatest, list_attempts,
        sender::{Webhook, send},
    },
    job::find_job,
    time::rfc3339,
};
use serde::Serialize;
use tracing::info;

use crate::{
    auth::{Caller, Scope},
    body::{Fields, read_object},
    error::ApiError,
    middleware::RequestTrace,
    state::AppState,
};

#[derive(Serialize)]
struct Attempt {
    event_id: EventId,
    event_type: EventType,
    attempt: i32,
    trigger: DeliveryTrigger,
    url: String,
    status_code: Option<i32>,
    error: Option<String>,
    error_class: Option<String>,
    duration_ms: i64,
    response_body: Option<String>,
    created_at: String,
}

impl From<delivery_attempt::Model> for Attempt {
    fn from(row: delivery_attempt::Model) -> Self {
        Self {
            event_id: row.event_id,
            event_type: row.event_type,
            attempt: row.attempt,
            trigger: row.trigger,
            url: row.url,
            status_code: row.status_code,
            error: row.error,
            error_class: row.error_class,
            duration_ms: row.duration_ms,
            response_body: row.response_body,
            created_at: rfc3339(row.created_at),
        }
    }
}

#[derive(Serialize)]
struct Attempts {
    data: Vec<Attempt>,
}

fn job_id(raw: &str) -> Result<JobId, ApiError> {
    JobId::parse(raw).map_err(|_| no_such_job(raw))
}

fn no_such_job(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no job `{id}`"))
}

pub async fn list(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsRead)?;
    let id = job_id(&path)?;
    if find_job(&state.services.db, &caller.client_id, &id)
        .await?
        .is_none()
    {
        return Err(no_such_job(&path));
    }
    let attempts = list_attempts(&state.services.db, &caller.client_id, &id).await?;
    Ok(HttpResponse::Ok().json(Attempts {
        data: attempts.into_iter().map(Attempt::from).collect(),
    }))
}

#[derive(Serialize)]
struct ReplayQueued {
    event_id: EventId,
    event_type: EventType,
}

pub async fn replay(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    state.take_rate(&caller.client_id)?;
    let id = job_id(&path)?;
    let replay = ReplayLatest {
        client_id: caller.client_id,
        job_id: id,
    };
    match state.services.writer.run(replay).await? {
        Replay::Queued(event) => {
            info!(job_id = %event.job_id, event_id = %event.id, "replay queued");
            Ok(HttpResponse::Accepted().json(ReplayQueued {
                event_id: event.id,
                event_type: event.event_type,
            }))
        }
        Replay::NoEvents => Err(ApiError::Conflict(
            "the job has no callback event to replay".into(),
        )),
        Replay::Waiting(event) => Err(ApiError::Conflict(format!(
            "the newest event ({}) waits behind an earlier one that is still being delivered",
            event.id
        ))),
        Replay::NoSuchJob => Err(no_such_job(&path)),
    }
}

#[derive(Serialize)]
struct TestEventData {
    message: &'static str,
    client_id: ClientId,
}

#[derive(Serialize)]
struct TestResult {
    url: String,
    event_id: EventId,
    delivered: bool,
    status_code: Option<u16>,
    duration_ms: i64,
    response_body: Option<String>,
    error: Option<String>,
    error_class: Option<&'static str>,
}

/// The type of the test event: not a job event, so receivers can tell it apart.
pub const TEST_EVENT_TYPE: &str = "callback.test";

pub async fn test_send(
    request: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsWrite)?;
    state.take_rate(&caller.client_id)?;
    let mut fields = Fields::new(read_object(&request, payload, state.api.max_body_bytes).await?);
    let url = fields.required_string("url");
    fields.finish()?;
    let url = state
        .services
        .outbound
        .guard()
        .check(&url.unwrap_or_default())
        .await
        .map_err(|e| ApiError::field("url", e.to_string()))?;
    let event_id = EventId::generate();
    let body = Envelope {
        event_type: TEST_EVENT_TYPE,
        timestamp: rfc3339(state.services.clock.now_ms()),
        data: TestEventData {
            message: "This is a test event from jobcall.",
            client_id: caller.client_id.clone(),
        },
    }
    .to_body();
    let secrets = state
        .services
        .secrets
        .get(&state.services.db, &caller.client_id)
        .await?;
    let callbacks = &state.services.settings.callbacks;
    let trace = request
        .extensions()
        .get::<RequestTrace>()
        .map(|trace| trace.0.child());
    let sent = send(
        &state.services.outbound,
        &state.services.clock,
        Webhook {
            url: &url,
            id: event_id.as_str(),
            body: &body,
            signers: &secrets,
            // The test event continues the trace of the request that sent it.
            trace: trace.as_ref(),
            timeout: callbacks.attempt_timeout,
            keep_bytes: callbacks.response_body_bytes,
        },
    )
    .await;
    Ok(HttpResponse::Ok().json(TestResult {
        url: url.to_string(),
        event_id,
        delivered: sent.outcome.delivered(),
        status_code: sent.outcome.status_code(),
        duration_ms: sent.duration_ms,
        error_class: sent.outcome.error_class(),
        error: sent.outcome.error_message(),
        response_body: sent.response_body,
    }))
}
