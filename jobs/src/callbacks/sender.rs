//! Sending one signed webhook and reading what came back.

use std::time::{Duration, Instant};

use reqwest::{
    Method,
    header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER},
};

use super::{
    outcome::{SendOutcome, parse_retry_after},
    signing::signature_header,
};
use crate::{
    outbound::{BodyCapture, CheckedUrl, Outbound, OutboundError},
    signers::Signers,
    time::Clock,
    trace::TraceContext,
};

/// A webhook to send.
pub struct Webhook<'a> {
    pub url: &'a CheckedUrl,
    /// `webhook-id`: the event id.
    pub id: &'a str,
    pub body: &'a str,
    /// What signs it: the client's secrets and keys.
    pub signers: &'a Signers,
    /// Sent as `traceparent` (and `tracestate`): the span the receiver's
    /// work continues.
    pub trace: Option<&'a TraceContext>,
    pub timeout: Duration,
    /// How much of the response body to keep.
    pub keep_bytes: usize,
}

/// What happened to it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub outcome: SendOutcome,
    /// The first bytes of the receiver's answer, if it answered.
    pub response_body: Option<String>,
    pub duration_ms: i64,
}

pub async fn send(outbound: &Outbound, clock: &Clock, webhook: Webhook<'_>) -> Sent {
    let started = Instant::now();
    let timestamp = clock.now_ms() / 1000;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let signature = signature_header(webhook.signers, webhook.id, timestamp, webhook.body);
    let trace = webhook.trace.map(|trace| {
        let state = trace
            .tracestate()
            .map(|state| ("tracestate", state.to_owned()));
        std::iter::once(("traceparent", trace.traceparent())).chain(state)
    });
    for (name, value) in [
        ("webhook-id", webhook.id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ]
    .into_iter()
    .chain(trace.into_iter().flatten())
    {
        headers.insert(
            name,
            HeaderValue::from_str(&value)
                .expect("ids, numbers, base64 and checked trace context are valid header values"),
        );
    }
    let outcome = async {
        let response = outbound
            .send(
                Method::POST,
                webhook.url,
                headers,
                Some(webhook.body.as_bytes().to_vec()),
                webhook.timeout,
            )
            .await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, clock.now_ms()));
        // The body is read within what is left of the same timeout; a
        // receiver that answers and then stalls does not hold the slot.
        let remaining = webhook.timeout.saturating_sub(started.elapsed());
        let body =
            match tokio::time::timeout(remaining, BodyCapture::read(response, webhook.keep_bytes))
                .await
            {
                Ok(Ok(body)) => Some(body.text()),
                _ => None,
            };
        Ok::<_, OutboundError>((status, retry_after, body))
    }
    .await;
    let duration_ms = started.elapsed().as_millis() as i64;
    match outcome {
        Ok((status, retry_after, response_body)) => Sent {
            outcome: SendOutcome::answered(status, retry_after),
            response_body,
            duration_ms,
        },
        Err(error) => Sent {
            outcome: SendOutcome::failed(error),
            response_body: None,
            duration_ms,
        },
    }
}
