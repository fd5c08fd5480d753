//! Submit-time checks of client-chosen URLs: a name server that never
//! answers cannot hold a submission, and a refusal never tells what an
//! internal name resolves to.

use std::{
    io,
    net::IpAddr,
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use jobcall::Customize;
use jobcall_jobs::outbound::NameResolver;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, TestApp},
};

/// A name server that never answers.
struct Silent;

impl NameResolver for Silent {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        Box::pin(std::future::pending())
    }
}

/// Every name resolves to 10.1.2.3.
struct Internal;

impl NameResolver for Internal {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        Box::pin(async { Ok(vec!["10.1.2.3".parse().unwrap()]) })
    }
}

async fn app_with(backend: Backend, resolver: impl NameResolver) -> TestApp {
    let customize = Customize {
        resolver: std::sync::Arc::new(resolver),
        ..Customize::default()
    };
    TestApp::spawn_with(backend, |s| s.outbound_dns_timeout_ms = 300, customize).await
}

/// The three places a client names a URL, each with the field it is named by.
fn submissions(host: &str) -> [(&'static str, Value, &'static str); 4] {
    let url = format!("http://{host}/hook");
    [
        (
            "/v1/jobs",
            json!({"kind": "echo", "callback_url": url}),
            "callback_url",
        ),
        (
            "/v1/jobs",
            json!({"kind": "http.request", "input": {"url": url}}),
            "input.url",
        ),
        (
            "/v1/jobs",
            json!({"kind": "digest", "input": {"url": url}}),
            "input.url",
        ),
        ("/v1/callbacks/test", json!({"url": url}), "url"),
    ]
}

e2e! {
    async fn a_name_server_that_never_answers_gets_a_400_at_the_deadline(backend: Backend) {
        let app = app_with(backend, Silent).await;
        for (path, body, field) in submissions("silent.example") {
            let started = Instant::now();
            let (status, problem) = app.post(&app.client.token, path, &body).await;
            let took = started.elapsed();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {problem}");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            let message = problem["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("within 300 ms"), "{message}");
            assert!(took < Duration::from_secs(3), "{path} {field} answered after {took:?}");
        }
    }
}

e2e! {
    async fn a_refused_name_is_named_by_its_class_not_its_address(backend: Backend) {
        let app = app_with(backend, Internal).await;
        for (path, body, field) in submissions("internal.example") {
            let (status, problem) = app.post(&app.client.token, path, &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {problem}");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            let text = problem.to_string();
            assert!(text.contains("private address"), "{text}");
            assert!(!text.contains("10.1.2.3"), "{text}");
        }
    }
}
