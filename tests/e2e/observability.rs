//! Metrics and logs: what an operator sees.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::{
    e2e,
    support::{
        Backend, Receiver, Reply, TestApp,
        deployment::Deployment,
        eventually,
        process::{log_file, log_lines, run_logged},
    },
};

/// `name{labels} value` lines of the exposition, by series.
fn series(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

e2e! {
    async fn metrics_count_jobs_callbacks_and_requests(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.script([Reply::Status(503)]);
        let mut ids = Vec::new();
        for body in [
            json!({"kind": "echo", "callback_url": app.receiver.url("/hook")}),
            json!({"kind": "echo", "callback_url": app.receiver.url("/hook")}),
            json!({"kind": "echo", "input": {"fail": "no"}}),
        ] {
            ids.push(app.submit(body).await["id"].as_str().unwrap().to_owned());
        }
        for id in &ids {
            app.finished(id).await;
        }
        app.receiver.wait_for(3, 20).await;
        let text = eventually(20, "the callbacks in the metrics", || async {
            let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
            series(&text)
                .get(r#"jobcall_callback_attempts_total{outcome="delivered"}"#)
                .is_some_and(|n| *n >= 2.0)
                .then_some(text)
        })
        .await;
        let values = series(&text);
        assert_eq!(values[r#"jobcall_jobs_submitted_total{kind="echo"}"#], 3.0);
        assert_eq!(values[r#"jobcall_jobs_finished_total{kind="echo",status="succeeded"}"#], 2.0);
        assert_eq!(values[r#"jobcall_jobs_finished_total{kind="echo",status="failed"}"#], 1.0);
        assert_eq!(values[r#"jobcall_job_run_seconds_count{kind="echo"}"#], 3.0);
        assert_eq!(values[r#"jobcall_callback_attempts_total{outcome="http_status"}"#], 1.0);
        assert_eq!(values["jobcall_callback_delivery_latency_seconds_count"], 2.0);
        assert!(values.contains_key(r#"jobcall_queue_depth{queue="execute"}"#), "{text}");
        assert!(values.contains_key(r#"jobcall_queue_oldest_age_seconds{queue="deliver"}"#), "{text}");
        let submits = values
            .iter()
            .find(|(k, _)| k.starts_with("jobcall_http_request_duration_seconds_count") && k.contains(r#"route="/v1/jobs""#) && k.contains(r#"status="202""#))
            .map(|(_, v)| *v);
        assert_eq!(submits, Some(3.0), "{text}");
        assert!(!text.contains("job_0") && !text.contains("127.0.0.1"), "no ids or URLs as labels");
    }
}

/// Every span of a JSON log line, flattened into one map of fields.
pub fn span_fields(line: &Value) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for span in line["spans"].as_array().into_iter().flatten() {
        for (key, value) in span.as_object().unwrap() {
            fields.insert(
                key.clone(),
                value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string()),
            );
        }
    }
    fields
}

e2e! {
    async fn log_lines_carry_the_request_and_the_job(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let receiver = Receiver::start().await;
        let server = deployment.start("serve", "serve").await;
        let response = deployment
            .http
            .post(format!("{}/v1/jobs", server.base))
            .bearer_auth(&deployment.token)
            .header("X-Request-Id", "trace-observability-1")
            .json(&json!({"kind": "echo", "callback_url": receiver.url("/hook")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-observability-1");
        let job: Value = response.json().await.unwrap();
        let id = job["id"].as_str().unwrap();
        receiver.wait_for_event("job.succeeded", 10).await;
        let lines = eventually(10, "the delivery log line", || async {
            let lines = log_lines(&server.log);
            lines.iter().any(|l| l["message"] == "callback delivered").then_some(lines)
        })
        .await;
        for message in ["job accepted", "attempt succeeded", "callback delivered"] {
            let line = lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no `{message}` line"));
            let mut fields = span_fields(line);
            if let Some(job_id) = line["job_id"].as_str() {
                fields.insert("job_id".into(), job_id.into());
            }
            assert_eq!(fields.get("request_id").map(String::as_str), Some("trace-observability-1"), "{message}: {line}");
            assert_eq!(fields.get("job_id").map(String::as_str), Some(id), "{message}: {line}");
            assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
        }
        assert!(!std::fs::read_to_string(&server.log).unwrap().contains('\u{1b}'), "escape codes in the JSON log");

        // The human-readable format, written to a file: no colour codes.
        let pretty = log_file(deployment.dir.path(), "pretty");
        let mut env = deployment.env.clone();
        env.push(("JOBCALL_LOG_FORMAT".into(), "pretty".into()));
        run_logged(&["migrate"], &env, &pretty);
        let text = std::fs::read_to_string(&pretty).unwrap();
        assert!(text.contains("migrations applied"), "{text}");
        assert!(!text.contains("\u{1b}["), "escape codes in a log written to a file: {text:?}");
    }
}

e2e! {
    async fn a_worker_only_process_reports_its_health_and_metrics(backend: Backend) {
        let deployment = Deployment::new(&backend, &[]).await;
        let worker = deployment.start("worker", "worker").await;
        let ready: Value = eventually(10, "readiness", || async {
            let response = deployment.http.get(format!("{}/readyz", worker.base)).send().await.unwrap();
            (response.status() == 200).then_some(())?;
            response.json().await.ok()
        })
        .await;
        assert_eq!(ready["checks"]["workers"], "ok");
        eventually(10, "the queue gauges", || async {
            let metrics = deployment.http.get(format!("{}/metrics", worker.base)).send().await.unwrap();
            assert_eq!(metrics.status(), 200);
            metrics.text().await.unwrap().contains("jobcall_queue_depth").then_some(())
        })
        .await;
        let jobs = deployment.http.get(format!("{}/v1/jobs", worker.base)).bearer_auth(&deployment.token).send().await.unwrap();
        assert_eq!(jobs.status(), 404, "a worker does not serve the API");
    }
}
