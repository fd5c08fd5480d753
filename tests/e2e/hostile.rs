//! Hostile clients: requests built to make the server spend memory or work
//! out of proportion to what they cost the sender. Each test is one finding
//! of the review, and failed before its fix.

use reqwest::{Method, StatusCode};

use crate::support::{Backend, TestApp};

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
