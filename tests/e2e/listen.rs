//! `jobcall listen`: the real binary receives callbacks from a real server
//! and prints one line per callback, checking signatures with a `whpk_`
//! public key or a `whsec_` secret.

use std::{process::Stdio, time::Duration};

use jobcall_entity::ClientId;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::support::{Backend, TestApp, process::BINARY};

/// A running `jobcall listen`, and its printed lines.
struct Listener {
    url: String,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl Listener {
    async fn start(args: &[&str]) -> Listener {
        let mut child = Command::new(BINARY)
            .arg("listen")
            .args(["--port", "0"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("jobcall listen starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = stderr.next_line().await.unwrap() {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
            }
            panic!("jobcall listen exited without listening");
        })
        .await
        .expect("jobcall listen says where it listens");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Listener {
            url,
            lines,
            _child: child,
        }
    }

    async fn next_line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("a callback is printed")
            .unwrap()
            .expect("jobcall listen is still running")
    }
}

/// Submits an echo job as `token` whose started and succeeded events go to
/// `url`; returns its id.
async fn submit(app: &TestApp, token: &str, url: &str) -> String {
    let (_, job) = app
        .post(
            token,
            "/v1/jobs",
            &json!({
                "kind": "echo",
                "callback_url": format!("{url}/hook"),
                "callback_events": ["job.started", "job.succeeded"]
            }),
        )
        .await;
    job["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobcall_listen_prints_each_callback_and_checks_its_signature() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, created) = app
        .post(
            &app.client.token,
            "/v1/clients",
            &json!({"name": "listening", "signatures": ["v1", "v1a"]}),
        )
        .await;
    let id = ClientId::parse(created["id"].as_str().unwrap()).unwrap();
    let token = app.token(&id, &[jobcall_api::auth::Scope::JobsWrite]);
    let public_key = created["signing_public_key"].as_str().unwrap();

    // With the client's public key (v1a), as JSON lines.
    let mut by_key = Listener::start(&["--secret", public_key, "--json"]).await;
    let job_id = submit(&app, &token, &by_key.url).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let line: Value = serde_json::from_str(&by_key.next_line().await).unwrap();
        assert_eq!(line["job_id"], job_id.as_str(), "{line}");
        assert_eq!(line["signature"], "valid", "{line}");
        assert_eq!(line["path"], "/hook");
        let latency = line["latency_ms"].as_i64().unwrap();
        assert!((0..10_000).contains(&latency), "{line}");
        seen.push((line["type"].clone(), line["status"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("job.started"), json!("running")),
            (json!("job.succeeded"), json!("succeeded"))
        ]
    );

    // With another client's secret: invalid, said so.
    let mut wrong = Listener::start(&["--secret", &app.client.signing_secret, "--json"]).await;
    submit(&app, &token, &wrong.url).await;
    let line: Value = serde_json::from_str(&wrong.next_line().await).unwrap();
    assert_eq!(line["signature"], "invalid", "{line}");
    assert_eq!(line["reason"], "no signature matches the key");

    // Unchecked, for a person: one readable line per callback.
    let mut plain = Listener::start(&[]).await;
    let job_id = submit(&app, &token, &plain.url).await;
    let started = plain.next_line().await;
    let succeeded = plain.next_line().await;
    for (line, event, status) in [
        (&started, "job.started", "running"),
        (&succeeded, "job.succeeded", "succeeded"),
    ] {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..3], [event, job_id.as_str(), status], "{line}");
        assert!(line.ends_with("signature unchecked"), "{line}");
        assert!(line.contains(" ms "), "{line}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobcall_listen_refuses_a_key_that_is_not_one() {
    let output = Command::new(BINARY)
        .args(["listen", "--port", "0", "--secret", "whpk_short"])
        .env_clear()
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--secret"), "{stderr}");
}
