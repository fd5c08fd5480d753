//! Every request gets a request id (the caller's `X-Request-Id` when it is
//! sane, a fresh one otherwise), echoed in the response and present on every
//! log line of the request; a place in a trace (the caller's W3C
//! `traceparent`, or a new trace), whose `trace_id` is on those lines too;
//! and one access-log line when it ends.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use jobcall_jobs::{metrics::HttpLabels, trace::TraceContext};
use tracing::{Instrument, field, info, info_span, warn};

use crate::state::Ops;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of a request, for handlers that pass it on (into a job).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The trace context of a request's own span, for handlers that pass it on
/// (into a job): its children continue the caller's trace.
#[derive(Debug, Clone)]
pub struct RequestTrace(pub TraceContext);

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

pub async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::generate().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = method_label(request.method());
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let span = info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        trace_id = field::Empty
    );
    let header = |name: &HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok());
    let (caller, _) = TraceContext::from_headers(header(&TRACEPARENT), header(&TRACESTATE));
    caller.adopt(&span);
    // The request's own span: the exported one when spans are exported,
    // otherwise a child of the caller's of our own.
    let own = TraceContext::of_span(&span, caller.tracestate()).unwrap_or_else(|| caller.child());
    span.record("trace_id", own.trace_id());
    request.extensions_mut().insert(RequestTrace(own));
    let started = Instant::now();
    let ops = request.app_data::<web::Data<Ops>>().cloned();
    let result = next.call(request).instrument(span.clone()).await;
    let _entered = span.enter();
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            if let Some(ops) = ops {
                let labels = HttpLabels {
                    method: method.to_owned(),
                    route,
                    status,
                };
                ops.metrics
                    .http_request_seconds
                    .get_or_create(&labels)
                    .observe(elapsed.as_secs_f64());
            }
            if status >= 500 {
                warn!(status, elapsed_ms, "request failed");
            } else {
                info!(status, elapsed_ms, "request");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        Err(err) => {
            warn!(error = %err, elapsed_ms, "request error");
            Err(err)
        }
    }
}

/// The method as a metric label and log field. HTTP lets a client invent
/// methods (any token, any length), and each label value is a series kept
/// for the life of the process: unauthenticated requests with made-up
/// methods would grow `/metrics` without bound. The standard ones keep
/// their name; every other shares `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// 1 to 128 characters of `[A-Za-z0-9._:-]`: safe to log and to echo.
fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::{Method, is_sane, method_label};

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::TRACE), "TRACE");
        for made_up in ["BREW", "get", &"X".repeat(8192)] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(
                method_label(&method),
                "other",
                "{}",
                &made_up[..4.min(made_up.len())]
            );
        }
    }

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(is_sane("req-42_a.b:c"));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane("line\nbreak"));
        assert!(!is_sane(&"x".repeat(129)));
    }
}
