//! `Prefer: wait=N` on a submission: the finished job at once when it is
//! fast, the usual 202 when it is not, within the client's share of waits.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, TestApp, deployment::Deployment, read_response},
};

/// Submits `body` as `token` with `prefer` (when given): status, headers,
/// body (checked against the spec) and how long the answer took.
async fn submit(
    app: &TestApp,
    token: &str,
    prefer: Option<&str>,
    extra: &[(&str, &str)],
    body: Value,
) -> (StatusCode, HeaderMap, Value, Duration) {
    let mut request = app.request(Method::POST, token, "/v1/jobs").json(&body);
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let took = started.elapsed();
    let headers = response.headers().clone();
    let (status, body) = read_response(Method::POST, "/v1/jobs", response).await;
    (status, headers, body, took)
}

fn applied(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("preference-applied")
        .map(|v| v.to_str().unwrap())
}

e2e! {
    async fn a_fast_job_is_answered_finished_with_200(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.client.token.clone();
        let (status, headers, job, _) = submit(
            &app, &token, Some("wait=10"), &[],
            json!({"kind": "echo", "input": {"message": "quick"}}),
        ).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(job["status"], "succeeded");
        assert_eq!(job["result"], json!({"message": "quick"}));
        assert_eq!(applied(&headers), Some("wait=10"));
        assert_eq!(headers["location"], format!("/v1/jobs/{}", job["id"].as_str().unwrap()));
        assert!(headers.get("retry-after").is_none(), "a finished job needs no polling");

        // A failure is a finished job too; a wait past the longest is cut to it.
        let (status, headers, job, _) = submit(
            &app, &token, Some("respond-async, wait=600"), &[],
            json!({"kind": "echo", "input": {"fail": "no"}, "max_attempts": 1}),
        ).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(job["status"], "failed");
        assert_eq!(applied(&headers), Some("wait=60"));
        app.stop().await;
    }
}

e2e! {
    async fn a_slow_job_is_answered_202_once_the_wait_is_over(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.client.token.clone();
        let (status, headers, job, took) = submit(
            &app, &token, Some("wait=1"), &[],
            json!({"kind": "echo", "input": {"delay_ms": 20_000}}),
        ).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert!(["queued", "running"].contains(&job["status"].as_str().unwrap()), "{job}");
        assert_eq!(applied(&headers), Some("wait=1"), "it did wait");
        assert_eq!(headers["retry-after"], "1");
        assert!(took >= Duration::from_millis(900), "answered after {took:?}");
        assert!(took < Duration::from_secs(10), "answered after {took:?}");
        app.stop().await;
    }
}

e2e! {
    async fn preferences_that_are_not_a_wait_are_ignored(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.client.token.clone();
        for prefer in ["wait=soon", "wait=-3", "wait=0", "respond-async", "return=minimal", ""] {
            let (status, headers, job, took) = submit(
                &app, &token, Some(prefer), &[],
                json!({"kind": "echo", "input": {"delay_ms": 5_000}}),
            ).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{prefer:?}: {job}");
            assert_eq!(applied(&headers), None, "{prefer:?}");
            assert!(took < Duration::from_secs(3), "{prefer:?}: answered after {took:?}");
        }
        app.stop().await;
    }
}

e2e! {
    async fn an_idempotent_replay_waits_too(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.client.token.clone();
        let body = json!({"kind": "echo", "input": {"message": "once"}});
        let (status, _, first, _) = submit(&app, &token, None, &[("Idempotency-Key", "order-7")], body.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, headers, again, _) = submit(
            &app, &token, Some("wait=10"), &[("Idempotency-Key", "order-7")], body,
        ).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["id"], first["id"], "the same job, not a second one");
        assert_eq!(again["status"], "succeeded");
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(applied(&headers), Some("wait=10"));
        app.stop().await;
    }
}

e2e! {
    async fn a_client_at_its_share_of_waits_gets_202_at_once(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |settings| settings.max_waits_per_client = 1,
            jobcall::Customize::default(),
        )
        .await;
        let token = app.client.token.clone();
        let slow = app.submit(json!({"kind": "echo", "input": {"delay_ms": 20_000}})).await;
        // The client's one wait is taken by a long-poll...
        let holder = {
            let request = app.request(
                Method::GET,
                &token,
                &format!("/v1/jobs/{}?wait=30", slow["id"].as_str().unwrap()),
            );
            tokio::spawn(async move { request.send().await })
        };
        crate::support::eventually(10, "the long-poll to hold its place", || async {
            let (_, headers, _, took) = submit(
                &app, &token, Some("wait=1"), &[],
                json!({"kind": "echo", "input": {"delay_ms": 20_000}}),
            ).await;
            (applied(&headers).is_none() && took < Duration::from_millis(900)).then_some(())
        })
        .await;
        // ... so a submission preferring to wait is answered at once.
        let (status, headers, job, took) = submit(
            &app, &token, Some("wait=5"), &[],
            json!({"kind": "echo", "input": {"message": "fast but not waited for"}}),
        ).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert_eq!(applied(&headers), None);
        assert!(took < Duration::from_secs(2), "answered after {took:?}");

        // Another client's waits are its own.
        let other = app.new_client("other").await;
        let (status, headers, job, _) = submit(
            &app, &other.token, Some("wait=10"), &[],
            json!({"kind": "echo", "input": {"message": "mine"}}),
        ).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        assert_eq!(applied(&headers), Some("wait=10"));
        holder.abort();
        app.stop().await;
    }
}

/// A submission to an API process, its job run by a worker process: the
/// finish reaches the waiting request through PostgreSQL's notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_is_woken_by_a_worker_in_another_process() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let deployment = Deployment::new(&backend, &[]).await;
    let api = deployment.start("api", "api").await;
    let _worker = deployment.start("worker", "worker").await;
    let started = Instant::now();
    let response = deployment
        .http
        .post(format!("{}/v1/jobs", api.base))
        .bearer_auth(&deployment.token)
        .header("Prefer", "wait=30")
        .json(&json!({"kind": "echo", "input": {"delay_ms": 300}}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["preference-applied"], "wait=30");
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["status"], "succeeded");
    assert!(
        took < Duration::from_secs(10),
        "woken by the notification, not the deadline: {took:?}"
    );
}
