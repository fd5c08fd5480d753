//! Hostile clients: requests built to make the server spend memory or work
//! out of proportion to what they cost the sender. Each test is one finding
//! of the review, and failed before its fix.

use std::time::{Duration, Instant};

use jobcall::Customize;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, TestApp, eventually, spec::SPEC},
};

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Without a token, 300 requests with made-up methods (one of them 8 KB
/// long) used to add a histogram series each to `/metrics`, for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Every series the burst can touch exists once before it is measured.
    let warm = app
        .http
        .request(Method::from_bytes(b"WARM").unwrap(), app.url("/v1/jobs"));
    warm.send().await.unwrap();
    metrics(&app).await;
    let before = metrics(&app).await.len();
    let long = format!("BREW{}", "X".repeat(8 * 1024));
    let methods: Vec<String> = (0..300).map(|i| format!("BREW{i}")).chain([long]).collect();
    for method in &methods {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .http
            .request(method, app.url("/v1/jobs"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let after = metrics(&app).await;
    assert!(!after.contains("BREW"), "a made-up method is a label");
    assert!(
        after.len() <= before + 1024,
        "/metrics grew from {before} to {} bytes",
        after.len()
    );
    assert!(after.contains(r#"method="other""#), "{after}");
}

/// Posts `body` to `path` and checks the answer is a small 400 listing at
/// most 50 errors (and conforming to the spec); returns the problem.
async fn refused_briefly(app: &TestApp, path: &str, body: String, max_bytes: usize) -> Value {
    let sent = body.len();
    let response = app
        .request(Method::POST, &app.client.token, path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        &text[..text.len().min(500)]
    );
    assert!(
        text.len() <= max_bytes,
        "a {sent}-byte request got a {}-byte answer",
        text.len()
    );
    let problem: Value = serde_json::from_str(&text).unwrap();
    SPEC.check_response("POST", path, 400, "application/problem+json", &problem);
    let errors = problem["errors"].as_array().unwrap();
    assert!(
        !errors.is_empty() && errors.len() <= 50,
        "{} errors",
        errors.len()
    );
    problem
}

/// A JSON object of `n` members `"{prefix}{i}": value`.
fn members(prefix: &str, n: usize, value: &str) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| format!(r#""{prefix}{i}":{value}"#))
        .collect();
    format!("{{{}}}", members.join(","))
}

e2e! {
    /// A 680 KB submission with 340,000 numbers in `callback_events` used to
    /// get a 45.7 MB answer: one error per number.
    async fn invalid_submissions_get_answers_smaller_than_themselves(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let numbers = vec!["1"; 340_000].join(",");
        let events = format!(
            r#"{{"kind":"echo","callback_url":"{}","callback_events":[{numbers}]}}"#,
            app.receiver.url("/hook")
        );
        assert!(events.len() > 680_000);
        let problem = refused_briefly(&app, "/v1/jobs", events, 4096).await;
        assert_eq!(problem["errors"][0]["field"], "callback_events", "{problem}");

        // Many unknown fields: the first 50 are listed, the others counted.
        let unknown = members("colour", 50_000, "1");
        let problem = refused_briefly(&app, "/v1/jobs", unknown, 8192).await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 50);
        assert_eq!(problem["errors_omitted"], 50_000 + 1 - 50, "the missing kind counts too");
        assert!(problem["detail"].as_str().unwrap().contains("50001 found"), "{problem}");

        // Long unknown names are quoted, shortened.
        let long_names = members(&"n".repeat(10_000), 60, "1");
        let problem = refused_briefly(&app, "/v1/jobs", long_names, 16_384).await;
        assert!(problem["errors"][1]["field"].as_str().unwrap().ends_with('…'), "{problem}");

        // A huge metadata object is one error.
        let metadata = format!(r#"{{"kind":"echo","metadata":{}}}"#, members("k", 50_000, "1"));
        let problem = refused_briefly(&app, "/v1/jobs", metadata, 2048).await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "metadata");

        // Inside the input: unknown fields, and http.request's headers.
        let input = format!(r#"{{"kind":"echo","input":{}}}"#, members("u", 20_000, "1"));
        let problem = refused_briefly(&app, "/v1/jobs", input, 8192).await;
        assert!(problem["errors_omitted"].as_u64().unwrap() > 19_000, "{problem}");
        let headers = format!(
            r#"{{"kind":"http.request","input":{{"url":"{}","headers":{}}}}}"#,
            app.receiver.url("/x"),
            members("X-H", 12_000, "[1,2,3]")
        );
        let problem = refused_briefly(&app, "/v1/jobs", headers, 8192).await;
        assert!(problem["errors_omitted"].as_u64().unwrap() > 11_000, "{problem}");

        // The other bodies read field by field.
        let test_send = members("url", 50_000, "1");
        refused_briefly(&app, "/v1/callbacks/test", test_send, 8192).await;

        let (_, page) = app.get(&app.client.token, "/v1/jobs").await;
        assert_eq!(page["data"], json!([]), "nothing invalid was accepted");
        app.stop().await;
    }
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

e2e! {
    /// A test event is an outbound request made while the caller waits, and
    /// a replay one more delivery: both used to count against no rate.
    async fn test_events_and_replays_take_from_the_clients_rate(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.submit_rate_per_client = 3, Customize::default()).await;
        let test_send = || async {
            app.request(Method::POST, &app.client.token, "/v1/callbacks/test")
                .json(&json!({"url": app.receiver.url("/hook")}))
                .send()
                .await
                .unwrap()
        };
        // The clock runs on with the system's too: 3 tokens a second, so
        // four quick requests find the bucket empty at the fourth.
        for _ in 0..3 {
            assert_eq!(test_send().await.status(), StatusCode::OK);
        }
        let limited = test_send().await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after(&limited) >= 1);
        let problem: Value = limited.json().await.unwrap();
        SPEC.check_response("POST", "/v1/callbacks/test", 429, "application/problem+json", &problem);
        assert_eq!(app.receiver.received().len(), 3, "the refused test event was not sent");
        app.advance(Duration::from_secs(1)).await;
        assert_eq!(test_send().await.status(), StatusCode::OK);

        app.advance(Duration::from_secs(1)).await;
        let job = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let id = job["id"].as_str().unwrap();
        app.job_until(id, 20, "the callback", |job| job["callback"]["state"] == "delivered").await;
        app.advance(Duration::from_secs(1)).await;
        let replay = format!("/v1/jobs/{id}/deliveries");
        for _ in 0..3 {
            let (status, body) = app.post(&app.client.token, &replay, &json!({})).await;
            assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        }
        let limited = app.request(Method::POST, &app.client.token, &replay).json(&json!({})).send().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after(&limited) >= 1);
        let (status, problem) = app.post(&app.client.token, &replay, &json!({})).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
        app.advance(Duration::from_secs(1)).await;
        let (status, body) = app.post(&app.client.token, &replay, &json!({})).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        app.stop().await;
    }
}

/// `jobcall_http_long_polls_waiting`, read from `/metrics`.
async fn waiting(app: &TestApp) -> u64 {
    let text = metrics(app).await;
    let line = text
        .lines()
        .find(|l| l.starts_with("jobcall_http_long_polls_waiting "))
        .unwrap_or_else(|| panic!("no long-poll gauge in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn until_waiting(app: &TestApp, n: u64) {
    eventually(10, &format!("{n} long-polls waiting"), || async {
        (waiting(app).await == n).then_some(())
    })
    .await
}

/// A long-poll that runs until it answers (or its task is aborted).
fn long_poll(app: &TestApp, id: &str) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = app.request(
        Method::GET,
        &app.client.token,
        &format!("/v1/jobs/{id}?wait=60"),
    );
    tokio::spawn(async move { request.send().await.unwrap() })
}

e2e! {
    /// 5,000 long-polls of one client used to be 5,000 waiting requests.
    async fn a_clients_long_polls_are_capped_and_the_rest_answer_at_once(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.max_waits_per_client = 3, Customize::default()).await;
        let job = app.submit(json!({"kind": "echo", "input": {"delay_ms": 3_600_000}})).await;
        let id = job["id"].as_str().unwrap().to_owned();
        app.job_until(&id, 10, "running", |job| job["status"] == "running").await;

        let waits: Vec<_> = (0..3).map(|_| long_poll(&app, &id)).collect();
        until_waiting(&app, 3).await;
        let started = Instant::now();
        let response = app.request(Method::GET, &app.client.token, &format!("/v1/jobs/{id}?wait=60")).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "the fourth long-poll waited {:?}", started.elapsed());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let read: Value = response.json().await.unwrap();
        SPEC.check_response("GET", &format!("/v1/jobs/{id}"), 200, "application/json", &read);
        assert_eq!(read["status"], "running");
        // Another client has its own share.
        let other = app.new_client("other").await;
        let (status, _) = app.get(&other.token, &format!("/v1/jobs/{id}?wait=1")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "and sees only its own jobs");

        // The waits end (their 60 s pass): there is room again.
        app.advance(Duration::from_secs(61)).await;
        for wait in waits {
            let response = wait.await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.json::<Value>().await.unwrap()["status"], "running");
        }
        until_waiting(&app, 0).await;
        let waits: Vec<_> = (0..3).map(|_| long_poll(&app, &id)).collect();
        until_waiting(&app, 3).await;

        // Clients that go away give their places back.
        for wait in &waits {
            wait.abort();
        }
        until_waiting(&app, 0).await;
        let again = long_poll(&app, &id);
        until_waiting(&app, 1).await;
        again.abort();
        app.stop().await;
    }
}
