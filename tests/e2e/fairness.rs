//! Fair shares: one client's flood of slow jobs and of callbacks to a
//! receiver that hangs (under any number of names) does not hold up
//! another client's jobs or callbacks.

use std::{
    io,
    net::IpAddr,
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use jobcall::Customize;
use jobcall_jobs::outbound::NameResolver;
use serde_json::json;

use crate::{
    e2e,
    support::{Backend, Receiver, Reply, TestApp},
};

/// Every name is this machine: wildcard DNS, as an attacker would set up.
struct EveryNameIsLoopback;

impl NameResolver for EveryNameIsLoopback {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
    }
}

e2e! {
    async fn a_flooding_client_does_not_hold_up_another(backend: Backend) {
        let customize = Customize {
            resolver: std::sync::Arc::new(EveryNameIsLoopback),
            ..Customize::default()
        };
        let app = TestApp::spawn_with(
            backend,
            |s| {
                s.worker_concurrency = 8;
                s.callback_concurrency = 8;
                s.callback_receiver_concurrency = 2;
                // Longer than the test: the hanging receiver never lets go of a slot.
                s.callback_timeout_ms = 20_000;
            },
            customize,
        )
        .await;
        let flooder = app.new_client("flooder").await;
        let hanging = Receiver::start().await;
        hanging.always(Reply::Hang);
        let port = hanging.url("/").split(':').nth(2).unwrap().trim_end_matches('/').to_owned();

        // Callbacks to a receiver that never answers, each under a name of its own.
        for i in 0..40 {
            let url = format!("http://a{i}.flood.test:{port}/hook");
            let (status, body) = app.post(&flooder.token, "/v1/jobs", &json!({"kind": "echo", "callback_url": url})).await;
            assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
        }
        // And jobs that hold a worker for a long while.
        for _ in 0..500 {
            let (status, body) = app.post(&flooder.token, "/v1/jobs", &json!({"kind": "echo", "input": {"delay_ms": 30000}})).await;
            assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
        }
        hanging.wait_for(2, 10).await;

        let started = Instant::now();
        let mut ids = Vec::new();
        for i in 0..5 {
            let job = app.submit(json!({"kind": "echo", "input": {"message": i}, "callback_url": app.receiver.url("/hook")})).await;
            ids.push(job["id"].as_str().unwrap().to_owned());
        }
        for id in &ids {
            let job = app.finished(id).await;
            assert_eq!(job["status"], "succeeded");
        }
        let ran = started.elapsed();
        assert!(ran < Duration::from_secs(2), "the other client's jobs took {ran:?}");
        app.receiver.wait_for(5, 10).await;
        let delivered = started.elapsed();
        assert!(delivered < Duration::from_secs(3), "its callbacks took {delivered:?}");
        assert_eq!(hanging.received().len(), 2, "at most 2 at once at the hanging receiver, however it is named");
    }
}
