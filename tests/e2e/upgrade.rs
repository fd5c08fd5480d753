//! Upgrades: a database written by release 0.1.0 (`tests/fixtures`, made by
//! `make-release-fixture.sh` with that release's binary) opens under this
//! binary with its jobs, clients, secrets and pending deliveries intact.

use std::{path::PathBuf, time::Duration};

use jobcall_entity::ClientId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, Database, TestApp},
};

const JWT_SECRET: &str = "upgrade-fixture-jwt-secret-0123456789abcdef";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/release-0.1.0")
        .join(name)
}

/// The client the release created: `client.<backend>.txt` as printed by
/// `jobcall client create`.
fn fixture_client(backend: &Backend) -> (ClientId, String) {
    let file = match backend {
        Backend::Sqlite => "client.sqlite.txt",
        Backend::Postgres(_) => "client.postgres.txt",
    };
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|rest| rest.trim().to_owned())
            .unwrap()
    };
    (
        ClientId::parse(&field("id:")).unwrap(),
        field("signing_secret:"),
    )
}

async fn open_fixture(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::restore(
        &backend,
        dir.path(),
        &fixture("jobcall.db"),
        &fixture("postgres.sql"),
    )
    .await;
    let secrets_key = std::fs::read_to_string(fixture("secrets_key")).unwrap();
    TestApp::open(
        dir,
        database,
        |s| {
            s.jwt_secret = Some(jobcall::settings::Secret::new(JWT_SECRET));
            s.secrets_key = Some(jobcall::settings::Secret::new(secrets_key.trim()));
            // The fixture's events are as old as the fixture.
            s.callback_max_age_ms = 100 * 365 * 24 * 3600 * 1000;
        },
        fixture_client(&backend),
    )
    .await
}

fn by_fixture_name(jobs: &Value) -> std::collections::HashMap<String, Value> {
    jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["metadata"]["fixture"].as_str().unwrap().to_owned(),
                job.clone(),
            )
        })
        .collect()
}

e2e! {
    async fn a_release_0_1_0_database_opens_with_everything_in_it(backend: Backend) {
        let app = open_fixture(backend).await;
        let (status, listed) = app.get(&app.client.token, "/v1/jobs?limit=100").await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let jobs = by_fixture_name(&listed);
        assert_eq!(jobs.len(), 5, "{listed}");
        assert_eq!(jobs["succeeded"]["status"], "succeeded");
        assert_eq!(jobs["succeeded"]["result"], json!({"message": "done"}));
        assert_eq!(jobs["failed"]["status"], "failed");
        assert_eq!(jobs["failed"]["error"]["message"], "on purpose");

        // The job that was queued when the release stopped runs now.
        let queued = app.finished(jobs["queued"]["id"].as_str().unwrap()).await;
        assert_eq!(queued["status"], "succeeded");
        // The one it had handed back runs again, and can be canceled.
        let long = jobs["running"]["id"].as_str().unwrap();
        app.job_until(long, 10, "the handed-back job running", |j| j["status"] == "running").await;
        app.post(&app.client.token, &format!("/v1/jobs/{long}/cancel"), &json!({})).await;
        assert_eq!(app.finished(long).await["status"], "canceled");

        // The callback the release was retrying is retried when due (at
        // once, once the fixture is older than its hour of backoff).
        let retried = jobs["callback"]["id"].as_str().unwrap();
        assert_eq!(jobs["callback"]["callback"]["state"], "failing");
        app.advance(Duration::from_secs(2 * 3600)).await;
        app.job_until(retried, 10, "a second attempt", |j| j["callback"]["attempts"].as_i64() >= Some(2)).await;
        let (_, attempts) = app.get(&app.client.token, &format!("/v1/jobs/{retried}/deliveries")).await;
        assert_eq!(attempts["data"][1]["error_class"], "connect", "{attempts}");

        // The client's signing secret, sealed by the release, still signs.
        app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let received = app.receiver.wait_for(1, 10).await.remove(0);
        assert!(crate::callbacks::signed_by(&app.client.signing_secret, &received));
    }
}
