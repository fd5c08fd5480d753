//! Every request gets a request id (the caller's `X-Request-Id` when it is
//! sane, a fresh one otherwise), echoed in the response and present on every
//! log line of the request; and one access-log line when it ends.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use jobcall_jobs::metrics::HttpLabels;
use tracing::{Instrument, info, info_span, warn};

use crate::state::Ops;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of a request, for handlers that pass it on (into a job).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

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
    let method = request.method().to_string();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let span = info_span!("request", request_id = %id, method = %method, route = %route);
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
                    method,
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

/// 1 to 128 characters of `[A-Za-z0-9._:-]`: safe to log and to echo.
fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(is_sane("req-42_a.b:c"));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane("line\nbreak"));
        assert!(!is_sane(&"x".repeat(129)));
    }
}
