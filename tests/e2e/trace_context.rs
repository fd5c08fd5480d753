//! W3C trace context: the submitter's `traceparent` is kept with the job, is
//! on the log lines of its attempts and deliveries, goes out as
//! `traceparent` on its callbacks (a span of its own per attempt), and, with
//! `JOBCALL_OTLP_ENDPOINT`, reaches the spans exported to a collector.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, trace::v1::Span,
};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::{
    e2e,
    support::{
        Backend, Received, Receiver, Reply, TestApp, deployment::Deployment, eventually,
        process::log_lines, read_response,
    },
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `(trace id, span id)` of a callback's `traceparent`, checked for form.
fn traceparent_of(callback: &Received) -> (String, String) {
    let header = callback.header("traceparent");
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1].len(), 32);
    assert_eq!(parts[2].len(), 16);
    assert_ne!(parts[2], "0000000000000000");
    (parts[1].to_owned(), parts[2].to_owned())
}

async fn submit_traced(app: &TestApp, path: &str, traceparent: &str, body: Value) -> Value {
    let response = app
        .request(Method::POST, &app.client.token, path)
        .header("traceparent", traceparent)
        .header("tracestate", "vendor=abc")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = read_response(Method::POST, path, response).await;
    assert!(status.is_success(), "{body}");
    body
}

e2e! {
    async fn the_submitters_trace_continues_on_every_callback_attempt(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::Status(500)]);
        submit_traced(&app, "/v1/jobs", TRACEPARENT, json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let attempts = app.receiver.wait_for(2, 20).await;
        let (first_trace, first_span) = traceparent_of(&attempts[0]);
        let (second_trace, second_span) = traceparent_of(&attempts[1]);
        assert_eq!(first_trace, TRACE_ID);
        assert_eq!(second_trace, TRACE_ID);
        assert_ne!(first_span, second_span, "a span of its own per attempt");
        assert_ne!(first_span, CALLER_SPAN, "jobcall's span, not the caller's");
        assert_eq!(attempts[1].header("tracestate"), "vendor=abc");

        // The items of a batch are in the batch request's trace.
        let before = app.receiver.received().len();
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        submit_traced(&app, "/v1/jobs/batch", other, json!({"jobs": [
            {"kind": "echo", "callback_url": app.receiver.url("/a")},
            {"kind": "echo", "callback_url": app.receiver.url("/b")},
        ]})).await;
        for callback in &app.receiver.wait_for(before + 2, 20).await[before..] {
            assert_eq!(traceparent_of(callback).0, "0af7651916cd43dd8448eb211c80319c");
        }
        app.stop().await;
    }
}

e2e! {
    async fn an_invalid_traceparent_starts_a_new_trace_not_an_error(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut traces = Vec::new();
        for traceparent in ["garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"] {
            let before = app.receiver.received().len();
            submit_traced(&app, "/v1/jobs", traceparent, json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
            let callback = app.receiver.wait_for(before + 1, 20).await[before].clone();
            let (trace, _) = traceparent_of(&callback);
            assert_ne!(trace, "00000000000000000000000000000000");
            assert_eq!(callback.header("tracestate"), "", "no state without a valid parent");
            traces.push(trace);
        }
        // Without any: a trace of its own too.
        app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let callback = app.receiver.wait_for(3, 20).await[2].clone();
        traces.push(traceparent_of(&callback).0);
        traces.dedup();
        assert_eq!(traces.len(), 3, "each a new trace: {traces:?}");

        // A test event continues its request's trace.
        let response = app
            .request(Method::POST, &app.client.token, "/v1/callbacks/test")
            .header("traceparent", TRACEPARENT)
            .json(&json!({"url": app.receiver.url("/probe")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let probe = app.receiver.wait_for(4, 10).await[3].clone();
        assert_eq!(traceparent_of(&probe).0, TRACE_ID);
        app.stop().await;
    }
}

/// Submits an echo job with a callback to `hook` to a server process, in
/// the trace of [`TRACEPARENT`].
async fn submit_to_process(deployment: &Deployment, base: &str, hook: String) {
    let response = deployment
        .http
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(&deployment.token)
        .header("traceparent", TRACEPARENT)
        .json(&json!({"kind": "echo", "callback_url": hook}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

e2e! {
    async fn log_lines_of_the_request_the_job_and_its_callbacks_carry_the_trace_id(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let receiver = Receiver::start().await;
        let server = deployment.start("serve", "serve").await;
        submit_to_process(&deployment, &server.base, receiver.url("/hook")).await;
        receiver.wait_for_event("job.succeeded", 10).await;
        let lines = eventually(10, "the delivery log line", || async {
            let lines = log_lines(&server.log);
            lines.iter().any(|l| l["message"] == "callback delivered").then_some(lines)
        })
        .await;
        for message in ["job accepted", "attempt succeeded", "callback delivered"] {
            let line = lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no `{message}` line"));
            assert_eq!(crate::observability::span_fields(line).get("trace_id").map(String::as_str), Some(TRACE_ID), "{message}: {line}");
        }
    }
}

/// A collector of OTLP/HTTP trace exports: a plain HTTP/1.1 server on a
/// port of its own that decodes each request body as protobuf.
struct Collector {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Collector {
    async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let collected = spans.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let collected = collected.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    // One request after another on the connection.
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        stream.read_exact(&mut body).await.unwrap();
                        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                        let spans = request
                            .resource_spans
                            .into_iter()
                            .flat_map(|r| r.scope_spans)
                            .flat_map(|s| s.spans);
                        collected.lock().unwrap().extend(spans);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                        stream.get_mut().write_all(answer.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        Collector { url, spans }
    }

    fn named(&self, name: &str) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }
}

e2e! {
    async fn exported_spans_continue_the_submitters_trace(backend: Backend) {
        let collector = Collector::start().await;
        let deployment = Deployment::new(&backend, &[
            ("JOBCALL_OTLP_ENDPOINT", collector.url.as_str()),
            // The SDK's batch delay: export within a moment, not 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ]).await;
        let receiver = Receiver::start().await;
        let server = deployment.start("serve", "serve").await;
        submit_to_process(&deployment, &server.base, receiver.url("/hook")).await;
        let callback = receiver.wait_for_event("job.succeeded", 10).await;
        let attempt = eventually(20, "the exported callback attempt", || async {
            collector.named("callback.attempt").into_iter().next()
        })
        .await;
        let trace_id = hex::decode(TRACE_ID).unwrap();
        let submit = collector
            .named("request")
            .into_iter()
            .find(|s| s.trace_id == trace_id)
            .expect("the submitting request's span, in the submitter's trace");
        assert_eq!(hex::encode(&submit.parent_span_id), CALLER_SPAN);
        let job = collector.named("job.attempt").into_iter().next().expect("the job's attempt");
        assert_eq!(job.trace_id, trace_id);
        assert_eq!(job.parent_span_id, submit.span_id, "the attempt is the request's child");
        assert_eq!(attempt.trace_id, trace_id);
        assert_eq!(attempt.parent_span_id, submit.span_id, "so is the callback's");
        assert_eq!(
            traceparent_of(&callback).1,
            hex::encode(&attempt.span_id),
            "the receiver's trace continues from the exported attempt"
        );
    }
}
