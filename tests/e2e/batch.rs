//! `POST /v1/jobs/batch`: many submissions in one request, one result per
//! item in request order, idempotency per item, limits on the whole.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, TestApp, read_response},
};

async fn batch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post(token, "/v1/jobs/batch", &body).await
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

e2e! {
    async fn each_item_is_a_job_or_a_problem_in_request_order(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let hook = app.receiver.url("/hook");
        let (status, result) = batch(&app, &app.client.token, json!({"jobs": [
            {"kind": "echo", "input": {"message": "first"}},
            {"kind": "echo", "input": {"delay_ms": -1}},
            {"kind": "echo", "callback_url": "http://10.1.2.3/hook"},
            {"kind": "echo", "input": {"message": "third"}, "callback_url": hook, "metadata": {"n": "3"}},
            {"kind": "transcode"},
        ]})).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        let data = result["data"].as_array().unwrap();
        assert_eq!(data.len(), 5);
        let statuses: Vec<_> = data.iter().map(|item| item["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, [202, 400, 400, 202, 400]);
        assert_eq!(data[0]["job"]["input"], json!({"message": "first"}));
        assert_eq!(data[3]["job"]["metadata"], json!({"n": "3"}));
        assert_eq!(fields(&data[1]["error"]), ["jobs[1].input.delay_ms"]);
        assert_eq!(fields(&data[2]["error"]), ["jobs[2].callback_url"]);
        assert_eq!(fields(&data[4]["error"]), ["jobs[4].kind"]);
        assert_eq!(data[1]["error"]["type"], "urn:jobcall:problem:validation-error");

        // The accepted ones run as any job does, callbacks included.
        for item in [&data[0], &data[3]] {
            let done = app.finished(item["job"]["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "succeeded");
        }
        app.receiver.wait_for_event("job.succeeded", 20).await;
        let (_, list) = app.get(&app.client.token, "/v1/jobs?limit=100").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 2, "only the valid items became jobs");
        app.stop().await;
    }
}

e2e! {
    async fn idempotency_keys_are_per_item(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.client.token.clone();
        let (status, first) = batch(&app, &token, json!({"jobs": [
            {"kind": "echo", "input": {"message": 1}, "idempotency_key": "order-1"},
            {"kind": "echo", "input": {"message": 2}},
            // The same key twice in one batch: the same job.
            {"kind": "echo", "input": {"message": 1}, "idempotency_key": "order-1"},
        ]})).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let data = first["data"].as_array().unwrap();
        assert_eq!(data[0]["replayed"], false);
        assert_eq!(data[2]["status"], 202);
        assert_eq!(data[2]["replayed"], true);
        assert_eq!(data[2]["job"]["id"], data[0]["job"]["id"]);
        // A key that is not a key is a malformed item: the batch is refused.
        let (status, problem) = batch(&app, &token, json!({"jobs": [
            {"kind": "echo", "idempotency_key": "bad key"},
        ]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&problem), ["jobs[0].idempotency_key"]);

        // Again: the keyed job is replayed; a key reused for another job is 422.
        let (_, again) = batch(&app, &token, json!({"jobs": [
            {"kind": "echo", "input": {"message": 1}, "idempotency_key": "order-1"},
            {"kind": "echo", "input": {"message": 9}, "idempotency_key": "order-1"},
        ]})).await;
        let again = again["data"].as_array().unwrap();
        assert_eq!(again[0]["status"], 202);
        assert_eq!(again[0]["replayed"], true);
        assert_eq!(again[0]["job"]["id"], data[0]["job"]["id"]);
        assert_eq!(again[1]["status"], 422);
        assert_eq!(again[1]["error"]["type"], "urn:jobcall:problem:idempotency-key-reused");

        // The keys are the same as single submissions'.
        let (status, single) = {
            let response = app
                .request(Method::POST, &token, "/v1/jobs")
                .header("Idempotency-Key", "order-1")
                .json(&json!({"kind": "echo", "input": {"message": 1}}))
                .send()
                .await
                .unwrap();
            read_response(Method::POST, "/v1/jobs", response).await
        };
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(single["id"], data[0]["job"]["id"]);

        // A batch has no key of its own.
        let response = app
            .request(Method::POST, &token, "/v1/jobs/batch")
            .header("Idempotency-Key", "whole-batch")
            .json(&json!({"jobs": [{"kind": "echo"}]}))
            .send()
            .await
            .unwrap();
        let (status, problem) = read_response(Method::POST, "/v1/jobs/batch", response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&problem), ["Idempotency-Key"]);
        app.stop().await;
    }
}

e2e! {
    async fn a_batch_that_cannot_be_read_is_refused_whole(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |settings| settings.max_batch_jobs = 3,
            jobcall::Customize::default(),
        )
        .await;
        let token = app.client.token.clone();
        let job = json!({"kind": "echo"});
        for (body, field) in [
            (json!({}), "jobs"),
            (json!({"jobs": []}), "jobs"),
            (json!({"jobs": {"kind": "echo"}}), "jobs"),
            (json!({"jobs": [job, job, job, job]}), "jobs"),
            (json!({"jobs": [job], "extra": 1}), "extra"),
            // An item that breaks the item schema of the spec refuses the
            // whole batch: nothing of it is written.
            (json!({"jobs": [job, "not a job"]}), "jobs[1]"),
            (json!({"jobs": [job, {"kind": "echo", "colour": "red"}]}), "jobs[1].colour"),
            (json!({"jobs": [{"kind": "echo", "timeout_seconds": 0}, job]}), "jobs[0].timeout_seconds"),
            (json!({"jobs": [{"kind": "echo", "callback_events": ["job.started"]}]}), "jobs[0].callback_events"),
            (json!({"jobs": [{"kind": 7}]}), "jobs[0].kind"),
        ] {
            let (status, problem) = batch(&app, &token, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
            assert_eq!(fields(&problem), [field], "{body}");
        }
        let (status, result) = batch(&app, &token, json!({"jobs": [job, job, job]})).await;
        assert_eq!(status, StatusCode::OK, "{result}");

        let reader = app.token(&app.client.id, &[jobcall_api::auth::Scope::JobsRead]);
        let (status, _) = batch(&app, &reader, json!({"jobs": [job]})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, list) = app.get(&token, "/v1/jobs?limit=100").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 3, "nothing refused was written");
        app.stop().await;
    }
}

e2e! {
    async fn every_item_counts_against_the_rate(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |settings| settings.submit_rate_per_client = 5,
            jobcall::Customize::default(),
        )
        .await;
        let token = app.client.token.clone();
        let job = json!({"kind": "echo"});
        // No more items than the client's burst fit in one batch.
        let (status, problem) = batch(&app, &token, json!({"jobs": vec![job.clone(); 6]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(fields(&problem), ["jobs"]);
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("1 to 5"), "{problem}");

        let (status, _) = batch(&app, &token, json!({"jobs": vec![job.clone(); 4]})).await;
        assert_eq!(status, StatusCode::OK);
        let response = app
            .request(Method::POST, &token, "/v1/jobs/batch")
            .json(&json!({"jobs": vec![job.clone(); 2]}))
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("retry-after"));
        let (status, _) = read_response(Method::POST, "/v1/jobs/batch", response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "4 + 2 items > the burst of 5");
        // The one token left is still there for a single submission.
        let (status, _) = app.post(&token, "/v1/jobs", &job).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.stop().await;
    }
}
