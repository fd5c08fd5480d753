//! Callbacks: signed, ordered, retried, recorded, replayable.

use std::{
    io,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use jobcall::Customize;
use jobcall_jobs::outbound::NameResolver;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    e2e,
    support::{Backend, Received, Receiver, Reply, TestApp, eventually},
};

/// Checks a callback's signature the way a receiver would, independently of
/// jobcall's own signing code.
pub fn signed_by(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let content = format!(
        "{}.{}.{}",
        received.header("webhook-id"),
        received.header("webhook-timestamp"),
        received.body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(content.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received
        .header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

async fn deliveries(app: &TestApp, job_id: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&app.client.token, &format!("/v1/jobs/{job_id}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

async fn callback_state(app: &TestApp, job_id: &str, state: &str) -> Value {
    app.job_until(job_id, 20, &format!("callback state {state}"), |job| {
        job["callback"]["state"] == state
    })
    .await
}

e2e! {
    async fn a_finished_job_calls_back_signed_as_standard_webhooks(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app
            .submit(json!({"kind": "echo", "input": {"message": "hi"}, "callback_url": app.receiver.url("/hook")}))
            .await;
        let id = job["id"].as_str().unwrap();
        let callback = app.receiver.wait_for_event("job.succeeded", 10).await;
        assert_eq!(callback.method, "POST");
        assert_eq!(callback.path, "/hook");
        assert_eq!(callback.header("content-type"), "application/json");
        assert!(callback.header("user-agent").starts_with("jobcall/"));
        assert!(callback.header("webhook-id").starts_with("evt_"));
        let sent_at: i64 = callback.header("webhook-timestamp").parse().unwrap();
        assert!((jobcall_jobs::time::Clock::system().now_ms() / 1000 - sent_at).abs() < 60);
        assert!(signed_by(&app.client.signing_secret, &callback), "signature does not verify");
        let body = callback.json();
        assert_eq!(body["type"], "job.succeeded");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body["data"]["id"], id);
        assert_eq!(body["data"]["status"], "succeeded");
        assert_eq!(body["data"]["result"], json!({"message": "hi"}));

        let job = callback_state(&app, id, "delivered").await;
        assert_eq!(job["callback"]["attempts"], 1);
        assert_eq!(job["callback"]["last_status_code"], 200);
        assert!(job["callback"]["next_attempt_at"].is_null());
        let attempts = deliveries(&app, id).await;
        assert_eq!(attempts.len(), 1);
        let attempt = &attempts[0];
        assert_eq!(attempt["event_id"], callback.header("webhook-id"));
        assert_eq!(attempt["event_type"], "job.succeeded");
        assert_eq!((attempt["attempt"].as_i64(), attempt["trigger"].as_str()), (Some(1), Some("scheduled")));
        assert_eq!(attempt["status_code"], 200);
        assert_eq!(attempt["response_body"], "status 200");
        assert!(attempt["error"].is_null());
        assert_eq!(attempt["url"], app.receiver.url("/hook"));
    }
}

e2e! {
    async fn a_failing_receiver_gets_retries_with_the_same_webhook_id(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::Status(500), Reply::Status(503)]);
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        let received = app.receiver.wait_for(3, 20).await;
        let ids: Vec<_> = received.iter().map(|r| r.header("webhook-id").to_owned()).collect();
        assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
        assert!(received.iter().all(|r| signed_by(&app.client.signing_secret, r)));
        assert!(received[1].at - received[0].at >= Duration::from_millis(70), "backoff between attempts");
        let job = callback_state(&app, id, "delivered").await;
        assert_eq!(job["callback"]["attempts"], 3);
        let attempts = deliveries(&app, id).await;
        let codes: Vec<_> = attempts.iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
        assert_eq!(codes, [500, 503, 200]);
        assert_eq!(attempts[0]["error_class"], "http_status");
        assert_eq!(attempts[0]["response_body"], "status 500");
    }
}

e2e! {
    async fn handled_work_leaves_no_queue_task_behind(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // The first callback fails once: a retry through the queue, besides
        // the deliveries a worker makes itself as a job finishes.
        app.receiver.script([Reply::Status(500)]);
        for _ in 0..5 {
            app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        }
        app.receiver.wait_for(6, 20).await;
        // Each task ends in the transaction that records its outcome.
        eventually(10, "an empty queue", || async {
            (app.queue_tasks().await == 0).then_some(())
        })
        .await;
    }
}

e2e! {
    async fn gone_stops_the_retries(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.always(Reply::Status(410));
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        let job = callback_state(&app, id, "failed").await;
        assert_eq!(job["callback"]["last_status_code"], 410);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(app.receiver.received().len(), 1);
        assert_eq!(deliveries(&app, id).await.len(), 1);
    }
}

e2e! {
    async fn retry_after_on_429_is_honoured(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::WithHeader(429, "retry-after", "600".into())]);
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let pending = app
            .job_until(job["id"].as_str().unwrap(), 10, "a scheduled retry", |j| j["callback"]["state"] == "failing")
            .await;
        assert!(pending["callback"]["next_attempt_at"].is_string());
        // Ten minutes on the server's clock, skipped rather than slept.
        app.advance(Duration::from_secs(600)).await;
        let received = app.receiver.wait_for(2, 10).await;
        let sent_at = |r: &Received| r.header("webhook-timestamp").parse::<i64>().unwrap();
        let gap = sent_at(&received[1]) - sent_at(&received[0]);
        assert!(gap >= 599, "retried after {gap} s, not after the 600 s asked for");
        callback_state(&app, job["id"].as_str().unwrap(), "delivered").await;
    }
}

e2e! {
    async fn a_receiver_that_never_answers_times_out(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.callback_timeout_ms = 500, Customize::default()).await;
        app.receiver.script([Reply::Hang]);
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        callback_state(&app, id, "delivered").await;
        let attempts = deliveries(&app, id).await;
        assert_eq!(attempts[0]["error_class"], "timeout", "{attempts:?}");
        assert!(attempts[0]["status_code"].is_null());
        assert!(attempts[0]["duration_ms"].as_i64().unwrap() >= 450);
        assert_eq!(attempts[1]["status_code"], 200);
    }
}

e2e! {
    async fn redirects_are_not_followed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::WithHeader(302, "location", app.receiver.url("/elsewhere"))]);
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        callback_state(&app, id, "delivered").await;
        assert!(app.receiver.received().iter().all(|r| r.path == "/hook"));
        let attempts = deliveries(&app, id).await;
        assert_eq!(attempts[0]["status_code"], 302);
        assert_eq!(attempts[0]["error_class"], "http_status");
    }
}

e2e! {
    async fn an_exhausted_event_can_be_replayed_by_hand(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.callback_max_attempts = 3, Customize::default()).await;
        app.receiver.always(Reply::Status(500));
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        let failed = callback_state(&app, id, "failed").await;
        assert_eq!(failed["callback"]["attempts"], 3);
        assert_eq!(app.receiver.received().len(), 3);

        app.receiver.always(Reply::Status(204));
        let (status, queued) = app.post(&app.client.token, &format!("/v1/jobs/{id}/deliveries"), &json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
        assert_eq!(queued["event_type"], "job.succeeded");
        let delivered = callback_state(&app, id, "delivered").await;
        assert_eq!(delivered["callback"]["last_status_code"], 204);
        let received = app.receiver.received();
        assert_eq!(received.len(), 4);
        assert_eq!(received[3].header("webhook-id"), received[0].header("webhook-id"), "a replay keeps the event id");
        let attempts = deliveries(&app, id).await;
        let triggers: Vec<_> = attempts.iter().map(|a| a["trigger"].as_str().unwrap()).collect();
        assert_eq!(triggers, ["scheduled", "scheduled", "scheduled", "manual"]);
        assert_eq!(attempts[3]["attempt"], 4);

        let quiet = app.submit(json!({"kind": "echo"})).await;
        app.finished(quiet["id"].as_str().unwrap()).await;
        let (status, _) = app.post(&app.client.token, &format!("/v1/jobs/{}/deliveries", quiet["id"].as_str().unwrap()), &json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "a job without callbacks has nothing to replay");
        let (status, _) = app.post(&app.client.token, "/v1/jobs/job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z/deliveries", &json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

e2e! {
    async fn events_of_a_job_are_delivered_in_order(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // job.started fails twice; job.succeeded, ready long before, must wait for it.
        app.receiver.script([Reply::Status(500), Reply::Status(500)]);
        let job = app
            .submit(json!({
                "kind": "echo",
                "callback_url": app.receiver.url("/hook"),
                "callback_events": ["job.started", "job.succeeded"]
            }))
            .await;
        let id = job["id"].as_str().unwrap();
        app.receiver.wait_for_event("job.succeeded", 20).await;
        let types: Vec<_> = app.receiver.received().iter().map(Received::event_type).collect();
        assert_eq!(types, ["job.started", "job.started", "job.started", "job.succeeded"]);
        let job = callback_state(&app, id, "delivered").await;
        assert_eq!(job["callback"]["attempts"], 4);
        let started = &app.receiver.received()[0].json();
        assert_eq!(started["data"]["status"], "running");
    }
}

e2e! {
    async fn progress_is_reported_to_subscribers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app
            .submit(json!({
                "kind": "echo",
                "input": {"delay_ms": 1200},
                "callback_url": app.receiver.url("/hook"),
                "callback_events": ["job.progress", "job.succeeded"]
            }))
            .await;
        app.receiver.wait_for_event("job.succeeded", 20).await;
        let received = app.receiver.received();
        let progress: Vec<i64> = received
            .iter()
            .filter(|r| r.event_type() == "job.progress")
            .map(|r| r.json()["data"]["progress"].as_i64().unwrap())
            .collect();
        assert!(!progress.is_empty(), "{received:#?}");
        assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
        assert_eq!(received.last().unwrap().event_type(), "job.succeeded");
        callback_state(&app, job["id"].as_str().unwrap(), "delivered").await;
    }
}

e2e! {
    async fn a_canceled_job_calls_back_too(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app
            .submit(json!({"kind": "echo", "input": {"delay_ms": 30_000}, "callback_url": app.receiver.url("/hook")}))
            .await;
        let id = job["id"].as_str().unwrap();
        app.job_until(id, 10, "the job to run", |j| j["status"] == "running").await;
        app.post(&app.client.token, &format!("/v1/jobs/{id}/cancel"), &json!({})).await;
        let callback = app.receiver.wait_for_event("job.canceled", 10).await;
        assert_eq!(callback.json()["data"]["error"]["code"], "canceled");
    }
}

e2e! {
    async fn a_test_event_reports_what_the_receiver_said(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::Body(202, "thanks".into())]);
        let (status, result) = app.post(&app.client.token, "/v1/callbacks/test", &json!({"url": app.receiver.url("/probe")})).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(result["status_code"], 202);
        assert_eq!(result["response_body"], "thanks");
        assert_eq!(result["delivered"], true);
        let received = &app.receiver.received()[0];
        assert_eq!(received.event_type(), "callback.test");
        assert!(signed_by(&app.client.signing_secret, received));

        let (status, result) = app.post(&app.client.token, "/v1/callbacks/test", &json!({"url": "http://127.0.0.1:1/closed"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((result["delivered"].as_bool(), result["error_class"].as_str()), (Some(false), Some("connect")));
        let (status, problem) = app.post(&app.client.token, "/v1/callbacks/test", &json!({"url": "http://169.254.169.254/"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], "url");
        let (status, _) = app.post(&app.client.token, "/v1/callbacks/test", &json!({"uri": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

e2e! {
    async fn a_dead_receiver_neither_blocks_jobs_nor_starves_other_receivers(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |s| {
                s.callback_timeout_ms = 5000;
                s.callback_receiver_concurrency = 2;
            },
            Customize::default(),
        )
        .await;
        let dead = Receiver::start().await;
        dead.always(Reply::Hang);
        for _ in 0..12 {
            app.submit(json!({"kind": "echo", "callback_url": dead.url("/hook")})).await;
        }
        dead.wait_for(2, 10).await;
        let started = Instant::now();
        let mut fast = Vec::new();
        for _ in 0..5 {
            fast.push(app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await);
        }
        for job in &fast {
            assert_eq!(app.finished(job["id"].as_str().unwrap()).await["status"], "succeeded");
        }
        app.receiver.wait_for(5, 10).await;
        assert!(started.elapsed() < Duration::from_secs(4), "other receivers waited {:?}", started.elapsed());
        assert!(dead.received().len() <= 2, "at most 2 deliveries at once to one receiver");
    }
}

/// Resolves the first lookup to a public address, every later one to a
/// private one: a DNS-rebinding attacker.
struct Rebinding {
    lookups: AtomicUsize,
}

impl NameResolver for Rebinding {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let first = self.lookups.fetch_add(1, Ordering::SeqCst) == 0;
        let ip: IpAddr = if first { "93.184.216.34" } else { "10.0.0.7" }
            .parse()
            .unwrap();
        Box::pin(async move { Ok(vec![ip]) })
    }
}

e2e! {
    async fn a_name_that_rebinds_to_a_private_address_is_refused_at_delivery(backend: Backend) {
        let resolver = Arc::new(Rebinding { lookups: AtomicUsize::new(0) });
        let customize = Customize {
            resolver: resolver.clone(),
            ..Customize::default()
        };
        let app = TestApp::spawn_with(backend, |_| {}, customize).await;
        let job = app.submit(json!({"kind": "echo", "callback_url": "http://rebind.example:8080/hook"})).await;
        let id = job["id"].as_str().unwrap();
        let job = callback_state(&app, id, "failed").await;
        assert!(job["callback"]["last_status_code"].is_null());
        let attempts = deliveries(&app, id).await;
        assert_eq!(attempts.len(), 1, "a refused address is not retried");
        assert_eq!(attempts[0]["error_class"], "blocked_address");
        // The attempt names the class of the address, not the address.
        let error = attempts[0]["error"].as_str().unwrap();
        assert!(error.contains("private") && !error.contains("10.0.0.7"), "{attempts:?}");
        assert!(resolver.lookups.load(Ordering::SeqCst) >= 2, "checked at submit and again at connect");
        eventually(2, "nothing sent", || async { app.receiver.received().is_empty().then_some(()) }).await;
    }
}
