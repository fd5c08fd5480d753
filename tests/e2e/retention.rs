//! Retention: finished jobs are deleted with everything stored about them
//! once their client's retention has passed, never while their callbacks
//! are still being delivered; `DELETE /v1/jobs/{id}` erases one now; an
//! admin sets a client's own retention.

use std::time::Duration;

use jobcall::Customize;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, Reply, TestApp, eventually},
};

const HOUR: u64 = 3600;

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        |s| {
            s.retention_seconds = HOUR;
            s.retention_failed_seconds = 2 * HOUR;
            s.retention_sweep_interval_ms = 200;
        },
        Customize::default(),
    )
    .await
}

async fn status_of(app: &TestApp, token: &str, id: &str) -> StatusCode {
    app.get(token, &format!("/v1/jobs/{id}")).await.0
}

/// A sample of one metric from `/metrics`, 0 when absent.
async fn metric(app: &TestApp, line_start: &str) -> f64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(line_start))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

e2e! {
    async fn finished_jobs_are_deleted_once_their_retention_has_passed(backend: Backend) {
        let app = spawn(backend).await;
        let token = app.client.token.clone();
        let id = |job: &Value| job["id"].as_str().unwrap().to_owned();
        let succeeded = id(&app.submit(json!({"kind": "echo"})).await);
        let failed = id(&app.submit(json!({"kind": "echo", "input": {"fail": "no"}})).await);
        // A receiver that asks for an hour's pause keeps this job's callback pending.
        app.receiver.always(Reply::WithHeader(503, "retry-after", "3600".into()));
        let pending = id(&app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await);
        let keeper = app.new_client("keeper").await;
        let (status, _) = app.request(Method::PATCH, &token, &format!("/v1/clients/{}", keeper.id))
            .json(&json!({"retention_seconds": 0}))
            .send()
            .await
            .map(|r| (r.status(), ()))
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let (_, kept) = app.post(&keeper.token, "/v1/jobs", &json!({"kind": "echo"})).await;
        let kept = id(&kept);
        for job in [&succeeded, &failed, &pending] {
            app.finished(job).await;
        }
        app.job_until(&pending, 10, "a failing callback", |j| j["callback"]["state"] == "failing").await;
        eventually(10, "the keeper's job to finish", || async {
            let (_, job) = app.get(&keeper.token, &format!("/v1/jobs/{kept}")).await;
            (job["status"] == "succeeded").then_some(())
        })
        .await;

        app.advance(Duration::from_secs(HOUR + 60)).await;
        eventually(10, "the succeeded job to be deleted", || async {
            (status_of(&app, &token, &succeeded).await == StatusCode::NOT_FOUND).then_some(())
        })
        .await;
        let (status, _) = app.get(&token, &format!("/v1/jobs/{succeeded}/deliveries")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(status_of(&app, &token, &failed).await, StatusCode::OK, "failed jobs are kept longer");
        assert_eq!(status_of(&app, &token, &pending).await, StatusCode::OK, "its callback is still being delivered");
        assert_eq!(status_of(&app, &keeper.token, &kept).await, StatusCode::OK, "its client keeps jobs forever");

        app.advance(Duration::from_secs(HOUR)).await;
        eventually(10, "the failed job to be deleted", || async {
            (status_of(&app, &token, &failed).await == StatusCode::NOT_FOUND).then_some(())
        })
        .await;
        assert_eq!(status_of(&app, &token, &pending).await, StatusCode::OK);
        assert_eq!(status_of(&app, &keeper.token, &kept).await, StatusCode::OK);
        assert!(metric(&app, "jobcall_rows_purged_total{table=\"jobs\"}").await >= 2.0);
        // The sweep ran to its end: it samples the database's size last.
        assert!(metric(&app, "jobcall_database_size_bytes").await > 0.0);
    }
}

e2e! {
    async fn a_finished_job_can_be_erased_at_once(backend: Backend) {
        let app = spawn(backend).await;
        let token = app.client.token.clone();
        let done = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let done = done["id"].as_str().unwrap();
        app.finished(done).await;
        app.job_until(done, 10, "the callback delivered", |j| j["callback"]["state"] == "delivered").await;
        let erase = |id: String, token: String| {
            let request = app.request(Method::DELETE, &token, &format!("/v1/jobs/{id}"));
            let id = id.clone();
            async move {
                let response = request.send().await.unwrap();
                crate::support::read_response(Method::DELETE, &format!("/v1/jobs/{id}"), response).await
            }
        };
        let other = app.new_client("other").await;
        assert_eq!(erase(done.into(), other.token.clone()).await.0, StatusCode::NOT_FOUND, "another client's job");
        assert_eq!(erase(done.into(), token.clone()).await.0, StatusCode::NO_CONTENT);
        assert_eq!(status_of(&app, &token, done).await, StatusCode::NOT_FOUND);
        assert_eq!(erase(done.into(), token.clone()).await.0, StatusCode::NOT_FOUND);

        let running = app.submit(json!({"kind": "echo", "input": {"delay_ms": 60000}})).await;
        let running = running["id"].as_str().unwrap();
        app.job_until(running, 10, "running", |j| j["status"] == "running").await;
        let (status, problem) = erase(running.into(), token.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("running"), "{problem}");
        app.post(&token, &format!("/v1/jobs/{running}/cancel"), &json!({})).await;
        app.finished(running).await;
        assert_eq!(erase(running.into(), token.clone()).await.0, StatusCode::NO_CONTENT);

        // While its callback is being retried, a job is not erased.
        app.receiver.always(Reply::WithHeader(503, "retry-after", "3600".into()));
        let pending = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let pending = pending["id"].as_str().unwrap();
        app.job_until(pending, 10, "a failing callback", |j| j["callback"]["state"] == "failing").await;
        assert_eq!(erase(pending.into(), token.clone()).await.0, StatusCode::CONFLICT);
    }
}

e2e! {
    async fn an_admin_sets_a_clients_retention(backend: Backend) {
        let app = spawn(backend).await;
        let other = app.new_client("other").await;
        let path = format!("/v1/clients/{}", other.id);
        let patch = |token: &str, body: Value| {
            let request = app.request(Method::PATCH, token, &path).json(&body);
            let path = path.clone();
            async move {
                let response = request.send().await.unwrap();
                crate::support::read_response(Method::PATCH, &path, response).await
            }
        };
        let (status, client) = patch(&app.client.token, json!({"retention_seconds": 60, "retention_failed_seconds": 0})).await;
        assert_eq!(status, StatusCode::OK, "{client}");
        assert_eq!((client["retention_seconds"].as_i64(), client["retention_failed_seconds"].as_i64()), (Some(60), Some(0)));
        assert!(client.get("signing_secret").is_none());
        let (_, client) = patch(&app.client.token, json!({"retention_seconds": null})).await;
        assert_eq!(client["retention_seconds"], Value::Null, "null is the server's default");
        assert_eq!(client["retention_failed_seconds"], 0, "a field left out is unchanged");
        for (body, field) in [
            (json!({"retention_seconds": -1}), "retention_seconds"),
            (json!({"retention_failed_seconds": "a week"}), "retention_failed_seconds"),
            (json!({"retention": 60}), "retention"),
        ] {
            let (status, problem) = patch(&app.client.token, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        assert_eq!(patch(&other.token, json!({"retention_seconds": 1})).await.0, StatusCode::FORBIDDEN);
        let (status, _) = app
            .request(Method::PATCH, &app.client.token, "/v1/clients/cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z")
            .json(&json!({"retention_seconds": 1}))
            .send()
            .await
            .map(|r| (r.status(), ()))
            .unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// SQLite gives the space of deleted jobs back to the file system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gives_the_space_of_deleted_jobs_back() {
    let app = spawn(Backend::Sqlite).await;
    let payload = "x".repeat(100 * 1024);
    let mut ids = Vec::new();
    for _ in 0..60 {
        let job = app
            .submit(json!({"kind": "echo", "input": {"message": payload}}))
            .await;
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        app.finished(id).await;
    }
    let size = || async { metric(&app, "jobcall_database_size_bytes").await };
    let full = eventually(10, "a size sample", || async {
        let bytes = size().await;
        (bytes > 10_000_000.0).then_some(bytes)
    })
    .await;
    app.advance(Duration::from_secs(HOUR + 60)).await;
    let emptied = eventually(15, "the file to shrink", || async {
        let bytes = size().await;
        (bytes < full / 4.0).then_some(bytes)
    })
    .await;
    assert!(emptied < full / 4.0, "{full} -> {emptied}");
}
