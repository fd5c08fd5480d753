//! The jobs API: submit, read, long-poll, list, cancel, kinds, health, and
//! every way a request can be wrong.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, TestApp, eventually},
};

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

e2e! {
    async fn a_submitted_job_is_accepted_then_runs_to_success(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let response = app
            .request(Method::POST, &app.client.token, "/v1/jobs")
            .json(&json!({"kind": "echo", "input": {"message": "hello"}, "metadata": {"order": "42"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let job: Value = response.json().await.unwrap();
        let id = job["id"].as_str().unwrap();
        assert!(id.starts_with("job_"), "{id}");
        assert_eq!(location, format!("/v1/jobs/{id}"));
        assert_eq!(job["status"], "queued");
        assert_eq!(job["metadata"], json!({"order": "42"}));
        assert_eq!(job["callback"]["state"], "none");

        let done = app.finished(id).await;
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["result"], json!({"message": "hello"}));
        assert_eq!(done["progress"], 100);
        assert_eq!(done["attempts"], 1);
        assert!(done["started_at"].is_string() && done["finished_at"].is_string());
        app.stop().await;
    }
}

e2e! {
    async fn a_long_poll_returns_as_soon_as_the_job_finishes(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app.submit(json!({"kind": "echo", "input": {"delay_ms": 400}})).await;
        let started = Instant::now();
        let (status, done) = app.get(&app.client.token, &format!("/v1/jobs/{}?wait=20", job["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(done["status"], "succeeded");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}

e2e! {
    async fn a_long_poll_that_times_out_returns_the_current_state(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app.submit(json!({"kind": "echo", "input": {"delay_ms": 10_000}})).await;
        let started = Instant::now();
        let response = app
            .request(Method::GET, &app.client.token, &format!("/v1/jobs/{}?wait=1", job["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let current: Value = response.json().await.unwrap();
        assert!(["queued", "running"].contains(&current["status"].as_str().unwrap()), "{current}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    }
}

e2e! {
    async fn reading_jobs_checks_its_parameters(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app.submit(json!({"kind": "echo"})).await;
        let id = job["id"].as_str().unwrap();
        for (query, field) in [("wait=61", "wait"), ("wait=-1", "wait"), ("wait=soon", "wait"), ("colour=red", "colour")] {
            let (status, problem) = app.get(&app.client.token, &format!("/v1/jobs/{id}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(fields(&problem), [field], "{problem}");
        }
        let (status, problem) = app.get(&app.client.token, "/v1/jobs/job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem["status"], 404);
        let (status, _) = app.get(&app.client.token, "/v1/jobs/not-an-id").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

e2e! {
    async fn jobs_are_listed_newest_first_with_filters_and_cursors(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut echo_ids = Vec::new();
        for i in 0..5 {
            echo_ids.push(app.submit(json!({"kind": "echo", "input": {"message": i}})).await["id"].as_str().unwrap().to_owned());
        }
        let digest = app.submit(json!({"kind": "digest", "input": {"data_base64": "aGk="}})).await;
        for id in &echo_ids {
            app.finished(id).await;
        }
        app.finished(digest["id"].as_str().unwrap()).await;

        let (status, page) = app.get(&app.client.token, "/v1/jobs?kind=echo&limit=2").await;
        assert_eq!(status, StatusCode::OK);
        let ids = |page: &Value| -> Vec<String> {
            page["data"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(ids(&page), [echo_ids[4].clone(), echo_ids[3].clone()]);
        let mut seen = ids(&page);
        let mut cursor = page["next_cursor"].as_str().unwrap().to_owned();
        loop {
            let (_, page) = app.get(&app.client.token, &format!("/v1/jobs?kind=echo&limit=2&cursor={cursor}")).await;
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let mut expected = echo_ids.clone();
        expected.reverse();
        assert_eq!(seen, expected);

        let (_, all) = app.get(&app.client.token, "/v1/jobs?status=succeeded").await;
        assert_eq!(all["data"].as_array().unwrap().len(), 6);
        assert!(all["next_cursor"].is_null());
        let (_, none) = app.get(&app.client.token, "/v1/jobs?status=failed").await;
        assert_eq!(none["data"], json!([]));

        for (query, field) in [
            ("status=exploded", "status"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=nope", "cursor"),
            ("page=2", "page"),
            ("limit=1&limit=2", "limit"),
        ] {
            let (status, problem) = app.get(&app.client.token, &format!("/v1/jobs?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
            assert_eq!(fields(&problem), [field], "{query}: {problem}");
        }
    }
}

e2e! {
    async fn a_queued_job_is_canceled_at_once(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.worker_concurrency = 1, Default::default()).await;
        let blocker = app.submit(json!({"kind": "echo", "input": {"delay_ms": 3000}})).await;
        app.job_until(blocker["id"].as_str().unwrap(), 10, "the blocker to run", |j| j["status"] == "running").await;
        let queued = app.submit(json!({"kind": "echo"})).await;
        let id = queued["id"].as_str().unwrap();
        let (status, canceled) = app.post(&app.client.token, &format!("/v1/jobs/{id}/cancel"), &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{canceled}");
        assert_eq!(canceled["status"], "canceled");
        assert_eq!(canceled["error"]["code"], "canceled");
        let (status, problem) = app.post(&app.client.token, &format!("/v1/jobs/{id}/cancel"), &json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(problem["detail"].as_str().unwrap().contains("canceled"), "{problem}");
        // The worker later finds the job canceled and leaves it so.
        app.finished(blocker["id"].as_str().unwrap()).await;
        assert_eq!(app.job(id).await["status"], "canceled");
        let (status, _) = app.post(&app.client.token, "/v1/jobs/job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z/cancel", &json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

e2e! {
    async fn a_running_job_is_canceled_cooperatively(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app.submit(json!({"kind": "echo", "input": {"delay_ms": 30_000}})).await;
        let id = job["id"].as_str().unwrap();
        app.job_until(id, 10, "the job to run", |j| j["status"] == "running").await;
        let (status, requested) = app.post(&app.client.token, &format!("/v1/jobs/{id}/cancel"), &json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{requested}");
        let started = Instant::now();
        let done = app.finished(id).await;
        assert_eq!(done["status"], "canceled");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}

e2e! {
    async fn idempotency_keys_replay_the_same_job_and_refuse_other_requests(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({"kind": "echo", "input": {"message": "once"}});
        let submit = |key: &'static str, body: Value, token: String| {
            let request = app.request(Method::POST, &token, "/v1/jobs").header("Idempotency-Key", key).json(&body);
            async move { request.send().await.unwrap() }
        };
        let first = submit("order-1", body.clone(), app.client.token.clone()).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let first: Value = first.json().await.unwrap();
        let again = submit("order-1", json!({"input": {"message": "once"}, "kind": "echo"}), app.client.token.clone()).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

        let conflict = submit("order-1", json!({"kind": "echo", "input": {"message": "twice"}}), app.client.token.clone()).await;
        assert_eq!(conflict.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let other_key = submit("order-2", body.clone(), app.client.token.clone()).await.json::<Value>().await.unwrap();
        assert_ne!(other_key["id"], first["id"]);
        let other_client = app.new_client("other").await;
        let theirs = submit("order-1", body.clone(), other_client.token.clone()).await;
        assert_eq!(theirs.status(), StatusCode::ACCEPTED, "keys are per client");
        assert_ne!(theirs.json::<Value>().await.unwrap()["id"], first["id"]);

        let bad = submit("has space", body, app.client.token.clone()).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(fields(&bad.json().await.unwrap()), ["Idempotency-Key"]);
    }
}

e2e! {
    async fn invalid_submissions_name_every_bad_field(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let cases = [
            (json!({"kind": "echo", "inputs": {}}), vec!["inputs"]),
            (json!({"input": {}}), vec!["kind"]),
            (json!({"kind": 7}), vec!["kind"]),
            (json!({"kind": "transcode"}), vec!["kind"]),
            (json!({"kind": "echo", "input": {"delay_ms": "soon", "colour": 1}}), vec!["input.colour", "input.delay_ms"]),
            (json!({"kind": "echo", "input": []}), vec!["input"]),
            (json!({"kind": "http.request", "input": {}}), vec!["input.url"]),
            (json!({"kind": "echo", "callback_url": "ftp://example.com"}), vec!["callback_url"]),
            (json!({"kind": "echo", "callback_url": "http://10.1.2.3/hook"}), vec!["callback_url"]),
            (json!({"kind": "echo", "callback_url": "http://user:pw@127.0.0.1/"}), vec!["callback_url"]),
            (json!({"kind": "echo", "callback_events": ["job.started"]}), vec!["callback_events"]),
            (json!({"kind": "echo", "callback_url": "http://127.0.0.1:1/", "callback_events": ["job.lost"]}), vec!["callback_events.0"]),
            (json!({"kind": "echo", "metadata": {"team": 5}}), vec!["metadata.team"]),
            (json!({"kind": "echo", "metadata": "x"}), vec!["metadata"]),
            (json!({"kind": "echo", "timeout_seconds": 0}), vec!["timeout_seconds"]),
            (json!({"kind": "echo", "max_attempts": 100}), vec!["max_attempts"]),
            (json!({"kind": "echo", "max_attempts": 1.5}), vec!["max_attempts"]),
        ];
        for (body, expected) in cases {
            let (status, problem) = app.post(&app.client.token, "/v1/jobs", &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
            assert_eq!(problem["type"], "urn:jobcall:problem:validation-error");
            let mut found = fields(&problem);
            found.sort();
            assert_eq!(found, expected, "{body}: {problem}");
        }
        let (_, page) = app.get(&app.client.token, "/v1/jobs").await;
        assert_eq!(page["data"], json!([]), "nothing invalid was accepted");
    }
}

e2e! {
    async fn unreadable_bodies_are_refused_with_problems(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let post = |content_type: &'static str, body: Vec<u8>| {
            app.request(Method::POST, &app.client.token, "/v1/jobs").header(header::CONTENT_TYPE, content_type).body(body).send()
        };
        let too_big = post("application/json", format!(r#"{{"kind":"echo","input":{{"message":"{}"}}}}"#, "x".repeat(2 * 1024 * 1024)).into_bytes()).await.unwrap();
        assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_big.headers()[header::CONTENT_TYPE], "application/problem+json");
        let form = post("application/x-www-form-urlencoded", b"kind=echo".to_vec()).await.unwrap();
        assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let broken = post("application/json", b"{\"kind\": ".to_vec()).await.unwrap();
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        let array = post("application/json; charset=utf-8", b"[1,2]".to_vec()).await.unwrap();
        assert_eq!(array.status(), StatusCode::BAD_REQUEST);
        let problem: Value = array.json().await.unwrap();
        assert_eq!(problem["title"], "The request cannot be read");
    }
}

e2e! {
    async fn unknown_routes_and_methods_answer_problems(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.request(Method::GET, &app.client.token, "/v2/everything").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let response = app.request(Method::DELETE, &app.client.token, "/v1/jobs").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
        let response = app.request(Method::PUT, &app.client.token, "/v1/jobs/job_x/cancel").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}

e2e! {
    async fn execution_retries_failures_that_allow_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let flaky = app
            .submit(json!({"kind": "echo", "max_attempts": 3, "input": {"fail": "flaky", "retryable": true, "fail_attempts": 2}}))
            .await;
        let permanent = app.submit(json!({"kind": "echo", "max_attempts": 3, "input": {"fail": "broken"}})).await;
        let exhausted = app.submit(json!({"kind": "echo", "max_attempts": 2, "input": {"fail": "always", "retryable": true}})).await;
        let flaky = app.finished(flaky["id"].as_str().unwrap()).await;
        assert_eq!((flaky["status"].as_str(), flaky["attempts"].as_i64()), (Some("succeeded"), Some(3)));
        assert!(flaky["error"].is_null(), "{flaky}");
        let permanent = app.finished(permanent["id"].as_str().unwrap()).await;
        assert_eq!((permanent["status"].as_str(), permanent["attempts"].as_i64()), (Some("failed"), Some(1)));
        assert_eq!(permanent["error"], json!({"code": "echo_failed", "message": "broken"}));
        let exhausted = app.finished(exhausted["id"].as_str().unwrap()).await;
        assert_eq!((exhausted["status"].as_str(), exhausted["attempts"].as_i64()), (Some("failed"), Some(2)));
    }
}

e2e! {
    async fn a_job_that_runs_too_long_times_out(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let job = app.submit(json!({"kind": "echo", "timeout_seconds": 1, "max_attempts": 1, "input": {"delay_ms": 30_000}})).await;
        let done = app.finished(job["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed");
        assert_eq!(done["error"]["code"], "timeout");
    }
}

e2e! {
    async fn http_request_and_digest_reach_real_servers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.receiver.always(crate::support::Reply::Body(201, "made it".into()));
        let request = app
            .submit(json!({"kind": "http.request", "input": {
                "method": "POST", "url": app.receiver.url("/things"), "headers": {"X-Trace": "t1"}, "body": "payload"
            }}))
            .await;
        let done = app.finished(request["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"]["status"], 201);
        assert_eq!(done["result"]["body"], "made it");
        let seen = &app.receiver.received()[0];
        assert_eq!((seen.method.as_str(), seen.path.as_str(), seen.body.as_str()), ("POST", "/things", "payload"));
        assert_eq!(seen.header("x-trace"), "t1");

        let digest = app.submit(json!({"kind": "digest", "input": {"url": app.receiver.url("/file")}})).await;
        let done = app.finished(digest["id"].as_str().unwrap()).await;
        assert_eq!(done["result"]["bytes"], 7);
        assert_eq!(done["result"]["sha256"], sha256_hex(b"made it"));
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

e2e! {
    async fn kinds_are_described_with_their_input_schemas(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (status, kinds) = app.get(&app.client.token, "/v1/kinds").await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<_> = kinds["data"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["digest", "echo", "http.request"]);
        let echo = &kinds["data"][1];
        assert_eq!(echo["input_schema"]["properties"]["delay_ms"]["maximum"], 3_600_000);
        assert!(echo["description"].as_str().unwrap().contains("input"));
    }
}

e2e! {
    async fn health_readiness_and_the_spec_are_served(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let health = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        let ready = eventually(10, "readiness", || async {
            let response = app.http.get(app.url("/readyz")).send().await.unwrap();
            (response.status() == StatusCode::OK).then_some(())
        });
        ready.await;
        let spec = app.http.get(app.url("/openapi.yaml")).send().await.unwrap();
        assert_eq!(spec.status(), StatusCode::OK);
        assert_eq!(spec.headers()[header::CONTENT_TYPE], "application/yaml");
        assert!(spec.text().await.unwrap().starts_with("openapi: 3.1"));
        let docs = app.http.get(app.url("/docs")).send().await.unwrap();
        assert_eq!(docs.status(), StatusCode::OK);
        assert_eq!(docs.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let page = docs.text().await.unwrap();
        assert!(page.contains(r#"spec-url="/openapi.yaml""#) && page.contains(r#"src="/docs/redoc.standalone.js""#));
        assert!(!page.contains("https://"), "the page loads nothing from elsewhere");
        let script = app.http.get(app.url("/docs/redoc.standalone.js")).send().await.unwrap();
        assert_eq!(script.headers()[header::CONTENT_TYPE], "application/javascript");
        assert!(script.bytes().await.unwrap().len() > 500_000);
    }
}

e2e! {
    async fn request_ids_are_echoed_or_generated(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let given = app.http.get(app.url("/healthz")).header("X-Request-Id", "trace-123").send().await.unwrap();
        assert_eq!(given.headers()["x-request-id"], "trace-123");
        let generated = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(generated.headers()["x-request-id"].len(), 26);
        let unsafe_id = app.http.get(app.url("/healthz")).header("X-Request-Id", "a b").send().await.unwrap();
        assert_ne!(unsafe_id.headers()["x-request-id"], "a b");
    }
}
