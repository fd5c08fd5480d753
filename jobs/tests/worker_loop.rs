//! The worker loop against a real SQLite database: submit, run, retry,
//! cancel, take over. (The HTTP API is tested end to end in the workspace's
//! `tests/`.)

use std::{sync::Arc, time::Duration};

use jobcall_entity::{ClientId, JobStatus, job};
use jobcall_jobs::{
    config::DomainSettings,
    job::{JobSpec, NewJob, Submission, Submitted, find_job},
    kinds::Registry,
    outbound::{Guard, Outbound, SystemResolver},
    signals::Signals,
    store::{Database, DatabaseOptions, Writer},
    worker::{Services, WorkerRuntime, Workers},
};
use jobcall_migration::{Migrator, MigratorTrait};
use serde_json::json;

struct Harness {
    _dir: tempfile::TempDir,
    db: Database,
    writer: Writer,
    registry: Registry,
    guard: Guard,
    settings: DomainSettings,
    workers: Option<Workers>,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Database::connect(&DatabaseOptions {
        url,
        max_connections: 4,
        sqlite_synchronous_full: false,
    })
    .await
    .unwrap();
    Migrator::up(&db.schema_connection(), None).await.unwrap();
    let signals = Signals::new();
    let writer = Writer::start(db.clone(), signals.clone());
    let mut settings = DomainSettings::default();
    settings.worker.retry_backoff.initial = Duration::from_millis(50);
    settings.worker.takeover = Duration::from_secs(2);
    let guard = Guard::new(settings.outbound.clone(), Arc::new(SystemResolver));
    let outbound = Outbound::new(guard.clone(), "test");
    let registry = Registry::builtin(&outbound);
    let runtime = WorkerRuntime::new(Services {
        db: db.clone(),
        writer: writer.clone(),
        signals,
        registry: registry.clone(),
        settings: settings.clone(),
        outbound,
        secrets_key: jobcall_jobs::secrets::EncryptionKey::generate(),
        metrics: Default::default(),
    });
    let workers = Workers::start(runtime);
    Harness {
        _dir: dir,
        db,
        writer,
        registry,
        guard,
        settings,
        workers: Some(workers),
    }
}

impl Harness {
    async fn submit(&self, new: NewJob) -> job::Model {
        let spec = JobSpec::parse(new, &self.registry, &self.guard, &self.settings.limits)
            .await
            .unwrap();
        match self
            .writer
            .run(Submission::new(client(), spec, None, None))
            .await
            .unwrap()
        {
            Submitted::Created(job) => job,
            other => panic!("{other:?}"),
        }
    }

    async fn wait_for(&self, job: &job::Model, status: JobStatus) -> job::Model {
        for _ in 0..200 {
            let current = find_job(&self.db, &client(), &job.id)
                .await
                .unwrap()
                .unwrap();
            if current.status == status {
                return current;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job never reached {status:?}");
    }
}

fn client() -> ClientId {
    ClientId::parse("cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z").unwrap()
}

fn echo(input: serde_json::Value) -> NewJob {
    NewJob {
        kind: "echo".into(),
        input,
        ..NewJob::default()
    }
}

#[tokio::test]
async fn a_submitted_job_runs_to_success() {
    let h = harness().await;
    let started = std::time::Instant::now();
    let job = h.submit(echo(json!({"message": "hi"}))).await;
    let done = h.wait_for(&job, JobStatus::Succeeded).await;
    assert_eq!(done.result, Some(json!({"message": "hi"})));
    assert_eq!(done.attempts, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    h.workers.unwrap().shutdown().await;
}

#[tokio::test]
async fn retryable_failures_are_retried_until_they_succeed() {
    let h = harness().await;
    let job = h
        .submit(NewJob {
            max_attempts: Some(3),
            ..echo(json!({"fail": "flaky", "retryable": true, "fail_attempts": 2}))
        })
        .await;
    let done = h.wait_for(&job, JobStatus::Succeeded).await;
    assert_eq!(done.attempts, 3);
}

#[tokio::test]
async fn permanent_failures_fail_at_once() {
    let h = harness().await;
    let job = h.submit(echo(json!({"fail": "nope"}))).await;
    let done = h.wait_for(&job, JobStatus::Failed).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(done.error_code.as_deref(), Some("echo_failed"));
}
